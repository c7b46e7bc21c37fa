// `loopcheck campaign --config FILE [--out DIR] [--resume] [--json]`
//   [--shard I --shards N | --merge | --slurm [--partition P] [--shards N] [--wait]]
//
// One night of a campaign (campaign/campaign.h, docs/campaigns.md): conformance,
// explorer and fuzz tasks as loopcheck subprocesses, the findings stage, and the
// report folder (summary.json, junit.xml, summary.md, index.html). --slurm submits
// the same work as a Slurm job array of shards and a dependent merge job.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "campaign/campaign.h"
#include "campaign/slurm.h"
#include "cli/commands.h"
#include "loopcheck_version.h"

namespace loopcheck::cli {
namespace {

namespace fs = std::filesystem;

struct CampaignArgs {
  std::string config;
  std::string out;
  std::string night;
  std::string previous;
  bool resume = false;
  bool json = false;
  uint64_t max_disk_mb = 0;
  int shard = -1;
  unsigned shards = 0;
  bool merge = false;
  bool slurm = false;
  std::string partition;
  bool wait = false;
};

std::string self_path() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("loopcheck") : exe.string();
}

// The run the arguments describe, or "" and a usage error in `why`.
campaign::CampaignRun make_run(const CampaignArgs& args, std::string* why) {
  campaign::CampaignRun run;
  run.loopcheck = self_path();
  run.loopcheck_version = LOOPCHECK_VERSION;
  run.config_path = args.config.empty() ? std::string() : fs::absolute(args.config).string();
  run.night = args.night.empty() ? campaign::utc_night() : args.night;
  run.out_dir = fs::absolute(args.out.empty() ? "reports/" + run.night : args.out);
  run.resume = args.resume;
  run.quiet = args.json;
  run.max_disk_bytes = args.max_disk_mb << 20;
  run.previous_dir = args.previous.empty() ? std::string() : fs::absolute(args.previous).string();
  if (args.shard >= 0) {
    run.mode = campaign::RunMode::Shard;
    run.shard = static_cast<unsigned>(args.shard);
    run.shards = args.shards;
    if (args.shards == 0 || run.shard >= args.shards)
      *why = "--shard I needs --shards N with I < N";
  }
  if (args.merge) run.mode = campaign::RunMode::Merge;
  if (args.merge && args.shard >= 0) *why = "--merge and --shard exclude each other";
  if (run.config_path.empty() && !fs::exists(run.out_dir / "plan.json"))
    *why = "--config FILE is needed (campaigns/smoke.toml and campaigns/nightly.toml are examples)";
  if (run.night.size() != 10 || run.night[4] != '-' || run.night[7] != '-')
    *why = "--night must be a date, YYYY-MM-DD";
  return run;
}

int submit_to_slurm(const CampaignArgs& args, const campaign::CampaignRun& run) {
  if (std::string why = campaign::prepare_out_dir(run); !why.empty()) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  campaign::SlurmSubmission submission;
  submission.loopcheck = run.loopcheck;
  submission.config_path = run.config_path;
  submission.out_dir = run.out_dir.string();
  submission.shards = args.shards ? args.shards : 4;
  submission.partition = args.partition;
  submission.wait = args.wait;
  const campaign::SlurmJobs jobs = campaign::submit_campaign(submission);
  if (!jobs.ok) {
    fmt::print(stderr, "{}\n", jobs.error);
    return kExitUsage;
  }
  fmt::print(stderr, "campaign: submitted array job {} ({} shards) and merge job {}\n",
             jobs.array_job_id, submission.shards, jobs.merge_job_id);
  if (!args.wait) return kExitPass;
  fmt::print(stderr, "campaign: merge job {} ended {} with exit {}; report: {}/summary.json\n",
             jobs.merge_job_id, jobs.merge_state, jobs.merge_exit_code, run.out_dir.string());
  return jobs.merge_exit_code;
}

int campaign_command(const CampaignArgs& args) {
  std::string why;
  campaign::CampaignRun run = make_run(args, &why);
  if (!why.empty()) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  if (args.slurm) return submit_to_slurm(args, run);
  const campaign::CampaignOutcome outcome = campaign::run_campaign(run);
  if (outcome.summary_path.empty()) return outcome.exit_code;
  std::ifstream in(outcome.summary_path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (args.json) {
    fmt::print("{}", text);
  } else {
    fmt::print("report: {}/index.html (summary.md, junit.xml, summary.json)\n",
               run.out_dir.string());
    std::ifstream md(run.out_dir / "summary.md");
    std::string first_lines, line;
    for (int i = 0; i < 3 && std::getline(md, line); ++i) first_lines += line + "\n";
    fmt::print("{}", first_lines);
  }
  return outcome.exit_code;
}

}  // namespace

void add_campaign_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<CampaignArgs>();
  CLI::App* cmd = app.add_subcommand(
      "campaign", "A night's campaign: conformance, explorer, fuzzing, findings; a report folder");
  cmd->add_option("--config", args->config, "The campaign config (campaigns/*.toml)");
  cmd->add_option("--out", args->out, "Report folder (default reports/NIGHT)");
  cmd->add_option("--night", args->night, "The night's date, YYYY-MM-DD (default: today, UTC)");
  cmd->add_option("--previous", args->previous,
                  "The previous night's report folder (default: the latest earlier night of "
                  "this campaign beside --out)");
  cmd->add_flag("--resume", args->resume, "Continue a campaign in --out that was stopped");
  cmd->add_flag("--json", args->json, "No progress lines; print summary.json");
  cmd->add_option("--max-disk", args->max_disk_mb,
                  "No task starts once the report folder holds this many MiB");
  cmd->add_option("--shard", args->shard, "Run only shard I of --shards N (Slurm array task)")
      ->check(CLI::Range(0, 4095));
  cmd->add_option("--shards", args->shards, "Shards (default 4 with --slurm)")
      ->check(CLI::Range(1, 4096));
  cmd->add_flag("--merge", args->merge,
                "Merge the shards in --out, rerun what none finished, write the report");
  cmd->add_flag("--slurm", args->slurm, "Submit the shards and the merge as Slurm jobs");
  cmd->add_option("--partition", args->partition, "Slurm partition (default: the cluster's)");
  cmd->add_flag("--wait", args->wait, "With --slurm: wait for the merge job; its exit code");
  cmd->callback([args, &action] { action = [args] { return campaign_command(*args); }; });
}

LOOPCHECK_COMMAND(45, add_campaign_command);

}  // namespace loopcheck::cli
