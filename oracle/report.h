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
  size_t not_applicable = 0;  // traces pinned to another release than the kernel under test
  size_t steps_passed = 0, steps_skipped = 0, divergences = 0, expectation_failures = 0,
         data_unchecked = 0;
  void add(const TraceResult& r);
};

// "steps: ..." line, then the plain closing line "N passed, N failed".
std::string format_totals_text(const RunTotals& totals);

}  // namespace loopcheck
