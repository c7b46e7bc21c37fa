// The concurrency corpus on the in-process driver with real threads: every run
// of every scenario must be linearizable against the model and show a tuple its
// allow lines list. The same binary is built with ThreadSanitizer (the tsan
// preset, scripts/test.sh), which then also checks the driver's own locking.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "oracle/concurrent_runner.h"
#include "targets/registry.h"
#include "trace/trace_files.h"

using namespace loopcheck;

namespace {

// Runs per scenario: enough to see several orders, few enough for a test.
uint32_t repetitions() {
  const char* n = std::getenv("LOOPCHECK_CONCURRENCY_RUNS");
  return n ? static_cast<uint32_t>(std::atoi(n)) : 40;
}

void run_series(const char* series) {
  const std::string root = std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/concurrency/";
  LoadedTraces loaded = load_traces({root + "common", root + series});
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front());
  ASSERT_GE(loaded.traces.size(), 10u);
  const model::Profile* profile = model::find_profile(series);
  ASSERT_NE(profile, nullptr);
  TargetChoice inproc = make_target("inproc");
  ASSERT_TRUE(inproc.ok) << inproc.error;
  for (const Trace& trace : loaded.traces) {
    ConcurrentOptions options;
    options.repeat = repetitions();
    const ConcurrentResult r = run_concurrent(trace, *profile, inproc.target.get(), options);
    EXPECT_TRUE(r.error.empty()) << trace.source << ": " << r.error;
    EXPECT_EQ(r.repetitions, options.repeat) << trace.source;
    EXPECT_EQ(r.linearizable, options.repeat) << format_concurrent_result(trace, r);
    EXPECT_EQ(r.expectation_failures, 0u) << format_concurrent_result(trace, r);
    EXPECT_TRUE(r.ok()) << format_concurrent_result(trace, r);
    uint64_t observed = 0;
    for (const TupleTally& t : r.tuples) observed += t.observed;
    EXPECT_EQ(observed, options.repeat) << trace.source;
  }
}

}  // namespace

TEST(InprocConcurrency, TheCorpusUnder61IsLinearizable) {
  run_series("linux-6.1");
}

TEST(InprocConcurrency, TheCorpusUnder618IsLinearizable) {
  run_series("linux-6.18");
}
