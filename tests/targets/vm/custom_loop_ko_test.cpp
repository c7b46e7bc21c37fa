// A loop.ko built here from Debian's linux-source-6.1 against
// linux-headers-6.1.0-56-cloud-amd64 (loop_ko_build.h), booted in the 6.1.0-56
// cloud kernel instead of the kernel's own module: conformance traces pass on
// it, and a one-line change to loop.c (LOOP_CLR_FD on an unbound device answers
// EINVAL, not ENXIO) makes exactly the trace that checks it diverge — so the
// guest really runs the module built here. Skips loudly without QEMU, the
// kernel, its headers or the source package (scripts/install-deps.sh installs them).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "model/profile.h"
#include "oracle/runner.h"
#include "targets/vm/boot_spec.h"
#include "targets/vm/loop_ko_build.h"
#include "targets/vm/qemu_vm.h"
#include "targets/vm/vm_target.h"
#include "trace/trace_files.h"

namespace loopcheck::vm {
namespace {

constexpr const char* kKernel = "6.1.0-56-cloud-amd64";
constexpr const char* kSourcePackage = "linux-source-6.1";

Trace load_one(const std::string& relative) {
  LoadedTraces loaded = load_traces({std::string(LOOPCHECK_SOURCE_DIR) + "/" + relative});
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front());
  return loaded.traces.empty() ? Trace{} : loaded.traces.front();
}

class CustomLoopKo : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!qemu_available(&why)) GTEST_SKIP() << "SKIPPED: " << why;
    if (!std::filesystem::exists(headers_dir_for(kKernel)))
      GTEST_SKIP() << "SKIPPED: no " << headers_dir_for(kKernel)
                   << " (apt-get install linux-headers-" << kKernel << ")";
    if (!load_loop_source(kSourcePackage, &source_, &why)) GTEST_SKIP() << "SKIPPED: " << why;
    FetchResult fetched = fetch_kernel(kKernel);
    if (!fetched.ok) GTEST_SKIP() << "SKIPPED: no kernel to boot: " << fetched.error;
    profile_ = model::profile_for_release(kKernel);
    ASSERT_NE(profile_, nullptr);
  }

  // The kernel with `source` built as its loop.ko.
  KernelFiles kernel_with(const LoopSource& source) {
    LoopKoBuild built = build_loop_ko(source, kKernel);
    EXPECT_TRUE(built.ok) << built.error;
    ResolvedKernel resolved = resolve_vm_kernel(kKernel, {built.ko_path, ""});
    EXPECT_TRUE(resolved.ok) << resolved.error;
    return resolved.files;
  }

  LoopSource source_;
  const model::Profile* profile_ = nullptr;
};

TEST_F(CustomLoopKo, ABuildIsCachedByContent) {
  LoopKoBuild first = build_loop_ko(source_, kKernel);
  ASSERT_TRUE(first.ok) << first.error;
  LoopKoBuild again = build_loop_ko(source_, kKernel);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.cached);
  EXPECT_EQ(again.ko_path, first.ko_path);
  EXPECT_LT(again.seconds, 1.0) << "a cache hit must not run make";
  LoopSource changed = source_;
  changed.loop_c += "\n/* another mutant */\n";
  LoopKoBuild other = build_loop_ko(changed, kKernel);
  ASSERT_TRUE(other.ok) << other.error;
  EXPECT_NE(other.key, first.key);
  std::printf("loop.ko build: %.1f s (cache hit %.3f s)\n", other.seconds, again.seconds);
}

TEST_F(CustomLoopKo, TheBuiltModulePassesCorpusTracesAndAMutantIsCaught) {
  const std::vector<std::string> traces = {
      "corpus/conformance/common/set_fd_basic.trace",
      "corpus/conformance/common/clr_fd_unbound_enxio.trace",
      "corpus/conformance/common/io_roundtrip_offset_mapping.trace",
      "corpus/conformance/common/ro_bit_sticky_after_unbind.trace",
  };
  VmTarget target(kernel_with(source_));
  for (const std::string& path : traces) {
    TraceResult result = run_trace(load_one(path), *profile_, &target, RunOptions{});
    EXPECT_TRUE(result.ok()) << path << ": " << result.error << " " << target.summary();
    EXPECT_GT(result.passed, 0u) << path;
  }
  EXPECT_EQ(target.stats().boots, 1u) << target.summary();

  LoopSource mutant = source_;
  const std::string from = "loop_global_unlock(lo, true);\n\t\treturn -ENXIO;";
  const size_t at = mutant.loop_c.find(from);
  ASSERT_NE(at, std::string::npos) << "loop_clr_fd's unbound check moved in this source";
  mutant.loop_c.replace(at, from.size(), "loop_global_unlock(lo, true);\n\t\treturn -EINVAL;");
  VmTarget mutated(kernel_with(mutant));
  TraceResult killed = run_trace(load_one(traces[1]), *profile_, &mutated, RunOptions{});
  EXPECT_FALSE(killed.ok()) << "the mutant answered LOOP_CLR_FD like the real driver";
  EXPECT_GT(killed.divergences, 0u);
  TraceResult survives = run_trace(load_one(traces[0]), *profile_, &mutated, RunOptions{});
  EXPECT_TRUE(survives.ok()) << "set_fd_basic never asks an unbound LOOP_CLR_FD: "
                             << survives.error;
}

// A module that panics while it loads is reported within 30 s, boot included,
// where a run once waited for an outside limit of 300 s, and the message shows
// the panic's own line (a tail of the console cut it off above the stack).
// Hangs and oopses of mutants: tests/mutants/mutants_vm_test.cpp.
TEST_F(CustomLoopKo, APanicWhileLoadingIsReportedWithItsMessageWithin30Seconds) {
  LoopSource panicking = source_;
  const std::string init = "static int __init loop_init(void)\n{\n\tint i;\n\tint err;\n";
  const size_t at = panicking.loop_c.find(init);
  ASSERT_NE(at, std::string::npos) << "loop_init moved in this source";
  panicking.loop_c.insert(at + init.size(), "\n\tpanic(\"loopcheck test: panic in loop_init\");\n");
  VmTarget target(kernel_with(panicking));
  const auto start = std::chrono::steady_clock::now();
  TraceResult result = run_trace(load_one("corpus/conformance/common/ctl_add_eexist.trace"),
                                 *profile_, &target, RunOptions{});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.error.find("Kernel panic - not syncing: loopcheck test: panic in loop_init"),
            std::string::npos)
      << result.error;
  EXPECT_LT(seconds, 30.0);
  std::printf("a panic while loading loop.ko reported in %.1f s\n", seconds);
}

}  // namespace
}  // namespace loopcheck::vm
