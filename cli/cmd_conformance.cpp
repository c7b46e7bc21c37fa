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
#include <vector>

#include "cli/commands.h"
#include "cli/strict.h"
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
  bool strict = false;  // only exact passes and skips exit 0
  bool json = false;
};

// One target under one profile: its totals, for the table and --json.
struct GroupTotals {
  std::string target, profile;
  RunTotals totals;
};

std::string table_row(const GroupTotals& g) {
  const RunTotals& t = g.totals;
  return fmt::format("{:<10} {:<14} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8}\n", g.target,
                     g.profile, t.passed + t.failed, t.failed, t.steps_passed, t.steps_exact,
                     t.steps_envelope, t.data_unchecked, t.steps_skipped, t.divergences);
}

// The whole run as one JSON document: totals, then each target and profile.
void print_json(const std::vector<GroupTotals>& groups, const RunTotals& totals, bool strict) {
  nlohmann::ordered_json j;
  j["passed"] = totals.passed;
  j["failed"] = totals.failed;
  j.update(totals_json(totals));
  j["strict"] = strict;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const GroupTotals& g : groups) {
    nlohmann::ordered_json row;
    row["target"] = g.target;
    row["profile"] = g.profile;
    row["passed"] = g.totals.passed;
    row["failed"] = g.totals.failed;
    row.update(totals_json(g.totals));
    rows.push_back(row);
  }
  j["groups"] = rows;
  fmt::print("{}\n", j.dump(2));
}

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
  if (!args.json) fmt::print("{}", skipped_targets);
  RunTotals totals;
  std::vector<GroupTotals> groups;
  std::string hedged;  // --strict: the steps that passed only inside an envelope
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
      GroupTotals& group =
          groups.emplace_back(GroupTotals{target_name, std::string(profile->name), {}});
      for (const Trace& trace : loaded.traces) {
        if (!trace.profile.empty() && !model::pin_admits(trace.profile, *profile)) continue;
        TraceResult result = run_trace(trace, *profile, chosen.target.get(), RunOptions{});
        group.totals.add(result);
        totals.add(result);
        if (args.strict) hedged += format_hedged_steps(trace, result);
        if (!args.json && (!result.ok() || args.verbose))
          fmt::print("{}", format_result_text(trace, result));
      }
    }
  }
  if (args.json) {
    print_json(groups, totals, args.strict);
  } else {
    std::string table = fmt::format(
        "{:<10} {:<14} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8}\n", "target", "profile",
        "traces", "failed", "passed", "exact", "envelope", "unchecked", "skipped", "diverged");
    for (const GroupTotals& g : groups) table += table_row(g);
    fmt::print("\n{}{}\n{}", skipped_targets, table, format_totals_text(totals));
  }
  return strict_exit_code(totals, args.strict, hedged);
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
  cmd->add_flag("--strict", args->strict,
                "Fail unless every step passed exactly or was skipped (no envelope, no "
                "unpredictable bytes)");
  cmd->add_flag("--json", args->json, "Print the totals per target and profile as JSON");
  cmd->callback([args, &action] { action = [args] { return conformance(*args); }; });
}

LOOPCHECK_COMMAND(5, add_conformance_command);

}  // namespace loopcheck::cli
