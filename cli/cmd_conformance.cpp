// `loopcheck conformance [--corpus DIR] [--target T]...`: the main job. Runs the
// conformance corpus on every target this machine has, under every profile the
// target can stand for: corpus/conformance/common/ under each profile, and
// corpus/conformance/<series>/ (and <variant>/ if there is one) with the traces
// whose @profile admits the variant. A real kernel stands for its own variant only. A target this
// machine cannot run is reported as SKIPPED.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "cli/kernel_choice.h"
#include "cli/loop_driver_options.h"
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
  std::vector<std::string> kernels;  // --kernels: versions, "cached" or "all"
  unsigned jobs = 1;                 // targets run at once
  bool verbose = false;
  bool strict = false;  // only exact passes and skips exit 0
  bool json = false;
  bool traces = false;  // --traces: each trace's result in the JSON (campaign reports)
  std::string profile;  // --profile: this one instead of each target's own
  uint32_t repeat = 0;  // concurrent blocks: runs per trace (0: each block's repeat=)
  vm::LoopDriverChoice loop_driver;
};

// One trace's result, as a campaign's trace x target matrix and JUnit file show it.
struct TraceOutcome {
  std::string trace;    // relative to the corpus
  std::string result;   // pass | hedged | fail | skip
  std::string message;  // a failure's located lines
};

// One target under one profile: its totals, for the table and --json.
struct GroupTotals {
  std::string target, profile;
  RunTotals totals;
  std::vector<TraceOutcome> traces;  // with --traces
};

constexpr size_t kMaxFailureMessageBytes = 4096;

TraceOutcome trace_outcome(const std::string& corpus, const Trace& trace,
                           const TraceResult& result) {
  TraceOutcome o{
      std::filesystem::path(trace.source).lexically_relative(corpus).string(), "pass", {}};
  if (!result.not_run.empty()) {
    o.result = "skip";
    o.message = result.not_run;
  } else if (!result.ok()) {
    o.result = "fail";
    o.message = format_result_text(trace, result).substr(0, kMaxFailureMessageBytes);
  } else if (result.envelope + result.data_unchecked > 0) {
    o.result = "hedged";
  } else if (result.passed == 0 && result.skipped > 0) {
    o.result = "skip";
  }
  return o;
}

nlohmann::ordered_json traces_json(const std::vector<TraceOutcome>& traces) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const TraceOutcome& t : traces) {
    nlohmann::ordered_json row{{"trace", t.trace}, {"result", t.result}};
    if (!t.message.empty()) row["message"] = t.message;
    list.push_back(row);
  }
  return list;
}

// The whole run as one JSON document: totals, then each target and profile.
void print_json(const std::vector<GroupTotals>& groups, const RunTotals& totals, bool strict,
                bool traces) {
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
    if (traces) row["traces"] = traces_json(g.traces);
    rows.push_back(row);
  }
  j["groups"] = rows;
  fmt::print("{}\n", j.dump(2));
}

// common/, the series' directory ("linux-6.1") and the variant's, where they exist.
std::vector<std::string> corpus_dirs(const std::string& corpus, const model::Profile& profile) {
  namespace fs = std::filesystem;
  // corpus/ports/ has no common/: a port's traces are its own.
  std::vector<std::string> dirs;
  if (fs::is_directory(corpus + "/common") ||
      !fs::is_directory(corpus + "/" + std::string(profile.series)))
    dirs.push_back(corpus + "/common");
  for (std::string_view name : {profile.series, profile.name}) {
    std::string dir = fmt::format("{}/{}", corpus, name);
    if (fs::is_directory(dir) && std::find(dirs.begin(), dirs.end(), dir) == dirs.end())
      dirs.push_back(dir);
  }
  return dirs;
}

// What one target did over the corpus: the traces it printed (failures, or all
// with --verbose), its totals per profile, and with --strict its hedged steps.
struct TargetRun {
  std::string output;
  std::vector<GroupTotals> groups;  // one per profile the target ran under
  std::string hedged;
  bool usage_error = false;  // the target could not be made, or the corpus does not load
};

