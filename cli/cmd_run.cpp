// `loopcheck run --target T [--profile P] [--json] [--no-expect] [--strict] TRACE...`
#include <fmt/format.h>

#include <cstdio>
#include <utility>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "cli/loop_driver_options.h"
#include "cli/profile_choice.h"
#include "cli/strict.h"
#include "fuzz/findings.h"
#include "oracle/concurrent_runner.h"
#include "oracle/parallel_run.h"
#include "oracle/report.h"
#include "oracle/runner.h"
#include "targets/registry.h"
#include "trace/trace_files.h"

namespace loopcheck::cli {
namespace {

struct RunArgs {
  std::string target = "model";
  std::string profile;
  bool json = false;
  bool no_expect = false;
  bool strict = false;  // only exact passes and skips exit 0
  unsigned jobs = 1;
  uint32_t repeat = 0;   // concurrent blocks: runs per trace (0: the trace's repeat=)
  std::string findings;  // --findings: where unexplained histories are stored
  std::vector<std::string> paths;
  vm::LoopDriverChoice loop_driver;  // --loop-ko / --modules
};

// The whole run as one JSON document: totals, step classes, then each trace.
void print_run_json(const RunArgs& args, const RunTotals& totals, nlohmann::ordered_json traces) {
  nlohmann::ordered_json j;
  j["target"] = args.target;
  j["passed"] = totals.passed;
  j["failed"] = totals.failed;
  j["not_applicable"] = totals.not_applicable;
  j["steps_passed"] = totals.steps_passed;
  j["steps_skipped"] = totals.steps_skipped;
  j["divergences"] = totals.divergences;
  j["expectation_failures"] = totals.expectation_failures;
  j.update(totals_json(totals));
  j["strict"] = args.strict;
  j["traces"] = std::move(traces);
  fmt::print("{}\n", j.dump(2));
}

// Each distinct unexplained history of a concurrent trace as a finding under
// DIR/TARGET/: the trace, with the history in its header (fuzz/findings.h), so
// `findings check`, `minimize` and `triage` take it like any other.
void store_histories(const RunArgs& args, const Trace& trace, const TraceResult& result) {
  if (args.findings.empty() || !result.concurrent) return;
  const std::string origin = fmt::format("loopcheck run --target {} --repeat {}", args.target,
                                         result.concurrent->repetitions);
  for (const UnexplainedHistory& h : result.concurrent->histories) {
    fuzz::Finding f;
    f.kind = fuzz::Finding::Kind::Divergence;
    f.step = trace.stmts.size() - 1;
    f.signature = h.signature;
    f.detail = format_unexplained_history(trace, h);
    const std::string path =
        fuzz::store_finding(args.findings + "/" + args.target, trace, f, origin);
    if (!path.empty()) fmt::print("stored finding {}\n", path);
  }
}

int run(const RunArgs& args) {
  vm::set_loop_driver_choice(args.loop_driver);
  LoadedTraces loaded = load_traces(args.paths);
  if (!loaded.ok()) {
    // Nothing runs when any trace is malformed: a half-run corpus reads as a pass.
    for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "no trace was run: fix the errors above\n");
    return kExitUsage;
  }
  TargetChoice chosen = make_target(args.target);
  if (!chosen.ok) {
    fmt::print(stderr, "{}\n", chosen.error);
    return kExitUsage;
  }
  RunOptions options;
  options.check_expectations = !args.no_expect;
  options.repeat = args.repeat;
  RunTotals totals;
  std::string hedged;  // --strict: the steps that passed only inside an envelope
  nlohmann::ordered_json json_traces = nlohmann::ordered_json::array();
  std::vector<PlannedRun> planned;
  for (const Trace& trace : loaded.traces) {
    ProfileChoice profile = choose_profile(args.profile, trace, chosen);
    if (profile.not_applicable) {
      fmt::print("SKIP {} (pinned to {}; this kernel is {})\n", trace.source, trace.profile,
                 chosen.native_profile->name);
      ++totals.not_applicable;
      continue;
    }
    if (!profile.profile) {
      fmt::print(stderr, "{}\n", profile.error);
      return kExitUsage;
    }
    // On a real kernel, traces that look at global loop state run alone.
    planned.push_back(
        PlannedRun{&trace, profile.profile, chosen.shared_kernel && needs_exclusive_kernel(trace)});
  }
  chosen = TargetChoice{};  // each worker makes its own target instance
  std::string error;
  bool started = run_traces_parallel(
      planned, args.target, args.jobs, options,
      [&](size_t i, const TraceResult& result) {
        totals.add(result);
        store_histories(args, *planned[i].trace, result);
        if (args.strict) hedged += format_hedged_steps(*planned[i].trace, result);
        if (args.json) {
          json_traces.push_back(result_json(*planned[i].trace, result));
        } else {
          fmt::print("{}", format_result_text(*planned[i].trace, result));
          std::fflush(stdout);
        }
      },
      &error);
  if (!started) {
    fmt::print(stderr, "{}\n", error);
    return kExitUsage;
  }
  if (args.json) {
    print_run_json(args, totals, std::move(json_traces));
  } else {
    fmt::print("{}", format_totals_text(totals));
  }
  return strict_exit_code(totals, args.strict, hedged);
}

}  // namespace

void add_run_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd =
      app.add_subcommand("run", "Run traces on a target beside the model and compare every step");
  cmd->add_option(
         "--target", args->target,
         "model | inproc | host | vm:VERSION | vm:PATH/TO/bzImage | exec:CMD | serial:PATH")
      ->capture_default_str();
  add_profile_option(cmd, &args->profile,
                     "a profile or series from `loopcheck profiles` (overrides @profile)");
  cmd->add_flag("--json", args->json, "Print results as JSON");
  cmd->add_flag("--no-expect", args->no_expect,
                "Ignore written expectations: compare target with model only");
  cmd->add_flag("--strict", args->strict,
                "Fail unless every step passed exactly or was skipped (no envelope, no "
                "unpredictable bytes)");
  cmd->add_option("-j,--jobs", args->jobs,
                  "Run traces on this many target instances at once (output stays in order)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--repeat", args->repeat,
                  "Runs of each trace with a concurrent block (default: its `repeat=`)")
      ->check(CLI::Range(1u, kMaxRepeat));
  cmd->add_option("--findings", args->findings,
                  "Store each unexplained history of a concurrent trace as a finding under "
                  "DIR/TARGET/");
  cmd->add_option("traces", args->paths, "Trace files or directories of *.trace")->required();
  add_loop_driver_options(cmd, &args->loop_driver);
  cmd->callback([args, &action] { action = [args] { return run(*args); }; });
}

LOOPCHECK_COMMAND(10, add_run_command);

}  // namespace loopcheck::cli
