// Variables -> literals. Targets only ever see literal Ops; the runner keeps one
// value per variable slot (in that target's own terms: its fds, its device
// indices) and binds each Op just before executing it.
#pragma once

#include <cstdint>
#include <span>

#include "trace/trace.h"

namespace loopcheck {

// A copy of `op` with every Value::Var (subject, arg, offset, struct fields)
// replaced by the literal vars[slot]. Precondition: every slot is < vars.size().
Op bind_op(const Op& op, std::span<const int64_t> vars);

// What a variable holds after the statement that binds it returned `o`: the
// value (an fd, a device index), or -1 when the call failed (an fd no target
// owns, never a real fd 0).
inline int64_t bound_value(const Outcome& o) {
  return o.kind == Outcome::Kind::Value ? o.value : -1;
}

// True when `op` contains no variable references.
bool op_is_literal(const Op& op);

// The variable slots `op` reads, as a bit mask (bit i: slot i; kMaxVars is 64).
uint64_t op_var_mask(const Op& op);

}  // namespace loopcheck
