// `loopcheck conformance [--corpus DIR] [--target T]...`: the main job. Runs the
// conformance corpus on every target this machine has, under every profile the
// target can stand for: corpus/conformance/common/ under each profile, and
// corpus/conformance/<series>/ (and <variant>/ if there is one) with the traces
// whose @profile admits the variant. A real kernel stands for its own variant only. A target this
// machine cannot run is reported as SKIPPED.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "model/profile.h"
#include "oracle/report.h"
#include "oracle/runner.h"
#include "targets/registry.h"
#include "trace/trace_files.h"

namespace loopcheck::cli {
namespace {

struct ConformanceArgs {
  std::string corpus = LOOPCHECK_CORPUS_DIR "/conformance";
  std::vector<std::string> targets;
  bool verbose = false;
};

// common/, the series' directory ("linux-6.1") and the variant's, where they exist.
std::vector<std::string> corpus_dirs(const std::string& corpus, const model::Profile& profile) {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs{corpus + "/common"};
  for (std::string_view name : {profile.series, profile.name}) {
    std::string dir = fmt::format("{}/{}", corpus, name);
    if (fs::is_directory(dir) && std::find(dirs.begin(), dirs.end(), dir) == dirs.end())
      dirs.push_back(dir);
  }
  return dirs;
}

int conformance(const ConformanceArgs& args) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(args.corpus)) {
    fmt::print(
        stderr,
        "{}: no conformance corpus here; pass --corpus DIR (the repository's corpus/conformance)\n",
        args.corpus);
    return kExitUsage;
  }
  std::vector<std::string> targets = args.targets;
  std::string skipped_targets;
  if (targets.empty()) {
    for (const TargetAvailability& t : known_targets()) {
      if (t.available) {
        targets.push_back(t.name);
      } else {
        skipped_targets += fmt::format("SKIPPED target '{}': {}\n", t.name, t.why_not);
      }
    }
  }
  fmt::print("{}", skipped_targets);
  RunTotals totals;
  std::string table = fmt::format("{:<10} {:<14} {:>7} {:>7} {:>8} {:>9} {:>8}\n", "target",
                                  "profile", "traces", "failed", "steps", "skipped", "diverged");
  for (const std::string& target_name : targets) {
    TargetChoice chosen = make_target(target_name);
    if (!chosen.ok || (chosen.target && !chosen.error.empty())) {
      fmt::print(stderr, "{}\n", chosen.error);
      return kExitUsage;
    }
    for (const model::Profile* profile : model::kProfiles) {
      if (chosen.native_profile && chosen.native_profile != profile) continue;
      LoadedTraces loaded = load_traces(corpus_dirs(args.corpus, *profile));
      if (!loaded.ok()) {
        for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
        fmt::print(stderr, "no trace was run: fix the errors above\n");
        return kExitUsage;
      }
      RunTotals group;
      for (const Trace& trace : loaded.traces) {
        if (!trace.profile.empty() && !model::pin_admits(trace.profile, *profile)) continue;
        TraceResult result = run_trace(trace, *profile, chosen.target.get(), RunOptions{});
        group.add(result);
        totals.add(result);
        if (!result.ok() || args.verbose) fmt::print("{}", format_result_text(trace, result));
      }
      table += fmt::format("{:<10} {:<14} {:>7} {:>7} {:>8} {:>9} {:>8}\n", target_name,
                           profile->name, group.passed + group.failed, group.failed,
                           group.steps_passed, group.steps_skipped, group.divergences);
    }
  }
  fmt::print("\n{}{}\n{}", skipped_targets, table, format_totals_text(totals));
  return totals.failed == 0 ? kExitPass : kExitFail;
}

}  // namespace

void add_conformance_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ConformanceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "conformance",
      "The main job: the conformance corpus on every target this machine has, under every profile");
  cmd->add_option("--corpus", args->corpus, "The conformance corpus directory")
      ->capture_default_str();
  cmd->add_option("--target", args->targets,
                  "Only these targets (repeatable; default: every available one)");
  cmd->add_flag("-v,--verbose", args->verbose, "Print every trace, not only failures");
  cmd->callback([args, &action] { action = [args] { return conformance(*args); }; });
}

LOOPCHECK_COMMAND(5, add_conformance_command);

}  // namespace loopcheck::cli
