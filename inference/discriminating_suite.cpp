#include "inference/discriminating_suite.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "fuzz/generator.h"

#include "oracle/runner.h"
#include "trace/print.h"

namespace loopcheck::inference {

std::vector<std::string> model_outcomes(const Trace& trace, const model::Profile& profile) {
  if (trace.concurrent()) return {};
  RunOptions options;
  options.check_expectations = false;
  TraceResult result = run_trace(trace, profile, nullptr, options);
  std::vector<std::string> out;
  out.reserve(result.steps.size());
  for (const StepResult& step : result.steps) out.push_back(format_outcome(step.model));
  return out;
}

size_t first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return i;
  return a.size() == b.size() ? kAgree : n;
}

namespace {

// The corpus traces (shortest first) whose outcomes change with one switch.
std::vector<size_t> corpus_discriminators(
    const std::vector<Trace>& corpus, const std::vector<std::vector<std::string>>& base_outcomes,
    const std::vector<size_t>& order, const model::Profile& changed, size_t limit) {
  std::vector<size_t> found;
  for (size_t i : order) {
    if (found.size() >= limit) break;
    if (base_outcomes[i].empty()) continue;
    if (first_difference(base_outcomes[i], model_outcomes(corpus[i], changed)) != kAgree)
      found.push_back(i);
  }
  return found;
}

// A generated trace that tells `changed` from `base`, if one of the first
// `tries` of the series does.
std::optional<Trace> generated_discriminator(const model::Profile& base,
                                             const model::Profile& changed,
                                             const SuiteOptions& options) {
  const GenOptions gen{options.search_seed, 24, &base};
  for (uint64_t i = 0; i < options.search_traces; ++i) {
    Trace t = generate_trace(gen, i);
    if (first_difference(model_outcomes(t, base), model_outcomes(t, changed)) != kAgree) {
      t.source = fmt::format("generated: loopcheck gen --profile {} --seed {} (trace {})",
                             base.name, options.search_seed, i);
      return t;
    }
  }
  return std::nullopt;
}

}  // namespace

DiscriminatingSuite build_suite(const std::vector<Trace>& corpus, const model::Profile& base,
                                const SuiteOptions& options) {
  std::vector<std::vector<std::string>> base_outcomes;
  base_outcomes.reserve(corpus.size());
  for (const Trace& t : corpus) base_outcomes.push_back(model_outcomes(t, base));
  // Shorter traces first: they are cheaper on a VM and their evidence is plainer.
  std::vector<size_t> order(corpus.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return corpus[a].stmts.size() < corpus[b].stmts.size();
  });
  DiscriminatingSuite suite;
  std::map<size_t, size_t> suite_index;  // corpus index -> suite index
  for (const model::SwitchInfo& info : model::profile_switches()) {
    const profile_file::SettingValue own = setting_of(info.value(base));
    for (const profile_file::SettingValue& value : candidate_values(info)) {
      if (value == own) continue;
      Discriminator d{SwitchChange{&info, value}, {}};
      const model::Profile changed = with_change(base, d.change);
      for (size_t i :
           corpus_discriminators(corpus, base_outcomes, order, changed, options.per_change)) {
        auto [it, fresh] = suite_index.emplace(i, suite.traces.size());
        if (fresh) suite.traces.push_back(corpus[i]);
        d.traces.push_back(it->second);
      }
      if (d.traces.empty()) {
        if (std::optional<Trace> t = generated_discriminator(base, changed, options)) {
          d.traces.push_back(suite.traces.size());
          suite.traces.push_back(std::move(*t));
          ++suite.generated;
        }
      }
      if (d.traces.empty())
        suite.undiscriminated.push_back(d.change);
      else
        suite.discriminators.push_back(std::move(d));
    }
  }
  return suite;
}

}  // namespace loopcheck::inference
