// Binding variables to a target's literal values.
#include <gtest/gtest.h>

#include <vector>

#include "trace/bind.h"
#include "trace/ops.h"
#include "trace/parse.h"

using namespace loopcheck;

TEST(TraceBind, ReplacesEveryVariable) {
  ParseResult r = parse_trace(
      "@trace 1\nf = open loop-control rw\nn = ioctl f LOOP_CTL_ADD 3\n"
      "ioctl f LOOP_CONFIGURE {fd=f number=n offset=4096}\n",
      "b.trace");
  ASSERT_TRUE(r.ok());
  const Op& cfg = r.trace.stmts[2].op;
  EXPECT_FALSE(op_is_literal(cfg));
  std::vector<int64_t> vars{5, -1};
  Op bound = bind_op(cfg, vars);
  EXPECT_TRUE(op_is_literal(bound));
  EXPECT_EQ(bound.subject, Value::literal(5));
  EXPECT_EQ(bound.fields.value[static_cast<int>(Field::Fd)], Value::literal(5));
  EXPECT_EQ(bound.fields.value[static_cast<int>(Field::Number)], Value::signed_literal(-1));
  EXPECT_EQ(bound.fields.get(Field::Offset), 4096u);  // literals untouched
  // Everything else is a plain copy.
  bound.subject = cfg.subject;
  bound.fields = cfg.fields;
  EXPECT_EQ(bound, cfg);
}

TEST(TraceBind, LiteralOpsAreUnchanged) {
  Op op = op_pwrite(Value::literal(3), -8, 512, 9);
  EXPECT_TRUE(op_is_literal(op));
  EXPECT_EQ(bind_op(op, {}), op);
  Op withvar = op_ioctl(Value::variable(0), Req::LoopSetFd, Value::variable(1));
  EXPECT_FALSE(op_is_literal(withvar));
  std::vector<int64_t> vars{10, 11};
  EXPECT_EQ(bind_op(withvar, vars),
            op_ioctl(Value::literal(10), Req::LoopSetFd, Value::literal(11)));
}
