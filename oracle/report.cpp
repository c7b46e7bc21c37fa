#include "oracle/report.h"

#include "oracle/concurrent_runner.h"

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

// "rule 2, rule 1" over the rules with passes, in EnvelopeRule order.
std::string rule_counts_text(const EnvelopeTally& tally) {
  std::string out;
  for (int i = 0; i < kEnvelopeRuleCount; ++i) {
    const auto rule = static_cast<EnvelopeRule>(i);
    if (const size_t n = tally.total(rule))
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", envelope_rule_name(rule), n);
  }
  return out;
}

// Only the passes of one part ("errno"/"count" for envelope, "data" for unchecked).
EnvelopeTally only_parts(const EnvelopeTally& tally, bool data) {
  EnvelopeTally out;
  for (size_t r = 0; r < tally.n.size(); ++r)
    for (size_t p = 0; p < tally.n[r].size(); ++p)
      if ((p == static_cast<size_t>(EnvelopePart::Data)) == data) out.n[r][p] = tally.n[r][p];
  return out;
}

}  // namespace

std::string format_result_text(const Trace& trace, const TraceResult& r) {
  if (!r.not_run.empty())
    return fmt::format("SKIP {} ({}, {}): {}\n", r.source, r.profile, r.target, r.not_run);
  std::string out =
      fmt::format("{} {} ({}, {})", r.ok() ? "PASS" : "FAIL", r.source, r.profile, r.target);
  if (r.skipped) out += fmt::format(" [{} steps skipped]", r.skipped);
  if (r.envelope)
    out += fmt::format(" [{} passed inside an envelope: {}]", r.envelope,
                       rule_counts_text(only_parts(r.rules, false)));
  if (r.data_unchecked)
    out += fmt::format(" [{} reads with unpredictable data, count only: {}]", r.data_unchecked,
                       rule_counts_text(only_parts(r.rules, true)));
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
  if (r.concurrent) out += format_concurrent_result(trace, *r.concurrent);
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
  j["steps"] = {{"exact", r.exact},
                {"envelope", r.envelope},
                {"unchecked", r.data_unchecked},
                {"skipped", r.skipped},
                {"diverged", r.divergences},
                {"expectation_failed", r.expectation_failures}};
  j["envelope_rules"] = envelope_rules_json(r.rules);
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
  nlohmann::ordered_json hedged = nlohmann::ordered_json::array();
  for (const StepResult& s : r.steps) {
    const StepClass c = step_class(s);
    if (c != StepClass::Envelope && c != StepClass::Unchecked) continue;
    hedged.push_back({{"step", s.index + 1},
                      {"line", trace.stmts[s.index].pos.line},
                      {"statement", print_statement(trace, trace.stmts[s.index])},
                      {"class", step_class_name(c)},
                      {"rule", envelope_rule_name(s.rule)},
                      {"part", envelope_part_name(envelope_part(s.match))},
                      {"model", format_outcome(s.model)},
                      {"observed", format_outcome(s.observed)}});
  }
  j["hedged"] = hedged;
  return j;
}

nlohmann::ordered_json envelope_rules_json(const EnvelopeTally& tally) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (int i = 0; i < kEnvelopeRuleCount; ++i) {
    const auto rule = static_cast<EnvelopeRule>(i);
    if (tally.total(rule) == 0) continue;
    nlohmann::ordered_json parts;
    for (int p = 0; p < kEnvelopePartCount; ++p)
      parts[std::string(envelope_part_name(static_cast<EnvelopePart>(p)))] =
          tally.n[static_cast<size_t>(i)][static_cast<size_t>(p)];
    j[std::string(envelope_rule_name(rule))] = parts;
  }
  return j;
}

nlohmann::ordered_json totals_json(const RunTotals& t) {
  nlohmann::ordered_json j;
  j["steps"] = {{"exact", t.steps_exact},        {"envelope", t.steps_envelope},
                {"unchecked", t.data_unchecked}, {"skipped", t.steps_skipped},
                {"diverged", t.divergences},     {"expectation_failed", t.expectation_failures}};
  j["envelope_rules"] = envelope_rules_json(t.rules);
  return j;
}

std::string format_hedged_steps(const Trace& trace, const TraceResult& r) {
  std::string out;
  for (const StepResult& s : r.steps) {
    const StepClass c = step_class(s);
    if (c != StepClass::Envelope && c != StepClass::Unchecked) continue;
    const Statement& stmt = trace.stmts[s.index];
    const std::string_view part = envelope_part_name(envelope_part(s.match));
    out += fmt::format("  {}:{}:{}: step {} `{}`: {} ({}, {}): model {}, {} {}\n", r.source,
                       stmt.pos.line, stmt.pos.col, s.index + 1, print_statement(trace, stmt),
                       step_class_name(c), envelope_rule_name(s.rule), part,
                       format_outcome(s.model), r.target, format_outcome(s.observed));
  }
  return out;
}

void RunTotals::add(const TraceResult& r) {
  if (!r.not_run.empty()) {
    ++not_applicable;  // not run here: counted as a skipped trace
    return;
  }
  (r.ok() ? passed : failed) += 1;
  steps_passed += r.passed;
  steps_exact += r.exact;
  steps_envelope += r.envelope;
  rules.add(r.rules);
  steps_skipped += r.skipped;
  divergences += r.divergences;
  expectation_failures += r.expectation_failures;
  data_unchecked += r.data_unchecked;
}

void RunTotals::merge(const RunTotals& o) {
  passed += o.passed;
  failed += o.failed;
  not_applicable += o.not_applicable;
  steps_passed += o.steps_passed;
  steps_exact += o.steps_exact;
  steps_envelope += o.steps_envelope;
  rules.add(o.rules);
  steps_skipped += o.steps_skipped;
  divergences += o.divergences;
  expectation_failures += o.expectation_failures;
  data_unchecked += o.data_unchecked;
}

std::string format_totals_text(const RunTotals& t) {
  std::string out = fmt::format(
      "steps: {} passed ({} exact, {} inside an envelope, {} with unpredictable data), {} "
      "skipped, {} diverged, {} expectation failures\n",
      t.steps_passed, t.steps_exact, t.steps_envelope, t.data_unchecked, t.steps_skipped,
      t.divergences, t.expectation_failures);
  for (int i = 0; i < kEnvelopeRuleCount; ++i) {
    const auto rule = static_cast<EnvelopeRule>(i);
    if (t.rules.total(rule) == 0) continue;
    std::string parts;
    for (int p = 0; p < kEnvelopePartCount; ++p) {
      const size_t n = t.rules.n[static_cast<size_t>(i)][static_cast<size_t>(p)];
      if (n)
        parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ",
                             envelope_part_name(static_cast<EnvelopePart>(p)), n);
    }
    out += fmt::format("  envelope {}: {} ({})\n", envelope_rule_name(rule), t.rules.total(rule),
                       parts);
  }
  // Traces not run (pinned to another release) are counted as skipped, never as passed.
  if (t.not_applicable)
    return out +
           fmt::format("{} passed, {} failed, {} skipped\n", t.passed, t.failed, t.not_applicable);
  return out + fmt::format("{} passed, {} failed\n", t.passed, t.failed);
}

}  // namespace loopcheck