std::vector<std::string> table_row(const GroupTotals& g) {
  const RunTotals& t = g.totals;
  return {g.target,
          g.profile,
          std::to_string(t.passed + t.failed),
          std::to_string(t.failed),
          std::to_string(t.steps_passed),
          std::to_string(t.steps_exact),
          std::to_string(t.steps_envelope),
          std::to_string(t.data_unchecked),
          std::to_string(t.steps_skipped),
          std::to_string(t.divergences)};
}

// Runs on the calling thread: a VM is tied to the thread that booted it.
TargetRun run_target(const std::string& target_name, const ConformanceArgs& args) {
  TargetRun run;
  TargetChoice chosen = make_target(target_name);
  // A kernel no profile covers may still be compared under an explicit --profile.
  if (!chosen.ok || (chosen.target && !chosen.error.empty() && args.profile.empty())) {
    run.output = chosen.error + "\n";
    run.usage_error = true;
    return run;
  }
  const model::Profile* only =
      args.profile.empty() ? chosen.native_profile : model::find_profile(args.profile);
  std::vector<const model::Profile*> profiles(std::begin(model::kProfiles),
                                              std::end(model::kProfiles));
  if (only) profiles = {only};  // a built-in one, or one read from a profile file
  for (const model::Profile* profile : profiles) {
    LoadedTraces loaded = load_traces(corpus_dirs(args.corpus, *profile));
    if (!loaded.ok()) {
      for (const std::string& e : loaded.errors) run.output += e + "\n";
      run.output += "no trace was run: fix the errors above\n";
      run.usage_error = true;
      return run;
    }
    GroupTotals& group = run.groups.emplace_back(
        GroupTotals{target_name, std::string(profile->name), RunTotals{}, {}});
    for (const Trace& trace : loaded.traces) {
      if (!trace.profile.empty() && !model::pin_admits(trace.profile, *profile)) continue;
      RunOptions options;
      options.repeat = args.repeat;
      const TraceResult result = run_trace(trace, *profile, chosen.target.get(), options);
      group.totals.add(result);
      if (args.traces) group.traces.push_back(trace_outcome(args.corpus, trace, result));
      if (args.strict) run.hedged += format_hedged_steps(trace, result);
      if (!args.json && (!result.ok() || !result.not_run.empty() || args.verbose))
        run.output += format_result_text(trace, result);
    }
  }
  return run;
}

// Every target at once, up to `jobs` of them (each VM boots its own kernel);
// results come back in the order of `targets`, whatever order they finish in.
std::vector<TargetRun> run_targets(const std::vector<std::string>& targets,
                                   const ConformanceArgs& args) {
  std::vector<TargetRun> runs(targets.size());
  std::atomic<size_t> next{0}, finished{0};
  auto worker = [&] {
    for (size_t i = next++; i < targets.size(); i = next++) {
      runs[i] = run_target(targets[i], args);
      fmt::print(stderr, "conformance: {} done ({} of {} targets)\n", targets[i], ++finished,
                 targets.size());
    }
  };
  const unsigned jobs = std::clamp<unsigned>(args.jobs, 1, static_cast<unsigned>(targets.size()));
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  return runs;
}

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  const std::vector<std::string> header{"target", "profile",  "traces",    "failed",  "passed",
                                        "exact",  "envelope", "unchecked", "skipped", "diverged"};
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t c = 0; c < row.size(); ++c) {
      // Names left, numbers right, as a reader scans them.
      out += c < 2 ? fmt::format("{:<{}} ", row[c], width[c])
                   : fmt::format("{:>{}} ", row[c], width[c]);
    }
    out.back() = '\n';
    return out;
  };
  std::string table = line(header);
  for (const auto& row : rows) table += line(row);
  return table;
}

