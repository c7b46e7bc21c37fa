#include <algorithm>
#include <utility>
#include <vector>

#include "cli/commands.h"

namespace loopcheck::cli {
namespace {

// Function-local, so registrations from other translation units' static
// initialisers never see it unconstructed.
std::vector<std::pair<int, AddCommand>>& registry() {
  static std::vector<std::pair<int, AddCommand>> commands;
  return commands;
}

}  // namespace

CommandRegistration::CommandRegistration(int order, AddCommand add) {
  registry().emplace_back(order, add);
}

void add_registered_commands(CLI::App& app, Action& action) {
  std::vector<std::pair<int, AddCommand>> sorted = registry();
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, add] : sorted) add(app, action);
}

}  // namespace loopcheck::cli
