// Checking outcomes against written expectations.
#pragma once

#include <cstdint>
#include <span>

#include "trace/trace.h"

namespace loopcheck {

// Whether one alternative accepts the outcome. `bytes` are the bytes a target
// really read; when empty, the outcome's own description (Outcome::data, as the
// model produces) or digest stands for them. A skipped outcome matches nothing:
// a skipped step never counts as a pass.
bool outcome_matches(const ExpectAlt& alt, const Outcome& outcome, std::span<const uint8_t> bytes);

// True when any alternative matches, or when there is no written expectation.
bool expectation_matches(const Expectation& expect, const Outcome& outcome,
                         std::span<const uint8_t> bytes);

}  // namespace loopcheck
