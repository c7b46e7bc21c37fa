// summary.json (schema 1, docs/campaigns.md): the one document every report
// rendering (Markdown, HTML) and `loopcheck report` read. Built from the plan, the
// tasks' records and the findings stage; timings sit under "timing" keys so that
// `results_digest`, a hash of everything else, is equal for equal results (a
// Slurm run and a local run of the same seeds, or two runs of one config).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "campaign/plan.h"
#include "campaign/task_runner.h"

namespace loopcheck::campaign {

inline constexpr int kSummarySchema = 1;
inline constexpr size_t kMaxHistoryNights = 60;

struct SummaryInput {
  std::string name, night, loopcheck_version;
  std::vector<uint64_t> seeds;
  std::string previous;  // the previous report's folder, relative to this one; "" when none
  const Plan* plan = nullptr;
  const std::vector<TaskRecord>* records = nullptr;  // one per plan task, same order
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  nlohmann::json previous_summary;  // null when none
  double findings_seconds = 0;
};

nlohmann::ordered_json build_summary(const SummaryInput& input);

// 32 hex digits: XXH3-128 of the summary without timings, history and names of places.
std::string results_digest(const nlohmann::ordered_json& summary);

// Worst first: how a trace's results under several profiles make one cell.
std::string worse_cell(const std::string& a, const std::string& b);

}  // namespace loopcheck::campaign
