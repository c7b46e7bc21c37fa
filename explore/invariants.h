// Invariants that hold in every state the explorer can reach, on top of the
// model's own (check_invariants): facts that only hold because the explorer's
// alphabet never changes a backing file's size (no truncate, no writes), so the
// RapidCheck property over all operations could not assert them.
#pragma once

#include <string>

#include "model/state.h"

namespace loopcheck::model {

// False, with the reason in *why, when one is violated (docs/invariants.md,
// "Explorer invariants").
bool check_explore_invariants(const State& s, std::string* why);

}  // namespace loopcheck::model
