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

// A module that panics while it loads and one whose LOOP_CTL_ADD deadlocks are
// reported with the console within 30 s each, boot included (the hang by the
// step budget: 12 s for a control ioctl), where a run once waited for an
// outside limit of 300 s.
LoopSource with_change(const LoopSource& source, const std::string& from, const std::string& to) {
  LoopSource changed = source;
  const size_t at = changed.loop_c.find(from);
  EXPECT_NE(at, std::string::npos) << "not in this loop.c: " << from;
  if (at != std::string::npos) changed.loop_c.replace(at, from.size(), to);
  return changed;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_F(CustomLoopKo, APanicWhileLoadingAndADeadlockAreReportedWithin30Seconds) {
  const std::string init = "static int __init loop_init(void)\n{\n\tint i;\n\tint err;\n";
  VmTarget panicking(kernel_with(
      with_change(source_, init, init + "\n\tpanic(\"loopcheck test: panic in loop_init\");\n")));
  auto start = std::chrono::steady_clock::now();
  TraceResult panicked = run_trace(load_one("corpus/conformance/common/ctl_add_eexist.trace"),
                                   *profile_, &panicking, RunOptions{});
  const double panic_s = seconds_since(start);
  EXPECT_FALSE(panicked.ok());
  EXPECT_NE(panicked.error.find("loopcheck test: panic in loop_init"), std::string::npos)
      << panicked.error;
  EXPECT_LT(panic_s, 30.0);

  const std::string add = "\tcase LOOP_CTL_ADD:\n\t\treturn loop_add(parm);";
  VmTarget hanging(kernel_with(with_change(
      source_, add,
      "\tcase LOOP_CTL_ADD:\n\t\tmutex_lock(&loop_ctl_mutex);\n\t\tmutex_lock(&loop_ctl_mutex);"
      "\n\t\treturn loop_add(parm);")));
  start = std::chrono::steady_clock::now();
  TraceResult hung = run_trace(load_one("corpus/conformance/common/ctl_add_eexist.trace"),
                               *profile_, &hanging, RunOptions{});
  const double hang_s = seconds_since(start);
  EXPECT_FALSE(hung.ok());
  EXPECT_GT(hung.divergences, 0u);
  EXPECT_NE(hanging.summary().find("hang"), std::string::npos) << hanging.summary();
  EXPECT_LT(hang_s, 30.0);
  std::printf("panic while loading reported in %.1f s, LOOP_CTL_ADD deadlock in %.1f s\n", panic_s,
              hang_s);
}

}  // namespace
}  // namespace loopcheck::vm
