#include "fuzz/exec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <vector>

#include "fuzz/signature.h"
#include "oracle/concurrent_runner.h"
#include "oracle/lockstep.h"
#include "model/model.h"
#include "trace/classify.h"

namespace loopcheck::fuzz {
namespace {

// A kernel report, hang or leak while the program ran outweighs any divergence:
// the divergence may only be its echo (a dead guest answers nothing).
void crash_finding(Target& target, const model::Profile& profile, size_t count, Finding& finding) {
  std::vector<TargetIncident> incidents = target.take_incidents();
  if (incidents.empty()) return;
  const TargetIncident& first = incidents.front();
  finding.kind = Finding::Kind::Crash;
  // A step the guest could not name (it died mid-program) is the last one: the
  // minimizer then keeps every statement that may have led there.
  const size_t last = count > 0 ? count - 1 : 0;
  finding.step = first.step > 0 ? std::min(first.step - 1, last) : last;
  finding.signature = crash_signature(profile.name, first.kind, first.where);
  finding.detail.clear();
  for (const TargetIncident& i : incidents)
    finding.detail += fmt::format("{} after step {}:\n{}\n", i.kind, i.step, i.excerpt);
}

// The lockstep's verdicts and the model's invariants, over any sequence of
// statements; `next(i)` yields statement i.
template <typename NextStatement>
Finding run_statements(Target* target, const model::Profile& profile, const Trace& start_trace,
                       size_t count, NextStatement next, ModelCoverage* coverage,
                       uint64_t& steps_run) {
  Finding finding;
  if (target && target->wants_plan()) {
    std::vector<PlannedStatement> planned(count);
    for (size_t i = 0; i < count; ++i) planned[i] = {next(i).op, next(i).bind};
    target->plan(planned);
  }
  Env env = start_trace.env;
  if (target) {
    target->describe_env(env, start_trace.env_given);
    TargetError err = target->start(start_trace, profile.name, env);
    if (err.failed) {
      finding.kind = Finding::Kind::TargetError;
      finding.signature = "target error";
      finding.detail = err.message;
      return finding;
    }
  }
  Lockstep lockstep(profile, env, start_trace.objects, target);
  std::string why;
  for (size_t i = 0; i < count; ++i) {
    const Statement& stmt = next(i);
    StepResult r = lockstep.step(stmt, false);
    ++steps_run;
    if (coverage) coverage->add(stmt.op, r.model);
    if (r.verdict == StepVerdict::Diverged) {
      finding.kind = Finding::Kind::Divergence;
      finding.step = i;
      finding.signature =
          divergence_signature(profile.name, stmt.op, r.model, r.observed,
                               target ? target->last_read() : std::span<const uint8_t>{});
      finding.detail = r.detail;
      if (target)
        finding.detail += "\n  model:  " + model::summarize(lockstep.model_state()) +
                          "\n  target: " + target->summary();
      break;
    }
    if (!model::check_invariants(lockstep.model_state(), profile, start_trace.env, &why)) {
      finding.kind = Finding::Kind::Invariant;
      finding.step = i;
      // The invariant's name without the device it names: one bug, one signature.
      const std::string_view name = std::string_view(why).substr(0, why.find(" ("));
      finding.signature = invariant_signature(profile.name, stmt.op, name);
      finding.detail = why;
      break;
    }
  }
  if (target) {
    target->finish();
    crash_finding(*target, profile, count, finding);
  }
  return finding;
}

// The trace every program starts from: the sandbox, profile and environment,
// no statements. Built once per (profile, environment) a run sees.
const Trace& start_trace_for(const Program& program) {
  static thread_local std::vector<Trace> traces;
  for (const Trace& t : traces) {
    if (t.profile == program.profile->name && t.env == program.env) return t;
  }
  Program empty;
  empty.profile = program.profile;
  empty.env = program.env;
  traces.push_back(to_trace(empty));
  return traces.back();
}

}  // namespace

int ModelCoverage::pair_index(const Op& op, const Outcome& model_outcome) {
  return op_key(op) * kOutcomeClasses + outcome_key(model_outcome);
}

bool ModelCoverage::add(const Op& op, const Outcome& model_outcome) {
  const int i = pair_index(op, model_outcome);
  assert(i >= 0 && i < kOpClasses * kOutcomeClasses);
  if (seen_.test(i)) return false;
  seen_.set(i);
  return true;
}

Finding ProgramRunner::run(const Program& program, ModelCoverage* coverage) {
  // One statement reused for every step: building the program's Trace would
  // allocate per input, and the lockstep only reads the op and the binding.
  Statement stmt;
  auto next = [&](size_t i) -> const Statement& {
    stmt.op = program.stmts[i].op;
    stmt.bind = program.stmts[i].bind;
    return stmt;
  };
  return run_statements(target_, *program.profile, start_trace_for(program), program.count, next,
                        coverage, steps_run_);
}

namespace {

// A trace with a concurrent block: its `repeat` runs (oracle/concurrent_runner.h);
// the first unexplained history is the finding, its signature without line numbers.
Finding run_concurrent_trace(Target* target, const model::Profile& profile, const Trace& trace) {
  ConcurrentOptions options;
  options.check_expectations = false;  // as for sequential traces: target vs model only
  const ConcurrentResult r = run_concurrent(trace, profile, target, options);
  Finding f;
  if (!r.error.empty()) {
    f.kind = Finding::Kind::TargetError;
    f.signature = "target error";
    f.detail = r.error;
  } else if (!r.histories.empty()) {
    f.kind = Finding::Kind::Divergence;
    f.step = trace.stmts.size() - 1;  // the whole history counts
    f.signature = r.histories.front().signature;
    f.detail = format_concurrent_result(trace, r);
  } else if (!r.model.violations.empty()) {
    f.kind = Finding::Kind::Invariant;
    f.step = trace.stmts.size() - 1;
    const std::string& why = r.model.violations.front();
    f.signature = fmt::format("invariant ({}) in an interleaving: {}", profile.name,
                              why.substr(0, why.find(" (")));
    f.detail = format_concurrent_result(trace, r);
  }
  return f;
}

}  // namespace

Finding ProgramRunner::run(const Trace& trace, const model::Profile& profile,
                           ModelCoverage* coverage) {
  if (trace.concurrent()) return run_concurrent_trace(target_, profile, trace);
  auto next = [&](size_t i) -> const Statement& { return trace.stmts[i]; };
  return run_statements(target_, profile, trace, trace.stmts.size(), next, coverage, steps_run_);
}

}  // namespace loopcheck::fuzz
