#include "campaign/finding_fates.h"

#include <gtest/gtest.h>

#include <map>

namespace loopcheck::campaign {
namespace {

KnownFinding finding(std::string id, FindingStatus status = FindingStatus::New,
                     std::string first_seen = "") {
  return KnownFinding{std::move(id), "sig", std::move(first_seen), status, {}};
}

TEST(FindingFates, NewNeedsAConfirmingRerunAndOpenCarriesItsFirstNight) {
  NightFindings nights;
  nights.tonight = {finding("inproc/a"), finding("inproc/b"), finding("inproc/c")};
  nights.previous = {finding("inproc/c", FindingStatus::New, "2026-12-01"),
                     finding("inproc/d", FindingStatus::Open, "2026-11-30"),
                     finding("inproc/e", FindingStatus::Open, "2026-11-29"),
                     finding("inproc/f", FindingStatus::Fixed, "2026-11-28")};
  std::map<std::string, Rerun> reruns{{"inproc/a", Rerun::Reproduces},
                                      {"inproc/b", Rerun::Gone},
                                      {"inproc/d", Rerun::Reproduces},
                                      {"inproc/e", Rerun::Gone}};
  std::vector<std::string> asked;
  const auto fates =
      decide_fates(nights, "2026-12-02", [&](const KnownFinding& f, bool from_previous) {
        asked.push_back(f.id + (from_previous ? "@previous" : ""));
        return reruns.at(f.id);
      });
  ASSERT_EQ(fates.size(), 5u);  // f was fixed before: not carried
  EXPECT_EQ(fates[0].status, FindingStatus::New);
  EXPECT_EQ(fates[0].first_seen, "2026-12-02");
  EXPECT_EQ(fates[1].status, FindingStatus::Flaky);
  EXPECT_EQ(fates[2].status, FindingStatus::Open);  // found again: no rerun needed
  EXPECT_EQ(fates[2].first_seen, "2026-12-01");
  EXPECT_EQ(fates[3].status, FindingStatus::Open);  // not found, still reproduces
  EXPECT_EQ(fates[4].status, FindingStatus::Fixed);
  EXPECT_EQ(asked, (std::vector<std::string>{"inproc/a", "inproc/b", "inproc/d@previous",
                                             "inproc/e@previous"}));
}

TEST(FindingFates, ARerunThatCannotRunNeitherConfirmsNorFixes) {
  NightFindings nights;
  nights.tonight = {finding("host/a")};
  nights.previous = {finding("host/b", FindingStatus::Open, "2026-12-01")};
  const auto fates = decide_fates(nights, "2026-12-02",
                                  [](const KnownFinding&, bool) { return Rerun::CouldNotRun; });
  ASSERT_EQ(fates.size(), 2u);
  EXPECT_EQ(fates[0].status, FindingStatus::Flaky);
  EXPECT_FALSE(fates[0].note.empty());
  EXPECT_EQ(fates[1].status, FindingStatus::Open);
  EXPECT_FALSE(fates[1].note.empty());
}

}  // namespace
}  // namespace loopcheck::campaign
