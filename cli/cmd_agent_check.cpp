// `loopcheck agent-check --target T`: the protocol conformance suite for agents
// (cli/agent_check.h, docs/agent-protocol.md "Checking an agent").
#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "cli/agent_check.h"
#include "cli/commands.h"
#include "cli/loop_driver_options.h"

#ifndef LOOPCHECK_CORPUS_DIR
#define LOOPCHECK_CORPUS_DIR "corpus"
#endif

namespace loopcheck::cli {
namespace {

struct AgentCheckArgs {
  agentcheck::Options options;
  vm::LoopDriverChoice loop_driver;  // --loop-ko / --modules, for vm: targets
};

int agent_check(const AgentCheckArgs& args) {
  vm::set_loop_driver_choice(args.loop_driver);
  const auto begun = std::chrono::steady_clock::now();
  fmt::print("agent-check {}\n", args.options.target);
  std::fflush(stdout);
  const agentcheck::Report report =
      agentcheck::run_agent_check(args.options, [](const agentcheck::CheckResult& c) {
        fmt::print("{} {:<26} {:6.2f} s  {}\n", agentcheck::verdict_name(c.verdict), c.name,
                   c.seconds, c.detail);
        std::fflush(stdout);
      });
  if (!report.error.empty()) {
    fmt::print(stderr, "{}\n", report.error);
    return kExitUsage;
  }
  size_t counts[3] = {};
  for (const agentcheck::CheckResult& c : report.checks) ++counts[static_cast<int>(c.verdict)];
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  fmt::print("{} passed, {} failed, {} skipped in {:.1f} s\n", counts[0], counts[1], counts[2],
             seconds);
  if (counts[2] > 0)
    fmt::print(stderr, "agent-check: {} check(s) SKIPPED (see above)\n", counts[2]);
  return report.passed() ? kExitPass : kExitFail;
}

}  // namespace

void add_agent_check_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<AgentCheckArgs>();
  args->options.corpus_dir = LOOPCHECK_CORPUS_DIR;
  CLI::App* cmd = app.add_subcommand(
      "agent-check",
      "Check that an agent speaks docs/agent-protocol.md: handshake, every frame, operations, "
      "reset, malformed frames, concurrent blocks, corpus traces beside the model");
  cmd->add_option("--target", args->options.target,
                  "exec:CMD | serial:PATH | vm:VERSION | vm:PATH/TO/bzImage")
      ->required();
  cmd->add_option("--corpus", args->options.corpus_dir, "The corpus directory")
      ->capture_default_str();
  add_loop_driver_options(cmd, &args->loop_driver);
  cmd->callback([args, &action] { action = [args] { return agent_check(*args); }; });
}

LOOPCHECK_COMMAND(95, add_agent_check_command);

}  // namespace loopcheck::cli
