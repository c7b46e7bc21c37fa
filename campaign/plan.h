// A campaign's plan: the config expanded into tasks, each one `loopcheck`
// subcommand with its arguments and budget, in a fixed order. The plan is written
// once (OUT/plan.json) and read back by --resume, every Slurm shard and the merge,
// so they all agree on task ids and on which kernels "cached" meant.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "campaign/config.h"

namespace loopcheck::campaign {

enum class Stage { Conformance, Explore, Fuzz, Mutants };

std::string_view stage_name(Stage stage);

struct Task {
  std::string id;  // unique, a file name: "conformance-inproc", "fuzz-inproc-seed-1"
  Stage stage = Stage::Conformance;
  std::string target;             // "" for the explorer
  std::vector<std::string> args;  // after the binary; --json included
  double budget_seconds = 0;      // the task is stopped past this
};

struct Plan {
  std::string campaign;
  std::vector<Task> tasks;
};

// `cached_kernels`: what "cached" in the config stands for (the kernel cache now).
Plan make_plan(const CampaignConfig& config, const std::vector<std::string>& cached_kernels);

// Whether task `index` belongs to shard `shard` of `shards` (round robin: every
// shard gets a mix of stages).
bool in_shard(size_t index, unsigned shard, unsigned shards);

nlohmann::ordered_json plan_json(const Plan& plan);
// False (and `error`) when `j` is not a plan this version wrote.
bool plan_from_json(const nlohmann::json& j, Plan* plan, std::string* error);

}  // namespace loopcheck::campaign
