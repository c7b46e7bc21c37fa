// Running a trace with a concurrent block (docs/concurrency.md).
//
// On the model alone: every interleaving (explore/interleavings.h); the outcome
// tuples it allows must be exactly those the trace's `allow` lines list.
// On a target: the whole trace `repeat` times, each from a fresh start: the
// statements before the block in lockstep with the model, the block's threads
// truly at once (Target::run_block), the statements after it in order. Each
// run's history must be linearizable against the model
// (oracle/linearizability.h) and its outcome tuple one the `allow` lines list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "explore/interleavings.h"
#include "oracle/linearizability.h"
#include "oracle/runner.h"
#include "targets/target.h"

namespace loopcheck {

struct ConcurrentOptions {
  uint32_t repeat = 0;  // 0: the block's own `repeat`
  bool check_expectations = true;
  size_t kept_histories = 3;  // unexplained histories kept for the report
};

struct TupleTally {
  OutcomeTuple tuple;
  uint64_t observed = 0;  // runs that showed it
  bool model_allows = false;
  bool written = false;          // an `allow` line lists it
  std::vector<uint8_t> witness;  // an order of the model's that gives it (when it allows it)
};

struct UnexplainedHistory {
  uint32_t repetition = 0;  // 1-based
  std::vector<CallRecord> calls;
  std::vector<SuffixCall> suffix;
  std::string why;
  std::string signature;  // LinearizabilityResult::signature
};

struct ConcurrentResult {
  std::string source;
  std::string profile;
  std::string target;
  uint32_t repetitions = 0;
  uint64_t linearizable = 0;               // runs some order of the model explains
  uint64_t unexplained = 0;                // runs no order explains: findings
  uint64_t undecided = 0;                  // the search stopped at its bound
  uint64_t skipped = 0;                    // a step the target could not take (sandbox rules)
  uint64_t prefix_failures = 0;            // a statement before the block diverged
  uint32_t first_prefix_failure_stmt = 0;  // 0-based, in the first run that failed there
  uint64_t expectation_failures = 0;       // a tuple no allow line lists (or, model: the reverse)
  std::vector<TupleTally> tuples;          // the model's and the observed ones, sorted
  std::vector<std::string> problems;       // what failed, for humans (bounded)
  std::vector<UnexplainedHistory> histories;
  model::InterleavingResult model;  // the model's search (stats)
  uint64_t check_nodes = 0;         // linearizability search nodes, all runs
  double check_seconds = 0;
  std::string error;  // the trace could not run at all
  bool ok() const {
    return error.empty() && unexplained == 0 && undecided == 0 && prefix_failures == 0 &&
           expectation_failures == 0 && model.violations.empty() && model.complete;
  }
};

// `target` null: the model alone.
ConcurrentResult run_concurrent(const Trace& trace, const model::Profile& profile, Target* target,
                                const ConcurrentOptions& options);

// The run as a TraceResult, so that every report and total counts it: a statement
// passed when every run passed (all runs skipped: skipped); on a failure the
// block's first statement carries it, the others are not counted as run.
TraceResult concurrent_trace_result(const Trace& trace, ConcurrentResult r);

// Human-readable report: runs, tuples observed beside those the model allows
// (and which it allows but no run showed), unexplained histories.
std::string format_concurrent_result(const Trace& trace, const ConcurrentResult& r);
// One unexplained history: every call with its interval and outcome.
std::string format_unexplained_history(const Trace& trace, const UnexplainedHistory& h);

}  // namespace loopcheck
