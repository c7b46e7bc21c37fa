// `loopcheck record --target T [--profile P] TRACE`: prints the trace back with
// every statement's observed outcome as its expectation (canonical form).
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "cli/loop_driver_options.h"
#include "cli/profile_choice.h"
#include "oracle/recorded_expectation.h"
#include "oracle/report.h"
#include "oracle/runner.h"
#include "targets/registry.h"
#include "trace/trace_files.h"
#include "trace/print.h"

namespace loopcheck::cli {
namespace {

struct RecordArgs {
  std::string target = "model";
  std::string profile;
  std::string path;
  vm::LoopDriverChoice loop_driver;  // --loop-ko / --modules
};

int record(const RecordArgs& args) {
  vm::set_loop_driver_choice(args.loop_driver);
  LoadedTraces loaded = load_traces({args.path});
  if (!loaded.ok() || loaded.traces.size() != 1) {
    for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    if (loaded.ok()) fmt::print(stderr, "{}: record takes exactly one trace file\n", args.path);
    return kExitUsage;
  }
  TargetChoice chosen = make_target(args.target);
  if (!chosen.ok) {
    fmt::print(stderr, "{}\n", chosen.error);
    return kExitUsage;
  }
  Trace trace = loaded.traces.front();
  ProfileChoice profile = choose_profile(args.profile, trace, chosen);
  if (profile.not_applicable) {
    fmt::print(stderr, "{}: pinned to {}, but this kernel is {}; pass --profile to record anyway\n",
               trace.source, trace.profile, chosen.native_profile->name);
    return kExitUsage;
  }
  if (!profile.profile) {
    fmt::print(stderr, "{}\n", profile.error);
    return kExitUsage;
  }
  RunOptions options;
  options.check_expectations = false;
  TraceResult result = run_trace(trace, *profile.profile, chosen.target.get(), options);
  if (!result.ok()) {
    // A recording of a run that diverged from the model would bless the divergence.
    fmt::print(stderr, "{}", format_result_text(trace, result));
    fmt::print(stderr, "not recorded: the target diverged from the model\n");
    return kExitFail;
  }
  for (const StepResult& step : result.steps) {
    Expectation& e = trace.stmts[step.index].expect;
    e = Expectation{};
    if (step.verdict != StepVerdict::Pass) continue;  // skipped steps stay unexpected
    e = recorded_expectation(step, chosen.target != nullptr);
  }
  fmt::print("{}", print_trace(trace));
  return kExitPass;
}

}  // namespace

void add_record_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<RecordArgs>();
  CLI::App* cmd =
      app.add_subcommand("record", "Print a trace with the observed outcomes as its expectations");
  cmd->add_option("--target", args->target,
                  "model | inproc | host | vm:VERSION | vm:PATH/TO/bzImage")
      ->capture_default_str();
  add_profile_option(cmd, &args->profile,
                     "a profile or series from `loopcheck profiles` (overrides @profile)");
  cmd->add_option("trace", args->path, "One trace file")->required();
  add_loop_driver_options(cmd, &args->loop_driver);
  cmd->callback([args, &action] { action = [args] { return record(*args); }; });
}

LOOPCHECK_COMMAND(20, add_record_command);

}  // namespace loopcheck::cli
