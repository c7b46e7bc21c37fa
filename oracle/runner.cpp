#include "oracle/runner.h"

#include "oracle/concurrent_runner.h"
#include "oracle/lockstep.h"
#include "model/model.h"

namespace loopcheck {

StepClass step_class(const StepResult& step) {
  switch (step.verdict) {
    case StepVerdict::Pass:
      switch (step.match) {
        case Match::Exact:
          return StepClass::Exact;
        case Match::EnvelopeErrno:
        case Match::EnvelopeCount:
          return StepClass::Envelope;
        case Match::UncheckedData:
          return StepClass::Unchecked;
      }
      return StepClass::Exact;
    case StepVerdict::Skipped:
      return StepClass::Skipped;
    case StepVerdict::Diverged:
      return StepClass::Diverged;
    case StepVerdict::ExpectationFailed:
      return StepClass::ExpectationFailed;
    case StepVerdict::NotRun:
      return StepClass::NotRun;
  }
  return StepClass::NotRun;
}

std::string_view step_class_name(StepClass c) {
  static constexpr std::array<std::string_view, kStepClassCount> kNames = {
      "exact", "envelope", "unchecked", "skipped", "diverged", "expectation_failed", "not_run"};
  return kNames[static_cast<size_t>(c)];
}

EnvelopePart envelope_part(Match match) {
  switch (match) {
    case Match::EnvelopeErrno:
      return EnvelopePart::Errno;
    case Match::EnvelopeCount:
      return EnvelopePart::Count;
    case Match::Exact:
    case Match::UncheckedData:
      break;
  }
  return EnvelopePart::Data;
}

void EnvelopeTally::add(const StepResult& step) {
  if (step.verdict != StepVerdict::Pass || step.match == Match::Exact) return;
  ++n[static_cast<size_t>(step.rule)][static_cast<size_t>(envelope_part(step.match))];
}

void EnvelopeTally::add(const EnvelopeTally& other) {
  for (size_t r = 0; r < n.size(); ++r)
    for (size_t p = 0; p < n[r].size(); ++p) n[r][p] += other.n[r][p];
}

size_t EnvelopeTally::total(EnvelopeRule rule) const {
  size_t sum = 0;
  for (size_t count : n[static_cast<size_t>(rule)]) sum += count;
  return sum;
}

size_t EnvelopeTally::total() const {
  size_t sum = 0;
  for (int r = 0; r < kEnvelopeRuleCount; ++r) sum += total(static_cast<EnvelopeRule>(r));
  return sum;
}

TraceResult run_trace(const Trace& trace, const model::Profile& profile, Target* target,
                      const RunOptions& options) {
  if (trace.concurrent()) {
    ConcurrentOptions concurrent;
    concurrent.repeat = options.repeat;
    concurrent.check_expectations = options.check_expectations;
    return concurrent_trace_result(trace, run_concurrent(trace, profile, target, concurrent));
  }
  TraceResult result;
  result.source = trace.source;
  result.profile = std::string(profile.name);
  result.target = target ? std::string(target->name()) : "model";
  result.steps.resize(trace.stmts.size());
  for (size_t i = 0; i < trace.stmts.size(); ++i) result.steps[i].index = i;

  Env env = trace.env;
  if (target) {
    target->describe_env(env, trace.env_given);
    TargetError err = target->start(trace, profile.name, env);
    if (err.failed) {
      (err.environment ? result.not_run : result.error) = err.message;
      return result;
    }
  }

  Lockstep lockstep(profile, env, trace.objects, target);
  for (size_t i = 0; i < trace.stmts.size(); ++i) {
    StepResult step = lockstep.step(trace.stmts[i], options.check_expectations);
    step.index = i;
    result.steps[i] = step;
    result.rules.add(step);
    switch (step.verdict) {
      case StepVerdict::Pass:
        ++result.passed;
        if (step.match == Match::Exact) ++result.exact;
        if (step.match == Match::EnvelopeErrno || step.match == Match::EnvelopeCount)
          ++result.envelope;
        if (step.match == Match::UncheckedData) ++result.data_unchecked;
        break;
      case StepVerdict::Skipped:
        ++result.skipped;
        break;
      case StepVerdict::ExpectationFailed:
        ++result.expectation_failures;
        break;
      case StepVerdict::Diverged:
        ++result.divergences;
        break;
      case StepVerdict::NotRun:
        break;
    }
    if (step.verdict == StepVerdict::Diverged) {
      // Past a divergence the two sides no longer describe the same system.
      result.model_summary = model::summarize(lockstep.model_state());
      result.target_summary = target->summary();
      break;
    }
  }

  if (target) target->finish();
  return result;
}

}  // namespace loopcheck
