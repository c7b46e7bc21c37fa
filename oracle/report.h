// Human-readable and JSON renderings of trace results. Both are deterministic:
// no timestamps, no host names, stable field order.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oracle/runner.h"
#include "trace/trace.h"

namespace loopcheck {

// "PASS path (profile, target) ..." and, for a failure, one located line per
// failing step with expected and actual outcomes, plus state summaries.
std::string format_result_text(const Trace& trace, const TraceResult& result);

nlohmann::ordered_json result_json(const Trace& trace, const TraceResult& result);

struct RunTotals {
  size_t passed = 0, failed = 0;
  // Traces not run: pinned to another release than the kernel under test, or
  // pinning an @env the target is not (TargetError::environment).
  size_t not_applicable = 0;
  // steps_passed = steps_exact + steps_envelope + data_unchecked.
  size_t steps_passed = 0, steps_skipped = 0, divergences = 0, expectation_failures = 0,
         data_unchecked = 0;
  size_t steps_exact = 0, steps_envelope = 0;
  EnvelopeTally rules;
  void add(const TraceResult& r);
  void merge(const RunTotals& other);  // a group's totals into the run's
  // Passes that were not exact: what --strict refuses.
  size_t hedged() const { return steps_envelope + data_unchecked; }
};

// "steps: ..." line (passes split into exact, envelope and unchecked), one line per
// envelope rule that let a step pass, then the plain closing line "N passed, N failed".
std::string format_totals_text(const RunTotals& totals);

// {"exact": N, "envelope": N, "unchecked": N, "skipped": N, "diverged": N,
//  "expectation_failed": N} and the per-rule counts, for a whole run.
nlohmann::ordered_json totals_json(const RunTotals& totals);

// {"rule_name": {"errno": N, "count": N, "data": N}, ...}: the rules with a
// nonzero count, in EnvelopeRule order.
nlohmann::ordered_json envelope_rules_json(const EnvelopeTally& tally);

// One located line per step that passed only inside an envelope or with unchecked
// data: what --strict reports.
std::string format_hedged_steps(const Trace& trace, const TraceResult& result);

}  // namespace loopcheck
