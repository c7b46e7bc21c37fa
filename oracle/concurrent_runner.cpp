// Concurrent traces on the model and on targets (see concurrent_runner.h).
#include "oracle/concurrent_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <map>

#include "oracle/lockstep.h"
#include "trace/bind.h"
#include "trace/outcome_tuple.h"
#include "trace/print.h"

namespace loopcheck {

namespace {

constexpr size_t kMaxProblems = 20;

void problem(ConcurrentResult& r, std::string what) {
  if (r.problems.size() < kMaxProblems) r.problems.push_back(std::move(what));
}

TupleTally& tally(std::map<OutcomeTuple, TupleTally>& tuples, const OutcomeTuple& t) {
  auto [it, added] = tuples.try_emplace(t);
  if (added) it->second.tuple = t;
  return it->second;
}

// The model's tuples, and the written ones checked against them (both ways).
void check_model_side(const Trace& trace, ConcurrentResult& r,
                      std::map<OutcomeTuple, TupleTally>& tuples, bool check_expectations) {
  const ConcurrentBlock& block = trace.blocks.front();
  for (const model::AllowedTuple& a : r.model.tuples) {
    TupleTally& t = tally(tuples, a.tuple);
    t.model_allows = true;
    t.witness = a.witness;
    t.written = tuple_allowed(block.allowed, a.tuple);
  }
  if (!check_expectations || block.allowed.empty()) return;
  for (const model::AllowedTuple& a : r.model.tuples)
    if (!tuple_allowed(block.allowed, a.tuple)) {
      ++r.expectation_failures;
      problem(r, fmt::format("the model allows `{}`, which no allow line lists",
                             format_tuple(trace, block, a.tuple)));
    }
  for (size_t i = 0; i < block.allowed.size(); ++i) {
    bool reachable = false;
    for (const model::AllowedTuple& a : r.model.tuples)
      reachable = reachable || tuple_allowed(block.allowed[i], a.tuple);
    if (reachable) continue;
    ++r.expectation_failures;
    problem(r, fmt::format("allow line {} (`{}`): no order of the model gives it", i + 1,
                           format_tuple(trace, block, block.allowed[i])));
  }
}

std::vector<BlockThread> block_threads(const Trace& trace) {
  const ConcurrentBlock& block = trace.blocks.front();
  std::vector<BlockThread> threads(block.threads.size());
  for (uint32_t i = block.first; i < block.end; ++i) {
    const Statement& st = trace.stmts[i];
    BlockThread& t = threads[st.thread - 1u];
    t.kind = block.kinds[st.thread - 1u];
    t.stmts.push_back(i);
    t.statements.push_back(PlannedStatement{st.op, st.bind, st.thread, t.kind});
  }
  return threads;
}

// One run of the whole trace on the target: what it showed, and whether the
// model explains it.
struct Repetition {
  enum class Verdict : uint8_t { Linearizable, Unexplained, Undecided, Skipped, PrefixFailed };
  Verdict verdict = Verdict::Skipped;
  OutcomeTuple tuple;
  UnexplainedHistory history;
  LinearizabilityResult check;
  std::string why;
  uint32_t failed_stmt = 0;  // PrefixFailed: the 0-based statement
};

Repetition run_once(const Trace& trace, const model::Profile& profile, const Env& env,
                    Target& target, bool check_expectations) {
  Repetition rep;
  const ConcurrentBlock& block = trace.blocks.front();
  Lockstep lockstep(profile, env, trace.objects, &target);
  for (uint32_t i = 0; i < block.first; ++i) {
    const StepResult s = lockstep.step(trace.stmts[i], check_expectations);
    if (s.verdict == StepVerdict::Skipped) {
      rep.why = fmt::format("line {} was skipped", trace.stmts[i].pos.line);
      return rep;
    }
    if (s.verdict != StepVerdict::Pass) {
      rep.verdict = Repetition::Verdict::PrefixFailed;
      rep.failed_stmt = i;
      rep.why = fmt::format("line {}: {}", trace.stmts[i].pos.line, s.detail);
      return rep;
    }
  }
  const std::vector<BlockThread> threads = block_threads(trace);
  BlockHistory h = target.run_block(threads, lockstep.target_vars());
  if (!h.error.empty()) {
    rep.why = h.error;
    return rep;
  }
  std::array<int64_t, kMaxVars> target_vars{};
  std::copy(lockstep.target_vars().begin(), lockstep.target_vars().end(), target_vars.begin());
  rep.tuple.count = static_cast<uint8_t>(block.end - block.first);
  for (const CallRecord& c : h.calls) {
    if (c.outcome.kind == Outcome::Kind::Skipped) {
      const std::string reason = target.last_skip_reason();
      rep.why = fmt::format("line {} was skipped in the block{}{}", trace.stmts[c.stmt].pos.line,
                            reason.empty() ? "" : ": ", reason);
      return rep;
    }
    rep.tuple.at[c.stmt - block.first] = tuple_outcome(c.outcome);
    const int16_t bind = trace.stmts[c.stmt].bind;
    if (bind >= 0) target_vars[static_cast<size_t>(bind)] = bound_value(c.outcome);
  }
  rep.history.calls = h.calls;
  for (uint32_t i = block.end; i < trace.stmts.size(); ++i) {
    const Statement& st = trace.stmts[i];
    SuffixCall call{i, target.execute(bind_op(st.op, target_vars))};
    if (call.outcome.kind == Outcome::Kind::Skipped) {
      rep.why = fmt::format("line {} was skipped", st.pos.line);
      return rep;
    }
    if (st.bind >= 0) target_vars[static_cast<size_t>(st.bind)] = bound_value(call.outcome);
    rep.history.suffix.push_back(call);
  }
  model::BlockMachine machine(trace, profile, env);
  LinearizabilityInput in;
  in.trace = &trace;
  in.profile = &profile;
  in.env = env;
  in.start = machine.start(lockstep.model_state(), lockstep.model_vars());
  in.names = lockstep.names();
  in.calls = rep.history.calls;
  in.suffix = rep.history.suffix;
  rep.check = check_linearizable(in);
  rep.verdict = rep.check.linearizable ? Repetition::Verdict::Linearizable
                : rep.check.complete   ? Repetition::Verdict::Unexplained
                                       : Repetition::Verdict::Undecided;
  rep.history.why = rep.check.why;
  rep.history.signature = rep.check.signature;
  return rep;
}

void count(const Trace& trace, const Repetition& rep, uint32_t n, ConcurrentResult& r,
           std::map<OutcomeTuple, TupleTally>& tuples, const ConcurrentOptions& options) {
  using V = Repetition::Verdict;
  const ConcurrentBlock& block = trace.blocks.front();
  switch (rep.verdict) {
    case V::Skipped:
      ++r.skipped;
      if (r.skipped == 1) problem(r, fmt::format("run {} skipped: {}", n, rep.why));
      return;
    case V::PrefixFailed:
      if (r.prefix_failures++ == 0) r.first_prefix_failure_stmt = rep.failed_stmt;
      problem(r, fmt::format("run {}: before the block, {}", n, rep.why));
      return;
    case V::Linearizable:
      ++r.linearizable;
      break;
    case V::Unexplained:
    case V::Undecided:
      ++(rep.verdict == V::Unexplained ? r.unexplained : r.undecided);
      if (r.histories.size() < options.kept_histories) {
        r.histories.push_back(rep.history);
        r.histories.back().repetition = n;
      }
      break;
  }
  r.check_nodes += rep.check.nodes;
  r.check_seconds += rep.check.seconds;
  ++tally(tuples, rep.tuple).observed;
  if (options.check_expectations && !block.allowed.empty() &&
      !tuple_allowed(block.allowed, rep.tuple)) {
    ++r.expectation_failures;
    problem(r, fmt::format("run {} showed `{}`, which no allow line lists", n,
                           format_tuple(trace, block, rep.tuple)));
  }
}

}  // namespace

ConcurrentResult run_concurrent(const Trace& trace, const model::Profile& profile, Target* target,
                                const ConcurrentOptions& options) {
  assert(trace.blocks.size() == 1);
  ConcurrentResult r;
  r.source = trace.source;
  r.profile = std::string(profile.name);
  r.target = target ? std::string(target->name()) : "model";
  Env env = trace.env;
  if (target) target->describe_env(env, trace.env_given);
  r.model = model::explore_interleavings(trace, profile, env);
  std::map<OutcomeTuple, TupleTally> tuples;
  check_model_side(trace, r, tuples, options.check_expectations && !target);
  if (target && !target->runs_blocks())
    r.error = std::string(target->name()) + " cannot run concurrent blocks";
  const uint32_t repeat = options.repeat ? options.repeat : trace.blocks.front().repeat;
  std::vector<PlannedStatement> plan;
  for (const Statement& st : trace.stmts) {
    const ThreadKind kind =
        st.thread ? trace.blocks.front().kinds[st.thread - 1u] : ThreadKind::Thread;
    plan.push_back(PlannedStatement{st.op, st.bind, st.thread, kind});
  }
  for (uint32_t n = 1; target && r.error.empty() && n <= repeat; ++n) {
    if (target->wants_plan()) target->plan(plan);  // the VM runs the whole trace at start()
    const TargetError err = target->start(trace, profile.name, env);
    if (err.failed) {
      r.error = err.message;
      break;
    }
    const Repetition rep = run_once(trace, profile, env, *target, options.check_expectations);
    target->finish();
    ++r.repetitions;
    count(trace, rep, n, r, tuples, options);
  }
  for (auto& [tuple, t] : tuples) r.tuples.push_back(t);
  return r;
}

}  // namespace loopcheck

