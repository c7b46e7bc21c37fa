// Abstract state classes for the lifecycle graph and the generated suite: what a
// state looks like from the lifecycle's point of view, per device in index order —
// Unbound / Bound / Rundown, how many openers (0, 1, 2+), AUTOCLEAR, read-only,
// and whether the backing is another loop device. Packed into 64 bits (8 per
// device, kMaxScopeDevices devices), 0 = no device at all.
#pragma once

#include <cstdint>
#include <string>

#include "model/state.h"

namespace loopcheck::model {

using AbstractClass = uint64_t;

AbstractClass abstract_class(const State& s);

// "none", or one item per device: "U0", "B1 ac ro", "R2+ loop"...
std::string abstract_class_name(AbstractClass c);

}  // namespace loopcheck::model
