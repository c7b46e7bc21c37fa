#include "oracle/runner.h"

#include "oracle/lockstep.h"
#include "model/model.h"

namespace loopcheck {

TraceResult run_trace(const Trace& trace, const model::Profile& profile, Target* target,
                      const RunOptions& options) {
  TraceResult result;
  result.source = trace.source;
  result.profile = std::string(profile.name);
  result.target = target ? std::string(target->name()) : "model";
  result.steps.resize(trace.stmts.size());
  for (size_t i = 0; i < trace.stmts.size(); ++i) result.steps[i].index = i;

  if (target) {
    TargetError err = target->start(trace, profile.name, trace.env);
    if (err.failed) {
      result.error = err.message;
      return result;
    }
  }

  Lockstep lockstep(profile, trace.env, trace.objects, target);
  for (size_t i = 0; i < trace.stmts.size(); ++i) {
    StepResult step = lockstep.step(trace.stmts[i], options.check_expectations);
    step.index = i;
    result.steps[i] = step;
    if (step.data_unchecked) ++result.data_unchecked;
    switch (step.verdict) {
      case StepVerdict::Pass:
        ++result.passed;
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
