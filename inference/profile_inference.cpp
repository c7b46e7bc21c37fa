#include "inference/profile_inference.h"

#include <fmt/format.h>

#include <optional>

#include "oracle/recorded_expectation.h"
#include "oracle/runner.h"
#include "model/profile_registry.h"
#include "trace/print.h"

namespace loopcheck::inference {
namespace {

// The target's outcomes on `trace` as expectations, up to and including the
// first step that diverged from the model (the state after it is unknown).
Evidence record(const Trace& trace, size_t suite_index, const TraceResult& result) {
  Evidence e{suite_index, trace, 0, result.error.empty()};
  for (Statement& s : e.recorded.stmts) s.expect = Expectation{};
  size_t end = 0;
  for (const StepResult& step : result.steps) {
    if (step.verdict == StepVerdict::NotRun) {
      e.complete = false;
      break;
    }
    end = step.index + 1;
    if (step.verdict == StepVerdict::Skipped) continue;
    e.recorded.stmts[step.index].expect =
        recorded_expectation(step, true, EnvelopeStep::AsObserved);
    ++e.steps;
    if (step.verdict == StepVerdict::Diverged) {
      e.complete = false;
      break;
    }
  }
  e.recorded.stmts.resize(end);
  return e;
}

// The first recorded step the profile's model does not predict (its index), and
// how many recorded steps before it it does.
struct Explanation {
  size_t explained = 0;
  std::optional<StepResult> failed;
};

Explanation explain(const Evidence& e, const model::Profile& profile) {
  Explanation x;
  TraceResult result = run_trace(e.recorded, profile, nullptr, RunOptions{});
  for (const StepResult& step : result.steps) {
    if (step.verdict != StepVerdict::Pass) {
      x.failed = step;
      break;
    }
    if (e.recorded.stmts[step.index].expect.count > 0) ++x.explained;
  }
  return x;
}

// The best single switch change, if one explains more recorded steps.
bool improve_once(const std::vector<Evidence>& evidence, model::Profile& current, size_t& score) {
  size_t best = score;
  model::Profile best_profile = current;
  for (const model::SwitchInfo& info : model::profile_switches()) {
    const profile_file::SettingValue own = setting_of(info.value(current));
    for (const profile_file::SettingValue& value : candidate_values(info)) {
      if (value == own) continue;
      const model::Profile changed = with_change(current, SwitchChange{&info, value});
      const size_t s = explained_steps(evidence, changed);
      if (s > best) {
        best = s;
        best_profile = changed;
      }
    }
  }
  if (best == score) return false;
  current = best_profile;
  score = best;
  return true;
}

// The known profile explaining most (the base on a tie), then single changes.
model::Profile search(const std::vector<Evidence>& evidence, const model::Profile& start,
                      std::string* seed) {
  model::Profile current = start;
  size_t score = explained_steps(evidence, current);
  for (const model::Profile* known : known_profiles()) {
    const size_t s = explained_steps(evidence, *known);
    if (s > score) {
      score = s;
      current = *known;
      *seed = std::string(known->name);
    }
  }
  while (improve_once(evidence, current, score)) {
  }
  return current;
}

// "x.trace:12: the target gave EROFS; the model predicts EPERM".
std::string disagreement(const Evidence& e, const StepResult& step) {
  const Statement& stmt = e.recorded.stmts[step.index];
  return fmt::format("{}:{}: `{}`: the target gave {}; the model predicts {}", e.recorded.source,
                     stmt.pos.line, print_statement(e.recorded, stmt).substr(0, 60),
                     format_expect_alt(stmt.expect.alt[0]), format_outcome(step.model));
}

// Runs the suite's traces on the target under `profile`: those not recorded
// yet, and those whose recording stopped at a divergence.
void record_on_target(Target& target, const DiscriminatingSuite& suite,
                      const model::Profile& profile, const InferenceOptions& options,
                      std::vector<Evidence>& evidence, InferenceResult& r) {
  evidence.resize(suite.traces.size());
  for (size_t k = 0; k < suite.traces.size(); ++k) {
    Evidence& e = evidence[k];
    if (e.complete) continue;
    const Trace& trace = suite.traces[k];
    TraceResult result = run_trace(trace, profile, &target, RunOptions{false, 0});
    ++r.target_runs;
    if (!result.error.empty()) {
      r.errors.push_back(trace.source + ": " + result.error);
      e = Evidence{k, Trace{}, 0, true};  // not run again
      continue;
    }
    Evidence fresh = record(trace, k, result);
    if (options.progress)
      options.progress(fmt::format("{}: {} steps recorded{}", trace.source, fresh.steps,
                                   fresh.complete ? "" : " (diverged)"));
    if (fresh.steps >= e.steps) e = std::move(fresh);
  }
}

std::vector<Evidence> usable(const std::vector<Evidence>& evidence) {
  std::vector<Evidence> out;
  for (const Evidence& e : evidence)
    if (e.steps > 0) out.push_back(e);
  return out;
}

// Per switch: changed from the base (with the steps that show it), confirmed at
// the base's value, or unseen (no recorded step depends on it).
void classify_switches(const std::vector<Evidence>& evidence, const model::Profile& base,
                       InferenceResult& r) {
  const size_t score = explained_steps(evidence, r.profile);
  for (const model::SwitchInfo& info : model::profile_switches()) {
    const profile_file::SettingValue own = setting_of(info.value(r.profile));
    const profile_file::SettingValue base_value = setting_of(info.value(base));
    bool distinguished = false;
    for (const profile_file::SettingValue& v : candidate_values(info))
      if (v != own && explained_steps(evidence, with_change(r.profile, {&info, v})) < score)
        distinguished = true;
    if (own == base_value) {
      (distinguished ? r.confirmed : r.unseen).push_back(std::string(info.name));
      continue;
    }
    SwitchEvidence changed{{&info, own}, base_value, {}};
    const model::Profile reverted = with_change(r.profile, {&info, base_value});
    for (const Evidence& e : evidence) {
      if (changed.evidence.size() >= 3) break;
      Explanation x = explain(e, reverted);
      if (x.failed && x.explained < explain(e, r.profile).explained)
        changed.evidence.push_back(disagreement(e, *x.failed));
    }
    r.changed.push_back(std::move(changed));
  }
}

}  // namespace

InferenceResult infer_profile(Target& target, const DiscriminatingSuite& suite,
                              const model::Profile& base, const InferenceOptions& options) {
  InferenceResult r;
  r.profile = base;
  r.seed = std::string(base.name);
  std::vector<Evidence> evidence;
  while (r.rounds < options.max_rounds) {
    ++r.rounds;
    record_on_target(target, suite, r.profile, options, evidence, r);
    model::Profile next = search(usable(evidence), r.profile, &r.seed);
    if (model::switch_differences(next, r.profile).empty()) break;
    r.profile = next;
  }
  const std::vector<Evidence> recorded = usable(evidence);
  for (const Evidence& e : recorded) r.steps_recorded += e.steps;
  r.steps_explained = explained_steps(recorded, r.profile);
  classify_switches(recorded, base, r);
  for (const Evidence& e : recorded)
    if (Explanation x = explain(e, r.profile); x.failed) {
      const Statement& stmt = e.recorded.stmts[x.failed->index];
      r.unexplained.push_back({fmt::format("{}:{}", e.recorded.source, stmt.pos.line),
                               print_statement(e.recorded, stmt),
                               format_expect_alt(stmt.expect.alt[0]),
                               format_outcome(x.failed->model)});
    }
  return r;
}

size_t explained_steps(const std::vector<Evidence>& evidence, const model::Profile& profile) {
  size_t n = 0;
  for (const Evidence& e : evidence) n += explain(e, profile).explained;
  return n;
}

}  // namespace loopcheck::inference
