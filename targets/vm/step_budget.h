// How long the host waits for the guest before it calls a step hung, and where
// the per-step base comes from. The slow control ioctls (they freeze the queue,
// sync and invalidate the cache: ~16 ms on the host, tens under TCG, and more on
// a loaded machine) get a multiple of the base; a planned program gets the sum
// of its statements' budgets plus the guest's reset.
#pragma once

#include <span>

#include "targets/target.h"
#include "trace/trace.h"

namespace loopcheck::vm {

inline constexpr int kDefaultStepBaseMs = 4000;  // data steps take milliseconds under TCG
inline constexpr int kSlowStepFactor = 3;        // control ioctls, fsync, a last close
inline constexpr int kMinStepBaseMs = 100;
inline constexpr int kMaxStepBaseMs = 600000;

// Whether `op` may write back and invalidate a device's cache or tear a device
// down: the steps whose budget is kSlowStepFactor times the base.
bool is_slow_step(const Op& op);

int step_budget_ms(const Op& op, int base_ms);

// A planned program runs in one round trip, so the host cannot tell which
// statement hangs: it allows the largest single budget among them (the one that
// may hang), base_ms / kPlannedStatementShare for each statement (they take
// milliseconds: 250 ms each at the default base), and `reset_ms` for the
// guest's reset and clean check after them.
inline constexpr int kPlannedStatementShare = 16;
int program_budget_ms(std::span<const PlannedStatement> statements, int base_ms, int reset_ms);

}  // namespace loopcheck::vm
