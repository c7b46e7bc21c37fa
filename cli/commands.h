// Each `loopcheck` subcommand lives in its own cli/cmd_*.cpp and registers
// itself with LOOPCHECK_COMMAND, so adding a command touches no shared file.
// After parsing, the chosen command's action runs and returns the exit code:
// 0 = everything passed, 1 = a check failed, 2 = usage, parse or environment error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace loopcheck::cli {

inline constexpr int kExitPass = 0;
inline constexpr int kExitFail = 1;
inline constexpr int kExitUsage = 2;

using Action = std::function<int()>;

// Adds the subcommand to `app`; sets `action` to its body when the user chose it.
using AddCommand = void (*)(CLI::App& app, Action& action);

// Registers a command; `order` fixes where it appears in --help (lower first).
struct CommandRegistration {
  CommandRegistration(int order, AddCommand add);
};

// Every registered command, in order.
void add_registered_commands(CLI::App& app, Action& action);

}  // namespace loopcheck::cli

#define LOOPCHECK_COMMAND(order, add_function)       \
  static const ::loopcheck::cli::CommandRegistration \
      loopcheck_command_registration_##add_function(order, add_function)
