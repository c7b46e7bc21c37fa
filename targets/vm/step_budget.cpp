#include "targets/vm/step_budget.h"

#include <algorithm>
#include <cstdint>

namespace loopcheck::vm {

bool is_slow_step(const Op& op) {
  switch (op.kind) {
    case OpKind::Fsync:
    case OpKind::Fallocate:  // truncates the cache, then zeroes or discards
    case OpKind::Close:      // the last close of an autoclear device detaches it
      return true;
    case OpKind::Ioctl:
      switch (op.req) {
        case Req::LoopSetFd:
        case Req::LoopClrFd:
        case Req::LoopSetStatus:
        case Req::LoopSetStatus64:
        case Req::LoopChangeFd:
        case Req::LoopSetCapacity:
        case Req::LoopSetDirectIo:
        case Req::LoopSetBlockSize:
        case Req::LoopConfigure:
        case Req::LoopCtlAdd:
        case Req::LoopCtlRemove:
        case Req::BlkFlsBuf:
        case Req::BlkDiscard:
        case Req::BlkZeroout:
        case Req::Unknown:
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}

int step_budget_ms(const Op& op, int base_ms) {
  return is_slow_step(op) ? base_ms * kSlowStepFactor : base_ms;
}

int program_budget_ms(std::span<const PlannedStatement> statements, int base_ms, int reset_ms) {
  int64_t largest_ms = 0;
  for (const PlannedStatement& s : statements)
    largest_ms = std::max<int64_t>(largest_ms, step_budget_ms(s.op, base_ms));
  const int64_t total_ms = int64_t{reset_ms} + largest_ms +
                           int64_t{base_ms / kPlannedStatementShare} * std::ssize(statements);
  return static_cast<int>(std::min<int64_t>(total_ms, INT32_MAX));
}

}  // namespace loopcheck::vm
