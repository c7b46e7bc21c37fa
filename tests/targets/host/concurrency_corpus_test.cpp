// The concurrency corpus on this machine's kernel: a few runs of every scenario,
// each history linearizable against the model, each tuple one the allow lines
// list; and the block's calls truly overlap (the barrier releases the threads
// together). The campaign-sized runs (1,000 per scenario) are in docs/concurrency.md.
#include <gtest/gtest.h>

#include <string>

#include "oracle/concurrent_runner.h"
#include "targets/host/host_target.h"
#include "targets/registry.h"
#include "tests/targets/host/host_test_support.h"
#include "trace/trace_files.h"

using namespace loopcheck;

namespace {

class HostConcurrency : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_HOST_LOOP(); }
};

}  // namespace

TEST_F(HostConcurrency, EveryScenarioIsLinearizableOnThisKernel) {
  TargetChoice host = make_target("host");
  ASSERT_TRUE(host.ok) << host.error;
  ASSERT_NE(host.native_profile, nullptr) << "no model profile covers " << host_kernel_release();
  const std::string root = std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/concurrency/";
  LoadedTraces loaded =
      load_traces({root + "common", root + std::string(host.native_profile->series)});
  ASSERT_TRUE(loaded.ok());
  ASSERT_GE(loaded.traces.size(), 10u);
  for (const Trace& trace : loaded.traces) {
    ConcurrentOptions options;
    options.repeat = 15;
    const ConcurrentResult r =
        run_concurrent(trace, *host.native_profile, host.target.get(), options);
    EXPECT_TRUE(r.ok()) << format_concurrent_result(trace, r);
    EXPECT_EQ(r.skipped, 0u) << format_concurrent_result(trace, r);
    EXPECT_EQ(r.linearizable, options.repeat) << format_concurrent_result(trace, r);
  }
}

TEST_F(HostConcurrency, TheBlocksCallsOverlapInTime) {
  LoadedTraces loaded = load_traces(
      {std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/concurrency/common/remove_vs_open.trace"});
  ASSERT_TRUE(loaded.ok());
  const Trace& trace = loaded.traces.front();
  TargetChoice host = make_target("host");
  ASSERT_TRUE(host.ok) << host.error;
  Target& target = *host.target;
  // The remover's call and the opener's first call, over a few runs: released by
  // one barrier, their intervals must overlap at least once (a serial runner
  // would never overlap them).
  int overlapped = 0;
  for (int run = 0; run < 10; ++run) {
    ASSERT_FALSE(target.start(trace, host.native_profile->name, trace.env).failed);
    std::vector<int64_t> vars(kMaxVars, -1);
    vars[0] = target.execute(trace.stmts[0].op).value;  // ctl
    Op add = trace.stmts[1].op;
    add.subject = Value::literal(static_cast<uint64_t>(vars[0]));
    vars[1] = target.execute(add).value;  // n
    std::vector<BlockThread> threads(2);
    for (uint32_t i = trace.blocks[0].first; i < trace.blocks[0].end; ++i) {
      threads[trace.stmts[i].thread - 1u].stmts.push_back(i);
      threads[trace.stmts[i].thread - 1u].statements.push_back(
          {trace.stmts[i].op, trace.stmts[i].bind});
    }
    const BlockHistory h = target.run_block(threads, vars);
    ASSERT_TRUE(h.error.empty()) << h.error;
    ASSERT_EQ(h.calls.size(), 3u);
    for (const CallRecord& c : h.calls) EXPECT_LE(c.start_ns, c.end_ns);
    const CallRecord& remove = h.calls[0];
    const CallRecord& open = h.calls[1];
    if (remove.start_ns < open.end_ns && open.start_ns < remove.end_ns) ++overlapped;
    target.finish();
  }
  EXPECT_GT(overlapped, 0);
}
