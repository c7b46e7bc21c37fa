#include "trace/bind.h"

#include <cassert>

namespace loopcheck {
namespace {

Value bound(const Value& v, std::span<const int64_t> vars) {
  if (v.is_literal()) return v;
  assert(v.var < vars.size());
  if (v.var >= vars.size()) return v;  // release builds: leave it for the caller to notice
  return Value::signed_literal(vars[v.var]);
}

}  // namespace

Op bind_op(const Op& op, std::span<const int64_t> vars) {
  Op out = op;
  out.subject = bound(op.subject, vars);
  out.arg = bound(op.arg, vars);
  out.offset = bound(op.offset, vars);
  for (int i = 0; i < kFieldCount; ++i)
    if (out.fields.has(static_cast<Field>(i)))
      out.fields.value[static_cast<size_t>(i)] =
          bound(op.fields.value[static_cast<size_t>(i)], vars);
  return out;
}

bool op_is_literal(const Op& op) {
  if (!op.subject.is_literal() || !op.arg.is_literal() || !op.offset.is_literal()) return false;
  for (int i = 0; i < kFieldCount; ++i)
    if (op.fields.has(static_cast<Field>(i)) &&
        !op.fields.value[static_cast<size_t>(i)].is_literal())
      return false;
  return true;
}

uint64_t op_var_mask(const Op& op) {
  static_assert(kMaxVars <= 64, "one bit per variable slot");
  uint64_t mask = 0;
  auto add = [&mask](const Value& v) {
    if (!v.is_literal() && v.var < static_cast<size_t>(kMaxVars)) mask |= uint64_t{1} << v.var;
  };
  add(op.subject);
  add(op.arg);
  add(op.offset);
  for (int i = 0; i < kFieldCount; ++i)
    if (op.fields.has(static_cast<Field>(i))) add(op.fields.value[static_cast<size_t>(i)]);
  return mask;
}

}  // namespace loopcheck
