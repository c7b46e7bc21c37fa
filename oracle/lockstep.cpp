#include "oracle/lockstep.h"

#include <fmt/format.h>

#include <optional>

#include "oracle/compare.h"
#include "trace/bind.h"
#include "trace/expect.h"
#include "trace/print.h"

namespace loopcheck {
namespace {

// What a later statement sees when it names the variable: the returned fd or
// index, or -1 when the call failed (as a C program would hold it).
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

// On the model alone nothing is compared: a step is classed by how much the
// model committed to, its widest envelope first.
void classify_model_only(const Outcome& m, StepResult& result) {
  if (m.also_err != 0) {
    result.match = Match::EnvelopeErrno;
    result.rule = m.err_rule;
  } else if (m.min_value > 0 && (m.kind == Outcome::Kind::Data || m.kind == Outcome::Kind::Value)) {
    result.match = Match::EnvelopeCount;
    result.rule = m.count_rule;
  } else if (m.kind == Outcome::Kind::Data && !m.data_known) {
    result.match = Match::UncheckedData;
    result.rule = m.data_rule;
  }
  if (result.match != Match::Exact && result.rule == EnvelopeRule::None)
    result.rule = EnvelopeRule::Unattributed;
}

// The expectation without its data= alternatives when the model cannot predict
// the bytes: such a statement claims what no run can check, on any target.
Expectation checkable_part(const Expectation& e, const Outcome& m) {
  if (m.kind != Outcome::Kind::Data || m.data_known) return e;
  Expectation out;
  for (uint8_t i = 0; i < e.count && i < kMaxAlternatives; ++i)
    if (!e.alt[i].has_data) out.alt[out.count++] = e.alt[i];
  return out;
}

// A written expectation naming one errno or one count: what the trace says the
// kernel did, which the model alone follows where it allows more than that (an
// envelope, model.h), as it follows a target's outcome. A trace whose later
// statements hold only on one branch names that branch here.
std::optional<Outcome> written_outcome(const Expectation& e) {
  if (e.count != 1 || e.alt[0].ranged) return std::nullopt;
  if (e.alt[0].kind == ExpectAlt::Kind::Errno) return Outcome::error(e.alt[0].err);
  if (e.alt[0].kind == ExpectAlt::Kind::Value) return Outcome::ok(e.alt[0].value);
  if (e.alt[0].kind == ExpectAlt::Kind::Data) {  // the count settles a read's envelope
    Outcome o = Outcome::ok(e.alt[0].value);
    o.kind = Outcome::Kind::Data;
    return o;
  }
  return std::nullopt;
}

}  // namespace

Lockstep::Lockstep(const model::Profile& profile, const Env& env,
                   std::span<const ObjectDecl> objects, Target* target)
    : profile_(profile),
      env_(env),
      target_(target),
      state_(model::initial_state(profile, env, objects)) {
  model_vars_.fill(-1);
  target_vars_.fill(-1);
}

// A skipped step runs on neither side, and what it would have bound is skipped
// for every later step that reads it.
StepResult Lockstep::skip_dependant(const Statement& stmt) {
  StepResult result;
  result.model = Outcome::skipped();
  result.observed = Outcome::skipped();
  result.verdict = StepVerdict::Skipped;
  if (stmt.bind >= 0) {
    model_vars_[stmt.bind] = -1;
    target_vars_[stmt.bind] = -1;
    skipped_vars_ |= uint64_t{1} << stmt.bind;
  }
  return result;
}

StepResult Lockstep::step(const Statement& stmt, bool check_expectations) {
  if (op_var_mask(stmt.op) & skipped_vars_) return skip_dependant(stmt);
  StepResult result;
  // The target goes first: a step it skips (the host's claim checks) is not
  // taken by the model either, so both sides still describe the same system.
  Outcome target_outcome;
  std::span<const uint8_t> bytes;
  if (target_) {
    target_outcome = target_->execute(bind_op(stmt.op, target_vars_));
    if (target_outcome.kind == Outcome::Kind::Skipped) return skip_dependant(stmt);
    bytes = target_->last_read();
  }
  const Op model_op = bind_op(stmt.op, model_vars_);
  // The model's state follows the branch of an envelope the target took, or,
  // with none, the one the trace names.
  std::optional<Outcome> settled_by = target_outcome;
  if (!target_) settled_by = check_expectations ? written_outcome(stmt.expect) : std::nullopt;
  result.model = settled_by ? model::step(state_, profile_, env_, model_op, *settled_by)
                            : model::step(state_, profile_, env_, model_op);
  if (!target_) target_outcome = result.model;
  if (stmt.bind >= 0) {
    model_vars_[stmt.bind] = bound_value(result.model);
    target_vars_[stmt.bind] = bound_value(target_outcome);
    skipped_vars_ &= ~(uint64_t{1} << stmt.bind);
  }
  if (target_) {
    Comparison cmp = compare_outcomes(result.model, target_outcome, bytes, names_);
    result.observed = to_model_names(target_outcome, names_);
    if (!cmp.equal) {
      result.verdict = StepVerdict::Diverged;
      result.detail = cmp.why;
      return result;
    }
    result.match = cmp.match;
    result.rule = cmp.rule;
    forget_freed_names(model_op, result.model, target_outcome, names_);
  } else {
    result.observed = result.model;
    classify_model_only(result.model, result);
  }
  if (check_expectations) check_expectation(stmt.expect, bytes, result);
  if (result.verdict == StepVerdict::NotRun) result.verdict = StepVerdict::Pass;
  return result;
}

void Lockstep::check_expectation(const Expectation& written, std::span<const uint8_t> bytes,
                                 StepResult& result) const {
  const Expectation expect = checkable_part(written, result.model);
  // Nothing left to check of a written expectation holds for nothing.
  auto holds = [&](const Outcome& o, std::span<const uint8_t> b) {
    return expect.count == 0 ? written.count == 0 : expectation_matches(expect, o, b);
  };
  // The model alone: an expectation naming the model's envelope alternative
  // (`=> 512 | EIO` where readahead decides) is met too.
  const bool envelope_met =
      !target_ && result.model.also_err != 0 && holds(Outcome::error(result.model.also_err), {});
  if (envelope_met || holds(result.observed, bytes)) return;
  result.verdict = StepVerdict::ExpectationFailed;
  if (expect.count < written.count) {
    result.detail = fmt::format(
        "expected {}, got {}: data= states bytes the model cannot predict ({}), which no run "
        "can check",
        expectation_text(written), format_outcome(result.observed),
        envelope_rule_name(result.model.data_rule));
    return;
  }
  result.detail = fmt::format("expected {}, got {}", expectation_text(written),
                              format_outcome(result.observed));
}

}  // namespace loopcheck
