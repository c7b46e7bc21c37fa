// A campaign's configuration (campaigns/*.toml, docs/campaigns.md): which targets
// and kernels, each stage's budget, the seeds, the explorer's scopes, the fuzz
// jobs, and the kernels new findings are triaged on. Parsed with toml++ and
// checked whole before anything runs: a bad file is reported as FILE:LINE:COL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loopcheck::campaign {

inline constexpr uint32_t kMaxSeeds = 1024;
inline constexpr uint32_t kMaxScopes = 64;
inline constexpr double kMaxBudgetSeconds = 7 * 24 * 3600.0;

struct ConformanceStage {
  bool enabled = true;
  std::vector<std::string> targets;  // model, inproc, host, vm:VERSION
  std::vector<std::string> kernels;  // Debian versions or "cached": one vm: task each
  double budget_seconds = 600;       // per task
  uint32_t jobs = 1;
};

struct ExploreScope {
  std::string profile = "linux-6.18";
  uint32_t devices = 1, files = 1, fds = 2, depth = 6;
  std::string domain = "small";  // small | boundary
};

struct ExploreStage {
  bool enabled = true;
  std::vector<ExploreScope> scopes;
  double budget_seconds = 300;  // per scope
};

struct FuzzStage {
  bool enabled = true;
  std::vector<std::string> targets;  // inproc, host, vm:VERSION
  std::vector<uint64_t> seeds{1};    // one task per (target, seed)
  std::string engine = "builtin";    // builtin | libfuzzer | auto
  uint64_t runs = 0;                 // executions per job (deterministic); 0 = the time budget
  double budget_seconds = 600;       // per task
  uint32_t jobs = 1;
  uint32_t max_minimize_tests = 2000;
};

// Mutation analysis of loop.c (`loopcheck mutants run`, docs/mutants.md): a seeded
// sample of mutants, each built and booted; its score is a figure of the night.
struct MutantsStage {
  bool enabled = false;
  std::string kernel = "6.1.0-56-cloud-amd64";
  std::string source = "linux-source-6.1";
  uint32_t max = 10;  // mutants sampled
  uint64_t seed = 1;
  uint32_t jobs = 1;
  double budget_seconds = 1800;
};

struct FindingsStage {
  std::vector<std::string> triage_kernels;  // versions or "cached"; empty: no triage
  bool reproducers = true;                  // a C program per finding (`loopcheck repro`)
  double budget_seconds = 600;              // for the whole stage
};

struct CampaignConfig {
  std::string name;
  std::string source_path;       // the file it came from
  double budget_seconds = 3600;  // the whole campaign: no task starts after it
  uint64_t max_disk_bytes = 0;   // 0: no bound (--max-disk overrides)
  ConformanceStage conformance;
  ExploreStage explore;
  FuzzStage fuzz;
  MutantsStage mutants;
  FindingsStage findings;
};

struct ConfigLoad {
  CampaignConfig config;
  std::vector<std::string> errors;  // "FILE:LINE:COL: message", empty when it loaded
  bool ok() const { return errors.empty(); }
};

ConfigLoad load_config(const std::string& path);
ConfigLoad parse_config(const std::string& text, const std::string& path);

}  // namespace loopcheck::campaign
