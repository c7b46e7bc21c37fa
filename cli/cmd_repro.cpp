// `loopcheck repro TRACE > repro.c`: the trace as a standalone C program that
// checks the running kernel against the trace's expectations (repro/c_reproducer.h).
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "trace/trace_files.h"
#include "repro/c_reproducer.h"

namespace loopcheck::cli {
namespace {

int repro(const std::string& path) {
  LoadedTraces loaded = load_traces({path});
  if (!loaded.ok() || loaded.traces.size() != 1) {
    for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "repro takes exactly one valid trace file\n");
    return kExitUsage;
  }
  fmt::print("{}", vm::write_c_reproducer(loaded.traces.front()));
  return kExitPass;
}

}  // namespace

void add_repro_command(CLI::App& app, Action& action) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("repro", "Write TRACE as a standalone C reproducer (libc only) to stdout");
  cmd->add_option("trace", *path, "The trace file")->required();
  cmd->callback([path, &action] { action = [path] { return repro(*path); }; });
}

LOOPCHECK_COMMAND(70, add_repro_command);

}  // namespace loopcheck::cli
