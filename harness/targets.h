// Making a target from its command-line name ("model", "inproc", ...).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/target.h"

namespace loopcheck {

struct TargetChoice {
  bool ok = false;
  std::unique_ptr<Target> target;  // null for "model": the model runs alone
  std::string error;               // names the problem and the fix
};

TargetChoice make_target(std::string_view name);

// Every target that can run on this machine, in a stable order ("model" first).
std::vector<std::string> available_targets();

}  // namespace loopcheck
