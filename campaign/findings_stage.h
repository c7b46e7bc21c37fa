// The campaign's findings stage, after every task: tonight's findings (each fuzz
// task's own folder, merged by id in plan order), the previous night's, their
// fates (campaign/finding_fates.h) settled by rerunning the traces with
// `loopcheck findings check`, and for each finding still open a C reproducer
// (`loopcheck repro`) and a triage table over the configured kernels
// (`loopcheck triage`). Everything lands in OUT/findings/<target>/, so a report
// folder stands alone; rerunning the stage gives the same files.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "campaign/config.h"

namespace loopcheck::campaign {

struct FindingsStageInput {
  std::string loopcheck;  // absolute path of the binary the reruns use
  std::filesystem::path out_dir;
  std::string night;
  std::vector<std::filesystem::path> task_findings_dirs;  // in plan order
  std::filesystem::path previous_dir;                     // empty: no previous night
  nlohmann::json previous_summary;                        // null: no previous night
  FindingsStage config;
  std::vector<std::string> triage_kernels;      // "cached" already expanded
  std::function<void(const std::string&)> say;  // a progress line per finding (may be empty)
};

struct FindingsStageResult {
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();  // summary.json "findings"
  double seconds = 0;
  size_t reruns = 0;
};

// Throws std::runtime_error when it cannot write into OUT.
FindingsStageResult run_findings_stage(const FindingsStageInput& input);

}  // namespace loopcheck::campaign
