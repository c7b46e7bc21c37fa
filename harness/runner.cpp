#include "harness/runner.h"

#include <fmt/format.h>

#include <array>

#include "harness/compare.h"
#include "harness/renaming.h"
#include "model/model.h"
#include "trace/bind.h"
#include "trace/expect.h"
#include "trace/print.h"

namespace loopcheck {
namespace {

// What a later statement sees when it names the variable: the returned fd or
// index, or -1 when the call failed (as a C program would hold it).
int64_t bound_value(const Outcome& o) { return o.kind == Outcome::Kind::Value || o.kind == Outcome::Kind::Data ? o.value : -1; }

// Closing an fd or removing a device frees its number on both sides; the pair
// must not constrain a later, unrelated reuse of either number.
void forget_freed_names(const Op& model_op, const Outcome& m, const Outcome& t, Renaming& names) {
  bool both_ok = m.kind == Outcome::Kind::Value && t.kind == Outcome::Kind::Value;
  if (!both_ok) return;
  if (model_op.kind == OpKind::Close) names.forget(RenameKind::Fd, model_op.subject.lit);
  if (model_op.kind == OpKind::Ioctl && model_op.req == Req::LoopCtlRemove) {
    names.forget(RenameKind::DevIndex, model_op.arg.lit);
  }
}

std::string expectation_text(const Expectation& e) {
  std::string out;
  for (uint8_t i = 0; i < e.count; ++i) {
    if (i) out += " | ";
    out += format_expect_alt(e.alt[i]);
  }
  return out;
}

}  // namespace

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

  model::State state = model::initial_state(trace.env, trace.objects);
  std::array<int64_t, kMaxVars> model_vars{};
  std::array<int64_t, kMaxVars> target_vars{};
  Renaming names;

  for (size_t i = 0; i < trace.stmts.size(); ++i) {
    const Statement& stmt = trace.stmts[i];
    StepResult& step = result.steps[i];
    const Op model_op = bind_op(stmt.op, model_vars);
    step.model = model::step(state, profile, trace.env, model_op);

    Outcome target_outcome = step.model;
    std::span<const uint8_t> bytes;
    if (target) {
      target_outcome = target->execute(bind_op(stmt.op, target_vars));
      bytes = target->last_read();
    }
    if (stmt.bind >= 0) {
      model_vars[stmt.bind] = bound_value(step.model);
      target_vars[stmt.bind] = bound_value(target_outcome);
    }

    if (target_outcome.kind == Outcome::Kind::Skipped) {
      step.verdict = StepVerdict::Skipped;
      step.observed = target_outcome;
      ++result.skipped;
      continue;
    }
    if (target) {
      Comparison cmp = compare_outcomes(step.model, target_outcome, bytes, names);
      step.observed = to_model_names(target_outcome, names);
      if (!cmp.equal) {
        step.verdict = StepVerdict::Diverged;
        step.detail = cmp.why;
        ++result.divergences;
        result.model_summary = model::summarize(state);
        result.target_summary = target->summary();
        break;  // past a divergence the two sides no longer describe the same system
      }
      step.data_unchecked = cmp.data_unchecked;
      forget_freed_names(model_op, step.model, target_outcome, names);
    } else {
      step.observed = step.model;
      step.data_unchecked = step.model.kind == Outcome::Kind::Data && !step.model.data_known;
    }
    if (step.data_unchecked) ++result.data_unchecked;

    if (options.check_expectations && !expectation_matches(stmt.expect, step.observed, bytes)) {
      step.verdict = StepVerdict::ExpectationFailed;
      step.detail = fmt::format("expected {}, got {}", expectation_text(stmt.expect), format_outcome(step.observed));
      ++result.expectation_failures;
      continue;
    }
    step.verdict = StepVerdict::Pass;
    ++result.passed;
  }

  if (target) target->finish();
  return result;
}

}  // namespace loopcheck
