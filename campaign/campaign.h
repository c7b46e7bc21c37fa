// `loopcheck campaign`: one night's run of a config. Writes the plan, runs the
// tasks (all, or one Slurm shard's), merges shards, retries a task that could not
// run once, settles the findings, and writes the report folder (summary.json,
// junit.xml, summary.md, index.html; docs/campaigns.md). Every finished task is a
// file, so a campaign killed at any point continues with --resume and loses no
// finding.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace loopcheck::campaign {

enum class RunMode { Whole, Shard, Merge };

struct CampaignRun {
  std::string loopcheck;  // absolute path of the binary every task runs
  std::string loopcheck_version;
  std::string config_path;
  std::filesystem::path out_dir;
  std::string night;  // YYYY-MM-DD
  RunMode mode = RunMode::Whole;
  unsigned shard = 0, shards = 1;
  bool resume = false;
  bool quiet = false;           // --json: no progress lines
  uint64_t max_disk_bytes = 0;  // 0: the config's bound (or none)
  std::string previous_dir;     // "" = the latest earlier night beside out_dir
};

struct CampaignOutcome {
  int exit_code = 2;  // 0 all passed, 1 something failed or a finding is open, 2 could not run
  std::string summary_path;  // "" for a shard
};

// Prepares OUT (config copy, plan.json) without running anything: what a Slurm
// submission does before its shards start. Returns "" or what went wrong.
std::string prepare_out_dir(const CampaignRun& run);

CampaignOutcome run_campaign(const CampaignRun& run);

// Renders junit.xml, summary.md and index.html again from a report folder's
// summary.json, plan.json and tasks/ (`loopcheck report`). "" or what is wrong.
std::string rerender_report(const std::filesystem::path& dir);

// Today's date in UTC, YYYY-MM-DD: the default night.
std::string utc_night();

}  // namespace loopcheck::campaign
