// The report of a small made-up run: totals, per-function scores, survivors
// with their diffs, byte-identical when written twice; the journal round trip
// that --resume reads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mutants/report.h"

namespace loopcheck::mutants {
namespace {

Mutant made(uint32_t id, std::string function, uint32_t offset, Operator op) {
  Mutant m;
  m.id = id;
  m.function = std::move(function);
  m.op = op;
  m.line = 2;
  m.column = offset - 1;
  m.original = "<";
  m.replacement = "<=";
  m.edits = {Edit{offset, 1, "<="}};
  return m;
}

struct Fixture {
  MutantSet set;
  RunnerOptions options;
  RunResult run;
  Fixture() {
    set.source.loop_c = "int x;\nint f(int a) { return a < 3; }\nint g(int a) { return a < 4; }\n";
    set.source.origin = "test";
    const auto lt_f = uint32_t(set.source.loop_c.find("< 3")),
               lt_g = uint32_t(set.source.loop_c.find("< 4"));
    set.selected = {made(1, "f", lt_f, Operator::Relational),
                    made(2, "g", lt_g, Operator::Relational),
                    made(3, "g", lt_g, Operator::OffByOne)};
    set.all = set.selected;
    run.results.resize(3);
    run.results[0] = {1, Status::Killed, KillKind::Divergence, Stage::Corpus, "common/a.trace", 4};
    run.results[1].id = 2;  // survived
    run.results[2] = {3, Status::Equivalent};
    run.results[2].reason = "a reason";
    run.results[0].build_seconds = 1.5;
  }
};

TEST(Report, TotalsScoresAndSurvivorDiffs) {
  Fixture f;
  const ReportInputs in{f.set, f.options, f.run, "loopcheck mutants run"};
  nlohmann::ordered_json j = report_json(in);
  EXPECT_EQ(j["totals"]["killed"], 1);
  EXPECT_EQ(j["totals"]["survived"], 1);
  EXPECT_EQ(j["totals"]["equivalent"], 1);
  EXPECT_DOUBLE_EQ(j["totals"]["score"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["per_function"]["f"]["score"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["per_function"]["g"]["score"].get<double>(), 0.0);
  EXPECT_EQ(j["mutants"][0]["killer"], "common/a.trace");
  EXPECT_FALSE(j["mutants"][0].contains("diff")) << "killed mutants need no diff";
  EXPECT_NE(j["mutants"][1]["diff"].get<std::string>().find("+int g(int a) { return a <= 4; }"),
            std::string::npos);
  const std::string md = report_markdown(in);
  EXPECT_NE(md.find("### #2 g:2:61 relational"), std::string::npos) << md;
  EXPECT_NE(md.find("Reason: a reason"), std::string::npos);
  EXPECT_NE(md.find("Hole: not judged yet"), std::string::npos) << "an unjudged survivor says so";
  EXPECT_EQ(md, report_markdown(in)) << "the same inputs give the same report";
}

TEST(Report, JournalRoundTripsForResume) {
  Fixture f;
  const std::string dir = ::testing::TempDir() + "/mutants-journal";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream j(dir + "/journal.jsonl");
    j << journal_line(f.set.selected[0], f.run.results[0]).dump() << "\n{\"cut short";
  }
  std::map<std::string, MutantResult> previous;
  std::string why;
  ASSERT_TRUE(load_previous(dir, &previous, &why)) << why;
  ASSERT_EQ(previous.size(), 1u);
  const MutantResult& r = previous.at(resume_key(f.set.selected[0]));
  EXPECT_EQ(r.status, Status::Killed);
  EXPECT_EQ(r.kill, KillKind::Divergence);
  EXPECT_EQ(r.killer, "common/a.trace");
  EXPECT_EQ(r.killer_step, 4u);
  EXPECT_DOUBLE_EQ(r.build_seconds, 1.5);
  EXPECT_FALSE(load_previous(dir + "/none", &previous, &why));
  EXPECT_NE(why.find("mutants run"), std::string::npos) << why;
}

}  // namespace
}  // namespace loopcheck::mutants
