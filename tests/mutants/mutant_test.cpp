// apply_mutant, mutant_diff and describe on hand-made mutants.
#include <gtest/gtest.h>

#include "mutants/mutant.h"
#include "mutants/report.h"

namespace loopcheck::mutants {
namespace {

constexpr std::string_view kSource = "a\nb\nc\nint x = y < 3;\nd\ne\nf\ng\n";

Mutant lt_to_le() {
  Mutant m;
  m.id = 4;
  m.function = "h";
  m.line = 4;
  m.column = 11;
  m.op = Operator::Relational;
  m.original = "<";
  m.replacement = "<=";
  m.edits = {Edit{uint32_t(kSource.find('<')), 1, "<="}};
  return m;
}

TEST(Mutant, ApplyReplacesExactlyTheEditedBytes) {
  std::string out, why;
  ASSERT_TRUE(apply_mutant(kSource, lt_to_le(), &out, &why)) << why;
  EXPECT_EQ(out, "a\nb\nc\nint x = y <= 3;\nd\ne\nf\ng\n");
}

TEST(Mutant, ApplyRefusesEditsOutsideOrOverlapping) {
  Mutant m = lt_to_le();
  m.edits.push_back(Edit{m.edits[0].offset, 1, "x"});
  std::string out, why;
  EXPECT_FALSE(apply_mutant(kSource, m, &out, &why));
  EXPECT_NE(why.find("overlaps"), std::string::npos) << why;
  m.edits = {Edit{uint32_t(kSource.size()), 1, "x"}};
  EXPECT_FALSE(apply_mutant(kSource, m, &out, &why));
}

TEST(Mutant, DiffHasThreeLinesOfContext) {
  EXPECT_EQ(mutant_diff(kSource, lt_to_le(), "loop.c"),
            "--- a/loop.c\n+++ b/loop.c\n@@ -1,7 +1,7 @@\n a\n b\n c\n-int x = y < 3;\n"
            "+int x = y <= 3;\n d\n e\n f\n");
}

TEST(Mutant, DescribeNamesFunctionPlaceOperatorAndChange) {
  EXPECT_EQ(describe(lt_to_le()), "h:4:11 relational `<` -> `<=`");
}

TEST(Mutant, ScoreCountsOnlyKilledAndSurvived) {
  EXPECT_DOUBLE_EQ(mutation_score(9, 1), 0.9);
  EXPECT_DOUBLE_EQ(mutation_score(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(mutation_score(3, 0), 1.0);
}

}  // namespace
}  // namespace loopcheck::mutants
