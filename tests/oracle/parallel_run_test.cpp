// run_traces_parallel: the conformance corpus on several workers gives, in input
// order, exactly what one sequential run gives; which traces must run alone.
#include "oracle/parallel_run.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/profile.h"
#include "oracle/report.h"
#include "targets/registry.h"
#include "trace/parse.h"
#include "trace/print.h"
#include "trace/trace_files.h"

namespace loopcheck {
namespace {

const std::vector<Trace>& corpus() {
  static const LoadedTraces loaded =
      load_traces({std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/conformance/common"});
  return loaded.traces;
}

std::vector<PlannedRun> plan(const std::vector<Trace>& traces) {
  std::vector<PlannedRun> runs;
  for (const Trace& t : traces) {
    const model::Profile* p =
        t.profile.empty() ? &model::kDefaultProfile : model::find_profile(t.profile);
    runs.push_back(PlannedRun{&t, p, needs_exclusive_kernel(t)});
  }
  return runs;
}

// Everything a report shows, and every step's outcomes: equal strings mean equal results.
std::string fingerprint(const Trace& trace, const TraceResult& r) {
  std::string out = format_result_text(trace, r) + result_json(trace, r).dump() + "\n";
  for (const StepResult& s : r.steps) {
    out += fmt::format("{} {} {} {} {}\n", s.index, static_cast<int>(s.verdict), s.data_unchecked(),
                       format_outcome(s.model), format_outcome(s.observed));
  }
  return out;
}

std::vector<std::string> run_sequentially(std::string_view target_name,
                                          const std::vector<PlannedRun>& runs) {
  TargetChoice choice = make_target(target_name);
  EXPECT_TRUE(choice.ok) << choice.error;
  std::vector<std::string> out;
  for (const PlannedRun& run : runs) {
    TraceResult r = run_trace(*run.trace, *run.profile, choice.target.get(), RunOptions{});
    out.push_back(fingerprint(*run.trace, r));
  }
  return out;
}

std::vector<std::string> run_in_parallel(std::string_view target_name,
                                         const std::vector<PlannedRun>& runs, unsigned jobs) {
  std::vector<std::string> out;
  std::vector<size_t> order;
  std::string error;
  bool ok = run_traces_parallel(
      runs, target_name, jobs, RunOptions{},
      [&](size_t i, const TraceResult& r) {
        order.push_back(i);
        out.push_back(fingerprint(*runs[i].trace, r));
      },
      &error);
  EXPECT_TRUE(ok) << error;
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i) << "results come in input order";
  return out;
}

TEST(ParallelRun, TheCorpusLoadsAndRuns) {
  ASSERT_GE(corpus().size(), 10u) << LOOPCHECK_SOURCE_DIR;
  for (const PlannedRun& run : plan(corpus())) ASSERT_NE(run.profile, nullptr) << run.trace->source;
}

TEST(ParallelRun, ModelOnWorkersMatchesASequentialRun) {
  const std::vector<PlannedRun> runs = plan(corpus());
  const std::vector<std::string> sequential = run_sequentially("model", runs);
  ASSERT_EQ(sequential.size(), runs.size());
  for (unsigned jobs : {1u, 3u}) {
    EXPECT_EQ(run_in_parallel("model", runs, jobs), sequential) << jobs << " jobs";
  }
}

TEST(ParallelRun, InprocOnWorkersMatchesASequentialRun) {
  const std::vector<PlannedRun> runs = plan(corpus());
  const std::vector<std::string> sequential = run_sequentially("inproc", runs);
  ASSERT_EQ(sequential.size(), runs.size());
  size_t passed = 0;
  for (const std::string& s : sequential) passed += s.starts_with("PASS");
  EXPECT_GT(passed, 0u) << "a corpus that fails everywhere would compare equal trivially";
  EXPECT_EQ(run_in_parallel("inproc", runs, 2), sequential);
  // More workers than traces: each gets at most one.
  const std::vector<PlannedRun> few(runs.begin(), runs.begin() + 3);
  const std::vector<std::string> few_sequential(sequential.begin(), sequential.begin() + 3);
  EXPECT_EQ(run_in_parallel("inproc", few, 8), few_sequential);
}

TEST(ParallelRun, AnUnknownTargetRunsNothing) {
  const std::vector<PlannedRun> runs = plan(corpus());
  std::string error;
  size_t reported = 0;
  EXPECT_FALSE(run_traces_parallel(
      runs, "no-such-target", 2, RunOptions{}, [&](size_t, const TraceResult&) { ++reported; },
      &error));
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(reported, 0u);
}

TEST(ParallelRun, NoTracesIsNoWork) {
  std::string error;
  size_t reported = 0;
  EXPECT_TRUE(run_traces_parallel(
      {}, "inproc", 4, RunOptions{}, [&](size_t, const TraceResult&) { ++reported; }, &error));
  EXPECT_EQ(reported, 0u);
}

bool exclusive(std::string_view body) {
  ParseResult parsed =
      parse_trace("@trace 1\nctl = open loop-control rw\n" + std::string(body), "exclusive.trace");
  EXPECT_TRUE(parsed.ok()) << parsed.errors.front().format();
  return needs_exclusive_kernel(parsed.trace);
}

// Kernel-global state: which device is free, or a device named by a literal index.
TEST(NeedsExclusiveKernel, GlobalLoopStateNeedsTheKernelAlone) {
  EXPECT_FALSE(exclusive("close ctl\n"));
  EXPECT_FALSE(exclusive("n = ioctl ctl LOOP_CTL_ADD -1\nioctl ctl LOOP_CTL_REMOVE n\n"))
      << "an index the trace was given is renamed consistently";
  EXPECT_FALSE(exclusive("ioctl ctl LOOP_CTL_REMOVE -1\n")) << "EINVAL before any lookup";
  EXPECT_TRUE(exclusive("ioctl ctl LOOP_CTL_GET_FREE\n"));
  EXPECT_TRUE(exclusive("ioctl ctl LOOP_CTL_ADD 5\n"));
  EXPECT_TRUE(exclusive("ioctl ctl LOOP_CTL_REMOVE 0\n"));
}

}  // namespace
}  // namespace loopcheck
