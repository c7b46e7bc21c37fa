// The runner executes one trace on the model and, when given one, on a target
// beside it, comparing every observable outcome step by step (return values,
// errnos, status structs, data read, sysfs values) up to a consistent renaming
// of machine-specific numbers, and checks written expectations on top.
#pragma once

#include <array>
#include <memory>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "oracle/compare.h"

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
  // A Pass: how the outcome met the model's, and the model rule behind anything
  // but Exact. On the model alone: how much the model committed to (its outcome
  // widened by an envelope, or bytes it could not predict).
  Match match = Match::Exact;
  EnvelopeRule rule = EnvelopeRule::None;
  std::string detail;  // why the step failed, for humans
  bool data_unchecked() const {
    return verdict == StepVerdict::Pass && match == Match::UncheckedData;
  }
};

// Every step is exactly one of these (docs/envelopes.md).
enum class StepClass : uint8_t {
  Exact,              // passed on the model's main outcome, bytes included
  Envelope,           // passed on the model's alternative errno or count range
  Unchecked,          // passed on the count; the model could not predict the bytes
  Skipped,            // the target could not take the step
  Diverged,           // the target disagreed with the model
  ExpectationFailed,  // a written expectation did not hold
  NotRun,             // after a divergence
};
inline constexpr int kStepClassCount = static_cast<int>(StepClass::NotRun) + 1;
StepClass step_class(const StepResult& step);
std::string_view step_class_name(StepClass c);  // "exact", "envelope", ...
// The part of the outcome a non-exact pass went through.
EnvelopePart envelope_part(Match match);

// Non-exact passes per model rule and part, in EnvelopeRule order.
struct EnvelopeTally {
  std::array<std::array<size_t, kEnvelopePartCount>, kEnvelopeRuleCount> n{};
  void add(const StepResult& step);
  void add(const EnvelopeTally& other);
  size_t total(EnvelopeRule rule) const;
  size_t total() const;
};

struct ConcurrentResult;  // oracle/concurrent_runner.h

struct TraceResult {
  std::string source;
  std::string profile;
  std::string target;
  std::vector<StepResult> steps;  // one per statement, in order
  // passed = exact + envelope + data_unchecked.
  size_t passed = 0, skipped = 0, divergences = 0, expectation_failures = 0, data_unchecked = 0;
  size_t exact = 0, envelope = 0;
  EnvelopeTally rules;
  std::string error;          // the target could not run the trace at all
  std::string not_run;        // the target is not the trace's @env world: skipped, and why
  std::string model_summary;  // states at the first divergence
  std::string target_summary;
  // A trace with a concurrent block: its runs, tuples and histories. `steps` then
  // sums them up: a statement passed when every run that was not skipped passed.
  std::shared_ptr<const ConcurrentResult> concurrent;
  bool ok() const { return error.empty() && divergences == 0 && expectation_failures == 0; }
};

struct RunOptions {
  bool check_expectations = true;  // false: --no-expect, target-vs-model only
  uint32_t repeat = 0;             // concurrent blocks: runs per trace (0: the block's repeat=)
};

// `target` may be null: then the trace runs on the model alone and written
// expectations are checked against the model.
TraceResult run_trace(const Trace& trace, const model::Profile& profile, Target* target,
                      const RunOptions& options);

}  // namespace loopcheck