namespace loopcheck {

TraceResult concurrent_trace_result(const Trace& trace, ConcurrentResult r) {
  TraceResult out;
  out.source = r.source;
  out.profile = r.profile;
  out.target = r.target;
  out.error = r.error;
  out.steps.resize(trace.stmts.size());
  const bool model_only = r.target == "model";
  const bool ran = model_only ? r.model.complete : r.linearizable + r.unexplained > 0;
  out.divergences = r.unexplained + r.undecided + r.prefix_failures + r.model.violations.size() +
                    (r.model.complete ? 0 : 1);
  out.expectation_failures = r.expectation_failures;
  const bool failed = out.divergences + out.expectation_failures > 0 || !r.error.empty();
  for (size_t i = 0; i < trace.stmts.size(); ++i) {
    StepResult& s = out.steps[i];
    s.index = i;
    s.verdict = !r.error.empty() ? StepVerdict::NotRun
                : failed         ? StepVerdict::NotRun
                : ran            ? StepVerdict::Pass
                                 : StepVerdict::Skipped;
    if (s.verdict == StepVerdict::Pass) ++out.passed, ++out.exact;
    if (s.verdict == StepVerdict::Skipped) ++out.skipped;
  }
  if (failed && r.error.empty()) {
    StepResult& s = out.steps[trace.blocks.front().first];
    s.verdict = out.divergences ? StepVerdict::Diverged : StepVerdict::ExpectationFailed;
    s.detail = !r.histories.empty()          ? r.histories.front().why
               : !r.problems.empty()         ? r.problems.front()
               : !r.model.violations.empty() ? r.model.violations.front()
                                             : "the model's interleavings were not all explored";
  }
  out.concurrent = std::make_shared<const ConcurrentResult>(std::move(r));
  return out;
}

}  // namespace loopcheck
