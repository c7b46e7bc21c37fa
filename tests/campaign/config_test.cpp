#include "campaign/config.h"

#include <gtest/gtest.h>

#include "campaign/plan.h"

namespace loopcheck::campaign {
namespace {

constexpr const char* kGood = R"(name = "t"
budget_seconds = 100
[conformance]
targets = ["model", "inproc"]
kernels = ["cached", "6.1.0-56-cloud-amd64"]
[[explore.scope]]
depth = 4
[explore]
budget_seconds = 5
[fuzz]
targets = ["inproc"]
seeds = [3, 4]
runs = 100
)";

TEST(CampaignConfig, ReadsEveryStage) {
  const ConfigLoad load = parse_config(kGood, "good.toml");
  ASSERT_TRUE(load.ok()) << load.errors.front();
  EXPECT_EQ(load.config.name, "t");
  EXPECT_EQ(load.config.budget_seconds, 100);
  EXPECT_EQ(load.config.conformance.targets.size(), 2u);
  ASSERT_EQ(load.config.explore.scopes.size(), 1u);
  EXPECT_EQ(load.config.explore.scopes[0].depth, 4u);
  EXPECT_EQ(load.config.fuzz.seeds, (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(load.config.fuzz.runs, 100u);
}

TEST(CampaignConfig, NamesTheLineOfAnUnknownKeyAndABadValue) {
  const ConfigLoad load = parse_config(
      "name = \"t\"\n[fuzz]\ntargets = [\"inproc\"]\nsedes = [1]\n"
      "engine = \"afl\"\n",
      "bad.toml");
  ASSERT_EQ(load.errors.size(), 2u);
  EXPECT_NE(load.errors[0].find("bad.toml:4:"), std::string::npos) << load.errors[0];
  EXPECT_NE(load.errors[0].find("unknown key 'sedes'"), std::string::npos);
  EXPECT_NE(load.errors[1].find("engine"), std::string::npos) << load.errors[1];
}

TEST(CampaignConfig, RejectsSyntaxErrorsRangesAndMissingName) {
  EXPECT_NE(parse_config("name = \n", "x.toml").errors.at(0).find("x.toml:1:"), std::string::npos);
  const ConfigLoad range =
      parse_config("name = \"t\"\n[fuzz]\ntargets=[\"inproc\"]\njobs = 0\n", "r.toml");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.errors[0].find("r.toml:4:"), std::string::npos) << range.errors[0];
  EXPECT_FALSE(parse_config("[fuzz]\ntargets=[\"inproc\"]\n", "n.toml").ok());
  EXPECT_FALSE(parse_config("name = \"t\"\n[conformance]\n", "c.toml").ok());
}

TEST(CampaignPlan, ExpandsCachedKernelsAndGivesEveryTaskOneShard) {
  const ConfigLoad load = parse_config(kGood, "good.toml");
  ASSERT_TRUE(load.ok());
  const Plan plan = make_plan(load.config, {"6.1.0-56-cloud-amd64", "6.12.117+deb12-cloud-amd64"});
  std::vector<std::string> ids;
  for (const Task& t : plan.tasks) ids.push_back(t.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"conformance-model", "conformance-inproc",
                                           "conformance-vm-6.1.0-56-cloud-amd64",
                                           "conformance-vm-6.12.117-deb12-cloud-amd64",
                                           "explore-linux-6.18-dev1-files1-fds2-depth4-small",
                                           "fuzz-inproc-seed-3", "fuzz-inproc-seed-4"}));
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    int owners = 0;
    for (unsigned shard = 0; shard < 3; ++shard) owners += in_shard(i, shard, 3);
    EXPECT_EQ(owners, 1) << plan.tasks[i].id;
  }
  Plan back;
  std::string why;
  ASSERT_TRUE(plan_from_json(nlohmann::json::parse(plan_json(plan).dump()), &back, &why)) << why;
  EXPECT_EQ(plan_json(back), plan_json(plan));
  EXPECT_FALSE(plan_from_json(nlohmann::json{{"plan", 99}}, &back, &why));
}

TEST(CampaignPlan, AMutantsStageIsOneTaskOnItsKernel) {
  const ConfigLoad load = parse_config(
      "name = \"m\"\n[mutants]\nkernel = \"6.1.0-56-cloud-amd64\"\nmax = 3\nseed = 9\n", "m.toml");
  ASSERT_TRUE(load.ok()) << load.errors.front();
  const Plan plan = make_plan(load.config, {});
  ASSERT_EQ(plan.tasks.size(), 1u);
  EXPECT_EQ(plan.tasks[0].id, "mutants-6.1.0-56-cloud-amd64-seed-9");
  EXPECT_EQ(stage_name(plan.tasks[0].stage), "mutants");
  EXPECT_EQ(
      plan.tasks[0].args,
      (std::vector<std::string>{"mutants", "run", "--kernel", "6.1.0-56-cloud-amd64", "--source",
                                "linux-source-6.1", "--max", "3", "--seed", "9", "-j", "1"}));
  Plan back;
  std::string why;
  ASSERT_TRUE(plan_from_json(nlohmann::json::parse(plan_json(plan).dump()), &back, &why));
  EXPECT_EQ(back.tasks[0].stage, Stage::Mutants);
}

}  // namespace
}  // namespace loopcheck::campaign
