// The concurrency corpus on Debian 6.1 and 6.12 kernels in QEMU (2 vCPUs): a few
// runs of every scenario, each history linearizable against the model. Skips
// loudly without QEMU or apt; the campaign-sized runs are in docs/concurrency.md.
#include <gtest/gtest.h>

#include <string>

#include "model/profile.h"
#include "oracle/concurrent_runner.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"
#include "targets/vm/vm_target.h"
#include "trace/trace_files.h"

namespace loopcheck::vm {
namespace {

void run_corpus_on(const char* version) {
  std::string why;
  if (!qemu_available(&why)) GTEST_SKIP() << "SKIPPED: " << why;
  const FetchResult fetched = fetch_kernel(version);
  if (!fetched.ok) GTEST_SKIP() << "SKIPPED: no kernel " << version << ": " << fetched.error;
  const model::Profile* profile = model::profile_for_release(version);
  ASSERT_NE(profile, nullptr) << version;
  const std::string root = std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/concurrency/";
  LoadedTraces loaded = load_traces({root + "common", root + std::string(profile->series)});
  ASSERT_TRUE(loaded.ok());
  ASSERT_GE(loaded.traces.size(), 10u);
  VmTarget target(fetched.files);
  for (const Trace& trace : loaded.traces) {
    ConcurrentOptions options;
    options.repeat = 8;
    const ConcurrentResult r = run_concurrent(trace, *profile, &target, options);
    EXPECT_TRUE(r.ok()) << format_concurrent_result(trace, r);
    EXPECT_EQ(r.linearizable, options.repeat) << format_concurrent_result(trace, r);
  }
}

}  // namespace

TEST(VmConcurrency, TheCorpusIsLinearizableOn61) {
  run_corpus_on("6.1.0-56-cloud-amd64");
}

TEST(VmConcurrency, TheCorpusIsLinearizableOn612) {
  run_corpus_on("6.12.117+deb12-cloud-amd64");
}

}  // namespace loopcheck::vm
