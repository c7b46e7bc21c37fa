// The text and JSON renderings of trace results and run totals: what a pass, an
// expectation failure (located FILE:LINE:COL), a divergence, a target error and
// the skipped/unchecked counts look like, and that rendering is deterministic.
#include "oracle/report.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/profile.h"
#include "trace/parse.h"
#include "trace/print.h"

namespace loopcheck {
namespace {

// Line 5 is wrong on purpose: with no device precreated, the first index is 0.
constexpr std::string_view kTraceText = R"(@trace 1
@env precreated=0
# a comment line, so that statement lines differ from statement numbers
ctl = open loop-control rw
  n = ioctl ctl LOOP_CTL_ADD -1 => 5
close ctl => 0
)";

Trace parse(std::string_view text) {
  ParseResult parsed = parse_trace(text, "dir/report.trace");
  EXPECT_TRUE(parsed.ok()) << parsed.errors.front().format();
  return parsed.trace;
}

TraceResult run_on_model(const Trace& trace, bool check_expectations = true) {
  RunOptions options;
  options.check_expectations = check_expectations;
  return run_trace(trace, model::kDefaultProfile, nullptr, options);
}

// The expectation-failure run, with its second step turned into a divergence
// against a target, as the runner records one.
TraceResult diverged_result(const Trace& trace) {
  TraceResult r = run_on_model(trace, false);
  r.target = "host";
  StepResult& s = r.steps[1];
  s.observed = Outcome::error(EBUSY);
  s.verdict = StepVerdict::Diverged;
  s.detail = "model 0, target EBUSY";
  r.passed = 1;
  r.exact = 1;
  r.divergences = 1;
  r.steps[2].verdict = StepVerdict::NotRun;
  r.model_summary = "loop0: unbound";
  r.target_summary = "loop17: unbound\n";
  return r;
}

TEST(ReportText, APassIsOneLine) {
  const Trace trace = parse(kTraceText);
  TraceResult r = run_on_model(trace, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(format_result_text(trace, r), "PASS dir/report.trace (linux-6.18, model)\n");
}

TEST(ReportText, AnExpectationFailureIsLocatedAtItsStatement) {
  const Trace trace = parse(kTraceText);
  TraceResult r = run_on_model(trace);
  ASSERT_EQ(r.expectation_failures, 1u);
  const std::string text = format_result_text(trace, r);
  EXPECT_EQ(text,
            "FAIL dir/report.trace (linux-6.18, model)\n"
            "  dir/report.trace:5:3: step 2 `" +
                print_statement(trace, trace.stmts[1]) + "`: expected 5, got 0\n");
  EXPECT_NE(text.find("n = ioctl ctl LOOP_CTL_ADD -1"), std::string::npos) << text;
}

TEST(ReportText, ADivergenceIsMarkedAndShowsBothStates) {
  const Trace trace = parse(kTraceText);
  const std::string text = format_result_text(trace, diverged_result(trace));
  EXPECT_EQ(text,
            "FAIL dir/report.trace (linux-6.18, host)\n"
            "  dir/report.trace:5:3: step 2 `" +
                print_statement(trace, trace.stmts[1]) +
                "`: DIVERGENCE: model 0, target EBUSY\n"
                "  model state:\nloop0: unbound\n"
                "  host state:\nloop17: unbound\n");
}

TEST(ReportText, SkippedAndUncheckedCountsAndTargetErrorsAreShown) {
  const Trace trace = parse(kTraceText);
  TraceResult r = run_on_model(trace, false);
  r.skipped = 2;
  r.data_unchecked = 1;
  r.rules.n[static_cast<size_t>(EnvelopeRule::StaleCache)][2] = 1;
  EXPECT_EQ(format_result_text(trace, r),
            "PASS dir/report.trace (linux-6.18, model) [2 steps skipped] [1 reads with "
            "unpredictable data, count only: stale_cache 1]\n");
  r.error = "no sandbox";
  EXPECT_EQ(format_result_text(trace, r),
            "FAIL dir/report.trace (linux-6.18, model) [2 steps skipped] [1 reads with "
            "unpredictable data, count only: stale_cache 1]\n"
            "  dir/report.trace: the target could not run this trace: no sandbox\n");
}

TEST(ReportText, RenderingIsDeterministic) {
  const Trace trace = parse(kTraceText);
  for (const TraceResult& r : {run_on_model(trace), diverged_result(trace)}) {
    EXPECT_EQ(format_result_text(trace, r), format_result_text(trace, r));
    EXPECT_EQ(result_json(trace, r).dump(), result_json(trace, r).dump());
  }
  // A second, independent run renders the same bytes.
  EXPECT_EQ(result_json(trace, run_on_model(trace)).dump(2),
            result_json(trace, run_on_model(trace)).dump(2));
}

TEST(ReportJson, APassHasEveryCountAndNoFailures) {
  const Trace trace = parse(kTraceText);
  const nlohmann::json j =
      nlohmann::json::parse(result_json(trace, run_on_model(trace, false)).dump());
  EXPECT_EQ(j.at("trace"), "dir/report.trace");
  EXPECT_EQ(j.at("profile"), "linux-6.18");
  EXPECT_EQ(j.at("target"), "model");
  EXPECT_EQ(j.at("passed"), true);
  EXPECT_EQ(j.at("steps_passed"), 3);
  EXPECT_EQ(j.at("steps_skipped"), 0);
  EXPECT_EQ(j.at("divergences"), 0);
  EXPECT_EQ(j.at("expectation_failures"), 0);
  EXPECT_EQ(j.at("data_unchecked"), 0);
  EXPECT_FALSE(j.contains("error"));
  EXPECT_TRUE(j.at("failures").is_array());
  EXPECT_TRUE(j.at("failures").empty());
}

TEST(ReportJson, FieldsComeInADocumentedStableOrder) {
  const Trace trace = parse(kTraceText);
  TraceResult r = run_on_model(trace);
  r.error = "no sandbox";
  const nlohmann::ordered_json j = result_json(trace, r);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"trace", "profile", "target", "passed", "steps_passed",
                                            "steps_skipped", "divergences", "expectation_failures",
                                            "data_unchecked", "steps", "envelope_rules", "error",
                                            "failures", "hedged"}));
}

