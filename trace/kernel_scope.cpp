#include "trace/kernel_scope.h"

namespace loopcheck {

bool needs_exclusive_kernel(const Trace& trace) {
  for (const Statement& stmt : trace.stmts) {
    const Op& op = stmt.op;
    if (op.kind != OpKind::Ioctl) continue;
    if (op.req == Req::LoopCtlGetFree) return true;
    if ((op.req == Req::LoopCtlAdd || op.req == Req::LoopCtlRemove) &&
        op.arg_kind == ArgKind::Number && op.arg.is_literal() && op.arg.as_signed() >= 0) {
      return true;
    }
  }
  return false;
}

}  // namespace loopcheck
