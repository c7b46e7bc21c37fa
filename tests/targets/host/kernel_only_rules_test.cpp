// Rules the model follows and the in-process driver does not (docs/inproc.md,
// Limits): their traces cannot sit in the conformance corpus, which every target
// runs, so they are pinned here on the host kernel and the model alone.
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "model/profile.h"
#include "oracle/runner.h"
#include "targets/host/host_target.h"
#include "tests/targets/host/host_test_support.h"
#include "trace/trace_files.h"

namespace loopcheck {
namespace {

TEST(KernelOnlyRules, TheHostKernelDoesWhatTheModelPredicts) {
  REQUIRE_HOST_LOOP();
  const model::Profile* host_profile = model::profile_for_release(host_kernel_release());
  if (host_profile == nullptr) GTEST_SKIP() << "SKIPPED: no profile for this kernel";
  const LoadedTraces loaded = load_traces(
      {std::string(LOOPCHECK_SOURCE_DIR) + "/tests/targets/host/kernel_only"});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  ASSERT_FALSE(loaded.traces.empty());
  size_t run = 0;
  for (const Trace& t : loaded.traces) {
    if (!model::pin_admits(t.profile, *host_profile)) {
      std::cerr << "SKIPPED: " << t.source << " is pinned to " << t.profile << "\n";
      continue;
    }
    HostTarget host;
    const TraceResult r = run_trace(t, *host_profile, &host, RunOptions{});
    EXPECT_TRUE(r.error.empty()) << t.source << ": " << r.error;
    for (const StepResult& step : r.steps)
      EXPECT_NE(step.verdict, StepVerdict::Diverged) << t.source << ": " << step.detail;
    EXPECT_EQ(r.expectation_failures, 0u) << t.source;
    EXPECT_EQ(r.skipped, 0u) << t.source;
    EXPECT_GT(r.exact, 0u) << t.source;
    ++run;
  }
  std::cerr << "kernel-only traces run on the host: " << run << "\n";
}

}  // namespace
}  // namespace loopcheck