// The targets to run: those named, else every one available here (the others
// reported as SKIPPED), then one vm:VERSION per kernel --kernels chose.
bool choose_targets(const ConformanceArgs& args, std::vector<std::string>* targets,
                    std::string* skipped_targets) {
  *targets = args.targets;
  if (targets->empty()) {
    for (const TargetAvailability& t : known_targets()) {
      if (t.available) {
        targets->push_back(t.name);
      } else {
        *skipped_targets += fmt::format("SKIPPED target '{}': {}\n", t.name, t.why_not);
      }
    }
  }
  if (args.kernels.empty()) return true;
  std::vector<vm::KernelFiles> kernels;
  if (!resolve_kernels(args.kernels, &kernels)) return false;
  for (const vm::KernelFiles& k : kernels) targets->push_back(vm_target_name(k));
  return true;
}

int conformance(const ConformanceArgs& args) {
  namespace fs = std::filesystem;
  vm::set_loop_driver_choice(args.loop_driver);
  if (!args.profile.empty() && !model::find_profile(args.profile)) {
    fmt::print(stderr, "unknown profile '{}': `loopcheck profiles` lists them\n", args.profile);
    return kExitUsage;
  }
  if (!fs::is_directory(args.corpus)) {
    fmt::print(
        stderr,
        "{}: no conformance corpus here; pass --corpus DIR (the repository's corpus/conformance)\n",
        args.corpus);
    return kExitUsage;
  }
  std::vector<std::string> targets;
  std::string skipped_targets;
  if (!choose_targets(args, &targets, &skipped_targets)) return kExitUsage;
  if (!args.json) fmt::print("{}", skipped_targets);
  const std::vector<TargetRun> runs = run_targets(targets, args);
  RunTotals totals;
  std::vector<GroupTotals> groups;
  std::string hedged;
  bool usage_error = false;
  for (const TargetRun& run : runs) {
    fmt::print(run.usage_error ? stderr : stdout, "{}", run.output);
    usage_error = usage_error || run.usage_error;
    for (const GroupTotals& g : run.groups) totals.merge(g.totals);
    groups.insert(groups.end(), run.groups.begin(), run.groups.end());
    hedged += run.hedged;
  }
  if (usage_error) return kExitUsage;
  if (args.json) {
    print_json(groups, totals, args.strict, args.traces);
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const GroupTotals& g : groups) rows.push_back(table_row(g));
    fmt::print("\n{}{}\n{}", skipped_targets, format_table(rows), format_totals_text(totals));
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
  cmd->add_option("--repeat", args->repeat,
                  "Runs of each trace with a concurrent block (default: its `repeat=`; the "
                  "concurrency corpus is corpus/concurrency)")
      ->check(CLI::Range(1u, kMaxRepeat));
  cmd->add_option("--target", args->targets,
                  "Only these targets (repeatable; default: every available one)");
  cmd->add_option("--kernels", args->kernels,
                  "Also every Debian kernel named (comma-separated), 'cached' or 'all' "
                  "(`loopcheck kernels list`), or a bzImage path, each booted in QEMU; "
                  "fetched if missing");
  cmd->add_option("-j,--jobs", args->jobs,
                  "Targets run at once (each VM takes about one core under TCG)")
      ->capture_default_str();
  add_profile_option(cmd, &args->profile,
                     "Compare every target under this profile (default: a kernel's own; the "
                     "others, every profile)");
  add_loop_driver_options(cmd, &args->loop_driver);
  cmd->add_flag("-v,--verbose", args->verbose, "Print every trace, not only failures");
  cmd->add_flag("--strict", args->strict,
                "Fail unless every step passed exactly or was skipped (no envelope, no "
                "unpredictable bytes)");
  cmd->add_flag("--json", args->json, "Print the totals per target and profile as JSON");
  cmd->add_flag("--traces", args->traces,
                "With --json: each trace's result too (pass, hedged, "
                "fail with its located lines, skip)");
  cmd->callback([args, &action] { action = [args] { return conformance(*args); }; });
}

LOOPCHECK_COMMAND(5, add_conformance_command);

}  // namespace loopcheck::cli
