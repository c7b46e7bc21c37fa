// The runner executes one trace on the model and, when given one, on a target
// beside it, comparing every observable outcome step by step (return values,
// errnos, status structs, data read, sysfs values) up to a consistent renaming
// of machine-specific numbers, and checks written expectations on top.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "targets/target.h"
#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck {

enum class StepVerdict : uint8_t { Pass, Skipped, Diverged, ExpectationFailed, NotRun };

struct StepResult {
  size_t index = 0;  // into Trace::stmts
  Outcome model;     // the model's outcome
  Outcome observed;  // the target's outcome in the model's names (== model for model-only runs)
  StepVerdict verdict = StepVerdict::NotRun;
  bool data_unchecked = false;  // a read whose bytes the model could not predict
  std::string detail;           // why the step failed, for humans
};

struct TraceResult {
  std::string source;
  std::string profile;
  std::string target;
  std::vector<StepResult> steps;  // one per statement, in order
  size_t passed = 0, skipped = 0, divergences = 0, expectation_failures = 0, data_unchecked = 0;
  std::string error;          // the target could not run the trace at all
  std::string model_summary;  // states at the first divergence
  std::string target_summary;
  bool ok() const { return error.empty() && divergences == 0 && expectation_failures == 0; }
};

struct RunOptions {
  bool check_expectations = true;  // false: --no-expect, target-vs-model only
};

// `target` may be null: then the trace runs on the model alone and written
// expectations are checked against the model.
TraceResult run_trace(const Trace& trace, const model::Profile& profile, Target* target,
                      const RunOptions& options);

}  // namespace loopcheck
