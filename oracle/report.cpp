#include "oracle/report.h"

#include <fmt/format.h>

#include "trace/print.h"

namespace loopcheck {
namespace {

std::string_view verdict_name(StepVerdict v) {
  switch (v) {
    case StepVerdict::Pass:
      return "pass";
    case StepVerdict::Skipped:
      return "skipped";
    case StepVerdict::Diverged:
      return "diverged";
    case StepVerdict::ExpectationFailed:
      return "expectation_failed";
    case StepVerdict::NotRun:
      return "not_run";
  }
  return "?";
}

}  // namespace

std::string format_result_text(const Trace& trace, const TraceResult& r) {
  std::string out =
      fmt::format("{} {} ({}, {})", r.ok() ? "PASS" : "FAIL", r.source, r.profile, r.target);
  if (r.skipped) out += fmt::format(" [{} steps skipped]", r.skipped);
  if (r.data_unchecked)
    out += fmt::format(" [{} reads with unpredictable data: count only]", r.data_unchecked);
  out += "\n";
  if (!r.error.empty())
    out += fmt::format("  {}: the target could not run this trace: {}\n", r.source, r.error);
  for (const StepResult& s : r.steps) {
    if (s.verdict != StepVerdict::Diverged && s.verdict != StepVerdict::ExpectationFailed) continue;
    const Statement& stmt = trace.stmts[s.index];
    out += fmt::format("  {}:{}:{}: step {} `{}`: {}{}\n", r.source, stmt.pos.line, stmt.pos.col,
                       s.index + 1, print_statement(trace, stmt),
                       s.verdict == StepVerdict::Diverged ? "DIVERGENCE: " : "", s.detail);
  }
  auto block = [](const std::string& text) { return text.ends_with('\n') ? text : text + "\n"; };
  if (!r.model_summary.empty()) out += fmt::format("  model state:\n{}", block(r.model_summary));
  if (!r.target_summary.empty())
    out += fmt::format("  {} state:\n{}", r.target, block(r.target_summary));
  return out;
}

nlohmann::ordered_json result_json(const Trace& trace, const TraceResult& r) {
  nlohmann::ordered_json j;
  j["trace"] = r.source;
  j["profile"] = r.profile;
  j["target"] = r.target;
  j["passed"] = r.ok();
  j["steps_passed"] = r.passed;
  j["steps_skipped"] = r.skipped;
  j["divergences"] = r.divergences;
  j["expectation_failures"] = r.expectation_failures;
  j["data_unchecked"] = r.data_unchecked;
  if (!r.error.empty()) j["error"] = r.error;
  nlohmann::ordered_json failures = nlohmann::ordered_json::array();
  for (const StepResult& s : r.steps) {
    if (s.verdict != StepVerdict::Diverged && s.verdict != StepVerdict::ExpectationFailed) continue;
    const Statement& stmt = trace.stmts[s.index];
    failures.push_back({{"step", s.index + 1},
                        {"line", stmt.pos.line},
                        {"statement", print_statement(trace, stmt)},
                        {"verdict", verdict_name(s.verdict)},
                        {"model", format_outcome(s.model)},
                        {"observed", format_outcome(s.observed)},
                        {"detail", s.detail}});
  }
  j["failures"] = failures;
  return j;
}

void RunTotals::add(const TraceResult& r) {
  (r.ok() ? passed : failed) += 1;
  steps_passed += r.passed;
  steps_skipped += r.skipped;
  divergences += r.divergences;
  expectation_failures += r.expectation_failures;
  data_unchecked += r.data_unchecked;
}

std::string format_totals_text(const RunTotals& t) {
  std::string out = fmt::format(
      "steps: {} passed, {} skipped, {} diverged, {} expectation failures, {} reads with "
      "unpredictable data\n",
      t.steps_passed, t.steps_skipped, t.divergences, t.expectation_failures, t.data_unchecked);
  // Traces not run (pinned to another release) are counted as skipped, never as passed.
  if (t.not_applicable)
    return out +
           fmt::format("{} passed, {} failed, {} skipped\n", t.passed, t.failed, t.not_applicable);
  return out + fmt::format("{} passed, {} failed\n", t.passed, t.failed);
}

}  // namespace loopcheck
