// Each `loopcheck` subcommand registers itself on the CLI11 app; after parsing,
// the chosen one runs and returns the process exit code:
// 0 = everything passed, 1 = a check failed, 2 = usage, parse or environment error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace loopcheck::cli {

inline constexpr int kExitPass = 0;
inline constexpr int kExitFail = 1;
inline constexpr int kExitUsage = 2;

using Action = std::function<int()>;

// Adds the subcommand; `action` is set to its body when the user chose it.
void add_run_command(CLI::App& app, Action& action);
void add_record_command(CLI::App& app, Action& action);
void add_conformance_command(CLI::App& app, Action& action);
void add_gen_command(CLI::App& app, Action& action);

}  // namespace loopcheck::cli
