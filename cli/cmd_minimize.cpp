// `loopcheck minimize TRACE --target T [--profile P] [--signature S]`: delta
// debugging over the trace's statements that keeps the same failure signature
// (operation, model outcome, target outcome); prints the smallest trace found.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "cli/profile_choice.h"
#include "fuzz/findings.h"
#include "repro/minimize.h"
#include "targets/registry.h"
#include "trace/trace_files.h"

namespace loopcheck::cli {
namespace {

struct MinimizeArgs {
  std::string target = "inproc";
  std::string profile;
  std::string signature;
  std::string path;
  size_t max_tests = 5000;
};

int minimize_command(const MinimizeArgs& args) {
  LoadedTraces loaded = load_traces({args.path});
  if (!loaded.ok() || loaded.traces.size() != 1) {
    for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    if (loaded.ok()) fmt::print(stderr, "{}: minimize takes exactly one trace file\n", args.path);
    return kExitUsage;
  }
  const Trace& trace = loaded.traces[0];
  TargetChoice chosen = make_target(args.target);
  if (!chosen.ok) {
    fmt::print(stderr, "{}\n", chosen.error);
    return kExitUsage;
  }
  ProfileChoice profile = choose_profile(args.profile, trace, chosen);
  if (profile.not_applicable) {
    fmt::print(stderr, "{}: pinned to {}; this kernel is {}\n", trace.source, trace.profile,
               chosen.native_profile->name);
    return kExitUsage;
  }
  if (!profile.profile) {
    fmt::print(stderr, "{}\n", profile.error);
    return kExitUsage;
  }
  fuzz::ProgramRunner runner(chosen.target.get());
  auto run = [&](const Trace& t) { return runner.run(t, *profile.profile); };
  std::string signature = args.signature;
  if (signature.empty()) {
    fuzz::Finding first = run(trace);
    if (!first) {
      fmt::print(stderr, "{}: passes on {} under {}: nothing to minimize\n", trace.source,
                 args.target, profile.profile->name);
      return kExitFail;
    }
    signature = first.signature;
  }
  MinimizeResult m = minimize(trace, signature, run, args.max_tests);
  if (!m.reproduced) {
    fmt::print(stderr, "{}: does not fail with signature '{}' on {}\n", trace.source, signature,
               args.target);
    return kExitFail;
  }
  fmt::print(stderr, "minimize: {} -> {} statements in {} runs\n", trace.stmts.size(),
             m.trace.stmts.size(), m.tests_run);
  Trace out = m.trace;
  out.profile = std::string(profile.profile->name);
  fmt::print("{}", fuzz::finding_file_text(
                       out, m.finding,
                       fmt::format("loopcheck minimize --target {} {}", args.target, args.path)));
  return kExitPass;
}

}  // namespace

void add_minimize_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<MinimizeArgs>();
  CLI::App* cmd =
      app.add_subcommand("minimize", "Shrink a failing trace, keeping its failure signature");
  cmd->add_option("trace", args->path, "The failing trace")->required();
  cmd->add_option("--target", args->target, "model | inproc | host")->capture_default_str();
  add_profile_option(cmd, &args->profile, "Profile (overrides @profile)");
  cmd->add_option("--signature", args->signature,
                  "Keep this signature (default: the trace's first failure)");
  cmd->add_option("--max-tests", args->max_tests, "Candidates to try at most")
      ->capture_default_str();
  cmd->callback([args, &action] { action = [args] { return minimize_command(*args); }; });
}

LOOPCHECK_COMMAND(45, add_minimize_command);

}  // namespace loopcheck::cli