TEST(ReportJson, AFailureNamesItsStepLineStatementAndBothOutcomes) {
  const Trace trace = parse(kTraceText);
  const nlohmann::json j = nlohmann::json::parse(result_json(trace, run_on_model(trace)).dump());
  EXPECT_EQ(j.at("passed"), false);
  EXPECT_EQ(j.at("expectation_failures"), 1);
  EXPECT_EQ(j.at("steps_passed"), 2);
  ASSERT_EQ(j.at("failures").size(), 1u);
  const nlohmann::json& f = j.at("failures")[0];
  EXPECT_EQ(f.at("step"), 2);
  EXPECT_EQ(f.at("line"), 5);
  EXPECT_EQ(f.at("statement"), print_statement(trace, trace.stmts[1]));
  EXPECT_EQ(f.at("verdict"), "expectation_failed");
  EXPECT_EQ(f.at("model"), "0");
  EXPECT_EQ(f.at("observed"), "0");
  EXPECT_EQ(f.at("detail"), "expected 5, got 0");
}

TEST(ReportJson, ADivergenceIsReportedWithTheTargetsOutcome) {
  const Trace trace = parse(kTraceText);
  const nlohmann::json j = nlohmann::json::parse(result_json(trace, diverged_result(trace)).dump());
  EXPECT_EQ(j.at("target"), "host");
  EXPECT_EQ(j.at("divergences"), 1);
  ASSERT_EQ(j.at("failures").size(), 1u);
  EXPECT_EQ(j.at("failures")[0].at("verdict"), "diverged");
  EXPECT_EQ(j.at("failures")[0].at("observed"), "EBUSY");
  EXPECT_EQ(j.at("failures")[0].at("detail"), "model 0, target EBUSY");
}

TEST(RunTotals, AddsResultsAndSaysHowManyPassedAndFailed) {
  const Trace trace = parse(kTraceText);
  RunTotals totals;
  totals.add(run_on_model(trace, false));
  totals.add(run_on_model(trace));
  TraceResult diverged = diverged_result(trace);
  diverged.skipped = 1;
  diverged.data_unchecked = 2;
  diverged.passed = 3;  // one exact and the two unchecked reads
  diverged.rules.n[static_cast<size_t>(EnvelopeRule::StaleCache)][2] = 2;
  totals.add(diverged);
  EXPECT_EQ(totals.passed, 1u);
  EXPECT_EQ(totals.failed, 2u);
  EXPECT_EQ(totals.hedged(), 2u);
  EXPECT_EQ(format_totals_text(totals),
            "steps: 8 passed (6 exact, 0 inside an envelope, 2 with unpredictable data), 1 "
            "skipped, 1 diverged, 1 expectation failures\n"
            "  envelope stale_cache: 2 (data 2)\n"
            "1 passed, 2 failed\n");
  // Traces pinned to another release are counted as skipped, not passed.
  totals.not_applicable = 4;
  EXPECT_TRUE(format_totals_text(totals).ends_with("\n1 passed, 2 failed, 4 skipped\n"));
}

}  // namespace
}  // namespace loopcheck
