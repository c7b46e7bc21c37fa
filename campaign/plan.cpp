#include "campaign/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace loopcheck::campaign {
namespace {

constexpr int kPlanVersion = 1;

// "vm:6.1.0-56-cloud-amd64" -> "vm-6.1.0-56-cloud-amd64": a task id is a file name.
std::string id_word(std::string_view text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.') ? c : '-';
  return out;
}

// "cached" stands for every cached kernel; versions stay; duplicates go.
std::vector<std::string> kernel_targets(const std::vector<std::string>& kernels,
                                        const std::vector<std::string>& cached) {
  std::vector<std::string> targets;
  auto add = [&](const std::string& version) {
    const std::string name = "vm:" + version;
    if (std::find(targets.begin(), targets.end(), name) == targets.end()) targets.push_back(name);
  };
  for (const std::string& k : kernels) {
    if (k == "cached")
      std::for_each(cached.begin(), cached.end(), add);
    else
      add(k);
  }
  return targets;
}

void add_conformance(const ConformanceStage& stage, const std::vector<std::string>& cached,
                     Plan* plan) {
  std::vector<std::string> targets = stage.targets;
  for (const std::string& t : kernel_targets(stage.kernels, cached)) targets.push_back(t);
  for (const std::string& target : targets) {
    plan->tasks.push_back(Task{"conformance-" + id_word(target),
                               Stage::Conformance,
                               target,
                               {"conformance", "--target", target, "--json", "--traces"},
                               stage.budget_seconds});
  }
}

void add_explore(const ExploreStage& stage, Plan* plan) {
  for (const ExploreScope& s : stage.scopes) {
    Task task{fmt::format("explore-{}-dev{}-files{}-fds{}-depth{}-{}", id_word(s.profile),
                          s.devices, s.files, s.fds, s.depth, s.domain),
              Stage::Explore,
              "",
              {"explore", "--profile", s.profile, "--devices", std::to_string(s.devices), "--files",
               std::to_string(s.files), "--fds", std::to_string(s.fds), "--depth",
               std::to_string(s.depth), "--domain", s.domain, "--json"},
              stage.budget_seconds};
    plan->tasks.push_back(std::move(task));
  }
}

void add_fuzz(const FuzzStage& stage, Plan* plan) {
  for (const std::string& target : stage.targets) {
    for (uint64_t seed : stage.seeds) {
      Task task{fmt::format("fuzz-{}-seed-{}", id_word(target), seed),
                Stage::Fuzz,
                target,
                {"fuzz", "--target", target, "--engine", stage.engine, "--seed",
                 std::to_string(seed), "--jobs", std::to_string(stage.jobs), "--max-minimize-tests",
                 std::to_string(stage.max_minimize_tests), "--no-triage", "--progress", "--json"},
                stage.budget_seconds};
      if (stage.runs > 0) {
        task.args.insert(task.args.end(), {"--runs", std::to_string(stage.runs)});
      } else {
        // Past the fuzzing: minimizing what it found, bounded so the task ends in time.
        const double minimize_seconds = std::max(60.0, stage.budget_seconds / 4);
        task.args.insert(task.args.end(),
                         {"--seconds", fmt::format("{}", stage.budget_seconds),
                          "--minimize-seconds", fmt::format("{}", minimize_seconds)});
        task.budget_seconds = stage.budget_seconds + minimize_seconds + 30;
      }
      plan->tasks.push_back(std::move(task));
    }
  }
}

void add_mutants(const MutantsStage& stage, Plan* plan) {
  plan->tasks.push_back(Task{fmt::format("mutants-{}-seed-{}", id_word(stage.kernel), stage.seed),
                             Stage::Mutants,
                             "vm:" + stage.kernel,
                             {"mutants", "run", "--kernel", stage.kernel, "--source", stage.source,
                              "--max", std::to_string(stage.max), "--seed",
                              std::to_string(stage.seed), "-j", std::to_string(stage.jobs)},
                             stage.budget_seconds});
}

}  // namespace

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::Conformance:
      return "conformance";
    case Stage::Explore:
      return "explore";
    case Stage::Fuzz:
      return "fuzz";
    case Stage::Mutants:
      return "mutants";
  }
  return "?";
}

Plan make_plan(const CampaignConfig& config, const std::vector<std::string>& cached_kernels) {
  Plan plan{config.name, {}};
  if (config.conformance.enabled) add_conformance(config.conformance, cached_kernels, &plan);
  if (config.explore.enabled) add_explore(config.explore, &plan);
  if (config.fuzz.enabled) add_fuzz(config.fuzz, &plan);
  if (config.mutants.enabled) add_mutants(config.mutants, &plan);
  std::set<std::string> ids;
  for (const Task& t : plan.tasks) {
    // Two scopes or targets that name the same task would share one result file.
    if (!ids.insert(t.id).second)
      throw std::invalid_argument("the config names task " + t.id + " twice");
  }
  return plan;
}

bool in_shard(size_t index, unsigned shard, unsigned shards) {
  return shards <= 1 || index % shards == shard;
}

nlohmann::ordered_json plan_json(const Plan& plan) {
  nlohmann::ordered_json j;
  j["plan"] = kPlanVersion;
  j["campaign"] = plan.campaign;
  nlohmann::ordered_json tasks = nlohmann::ordered_json::array();
  for (const Task& t : plan.tasks) {
    tasks.push_back({{"id", t.id},
                     {"stage", stage_name(t.stage)},
                     {"target", t.target},
                     {"args", t.args},
                     {"budget_seconds", t.budget_seconds}});
  }
  j["tasks"] = tasks;
  return j;
}

bool plan_from_json(const nlohmann::json& j, Plan* plan, std::string* error) {
  try {
    if (j.at("plan").get<int>() != kPlanVersion) {
      *error = "written by another loopcheck version (plan " + j.at("plan").dump() + ")";
      return false;
    }
    plan->campaign = j.at("campaign").get<std::string>();
    plan->tasks.clear();
    for (const nlohmann::json& t : j.at("tasks")) {
      const std::string stage = t.at("stage").get<std::string>();
      Stage s = Stage::Conformance;
      for (Stage each : {Stage::Explore, Stage::Fuzz, Stage::Mutants})
        if (stage_name(each) == stage) s = each;
      plan->tasks.push_back(
          Task{t.at("id").get<std::string>(), s, t.at("target").get<std::string>(),
               t.at("args").get<std::vector<std::string>>(), t.at("budget_seconds").get<double>()});
    }
  } catch (const nlohmann::json::exception& e) {
    *error = std::string("not a campaign plan: ") + e.what();
    return false;
  }
  return true;
}

}  // namespace loopcheck::campaign
