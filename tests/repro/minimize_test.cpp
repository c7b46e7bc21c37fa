// ddmin over statements: keeps the signature, drops statements whose variables'
// binders were dropped, reaches a 1-minimal trace, and respects its test budget.
#include <gtest/gtest.h>

#include "repro/minimize.h"
#include "trace/parse.h"
#include "trace/print.h"
#include "trace/validate.h"

namespace loopcheck {
namespace {

Trace parse(std::string_view text) {
  ParseResult r = parse_trace(text, "test");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.errors[0].format());
  return r.trace;
}

// "Fails" when the trace has a LOOP_SET_FD on a device fd and a pread after it.
fuzz::Finding fake_run(const Trace& t) {
  bool set_fd = false;
  for (size_t i = 0; i < t.stmts.size(); ++i) {
    const Op& op = t.stmts[i].op;
    if (op.kind == OpKind::Ioctl && op.req == Req::LoopSetFd) set_fd = true;
    if (set_fd && op.kind == OpKind::Pread) {
      fuzz::Finding f;
      f.kind = fuzz::Finding::Kind::Divergence;
      f.step = i;
      f.signature = "pread: model data 512, target EIO";
      return f;
    }
  }
  return {};
}

constexpr std::string_view kTrace = R"(@trace 1
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_GET_FREE
sysfs n size
d = open loop n rw
f = open file img rw
g = open file img ro
ioctl d BLKGETSIZE64
ioctl d LOOP_SET_FD f
ioctl d LOOP_GET_STATUS64
pwrite g 0 512 pattern=1
pread d 0 512 => 512
close g
ioctl d LOOP_CLR_FD
)";

TEST(Minimize, FindsTheOneMinimalTraceAndKeepsBindingsConsistent) {
  Trace t = parse(kTrace);
  MinimizeResult m = minimize(t, "pread: model data 512, target EIO", fake_run);
  ASSERT_TRUE(m.reproduced);
  EXPECT_EQ(m.finding.signature, "pread: model data 512, target EIO");
  // ctl, n, d, f, SET_FD, pread: nothing else is needed, and none of these can go.
  const std::string printed = print_trace(m.trace);
  EXPECT_EQ(m.trace.stmts.size(), 6u) << printed;
  EXPECT_EQ(printed.find("pwrite"), std::string::npos);
  EXPECT_EQ(printed.find("LOOP_CLR_FD"), std::string::npos)
      << "statements after the failure are gone";
  ParseResult again = parse_trace(printed, "minimized");
  EXPECT_TRUE(again.ok()) << printed;
  for (const Statement& s : m.trace.stmts)
    EXPECT_EQ(s.expect.count, 0) << "expectations are cleared";
}

// "Fails" when a pread at offset >= 4096 follows a SET_STATUS64 with autoclear.
fuzz::Finding fake_run_arguments(const Trace& t) {
  bool autoclear = false;
  for (size_t i = 0; i < t.stmts.size(); ++i) {
    const Op& op = t.stmts[i].op;
    if (op.kind == OpKind::Ioctl && op.req == Req::LoopSetStatus64)
      autoclear = (op.fields.get(Field::Flags) & kLoAutoclear) != 0;
    if (autoclear && op.kind == OpKind::Pread && op.offset.lit >= 4096) {
      fuzz::Finding f;
      f.kind = fuzz::Finding::Kind::Divergence;
      f.step = i;
      f.signature = "pread: model data 8192, target EIO";
      return f;
    }
  }
  return {};
}

TEST(Minimize, ShrinksNumbersToTheSimplestThatStillFail) {
  Trace t = parse(R"(@trace 1
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_GET_FREE
d = open loop n rw
ioctl d LOOP_SET_STATUS64 {offset=1000000 sizelimit=77777 flags=13}
pread d 65536 8192
)");
  MinimizeResult m = minimize(t, "pread: model data 8192, target EIO", fake_run_arguments);
  ASSERT_TRUE(m.reproduced);
  ASSERT_EQ(m.trace.stmts.size(), 5u) << print_trace(m.trace);
  const Op& status = m.trace.stmts[3].op;
  EXPECT_EQ(status.fields.get(Field::Offset), 0u);
  EXPECT_EQ(status.fields.get(Field::Sizelimit), 0u);
  EXPECT_EQ(status.fields.get(Field::Flags), uint64_t{kLoAutoclear})
      << "only the flag that matters is left";
  const Op& read = m.trace.stmts[4].op;
  EXPECT_EQ(read.offset.lit, 4096u) << "the simplest offset that still fails";
  EXPECT_EQ(read.length, 0u);
  EXPECT_EQ(m.finding.signature, "pread: model data 8192, target EIO");
}

TEST(Minimize, ATraceThatDoesNotFailIsReturnedUnreproduced) {
  Trace t = parse(kTrace);
  MinimizeResult m = minimize(t, "some other signature", fake_run);
  EXPECT_FALSE(m.reproduced);
  EXPECT_EQ(m.trace.stmts.size(), t.stmts.size());
  EXPECT_EQ(m.tests_run, 1u);
}

TEST(Minimize, StopsAtTheTestBudget) {
  Trace t = parse(kTrace);
  MinimizeResult m = minimize(t, "pread: model data 512, target EIO", fake_run, 3);
  EXPECT_TRUE(m.reproduced);
  EXPECT_LE(m.tests_run, 3u);
}

TEST(KeepStatements, DroppingABinderDropsItsReadersTransitively) {
  Trace t = parse(kTrace);
  std::vector<bool> keep(t.stmts.size(), true);
  keep[1] = false;  // n = GET_FREE: sysfs n, d = open loop n, and everything on d go
  Trace k = keep_statements(t, keep);
  const std::string printed = print_trace(k);
  EXPECT_EQ(printed.find("open loop n"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("LOOP_SET_FD"), std::string::npos) << printed;
  EXPECT_NE(printed.find("pwrite g"), std::string::npos) << "unrelated statements stay";
  EXPECT_TRUE(parse_trace(printed, "kept").ok()) << printed;
}

}  // namespace
}  // namespace loopcheck

namespace loopcheck {

TEST(MinimizeConcurrent, KeepingStatementsKeepsTheBlockValid) {
  ParseResult parsed = parse_trace(
      "@trace 2\n"
      "ctl = open loop-control rw\n"
      "n = ioctl ctl LOOP_CTL_ADD -1\n"
      "concurrent repeat=5\n"
      "thread a\n  ioctl ctl LOOP_CTL_REMOVE n\n"
      "thread b\n  d = open loop n rw\n  close d\n"
      "thread c\n  sysfs n size\n"
      "end\n"
      "allow a=* b=*,* c=*\n"
      "close ctl\n",
      "block.trace");
  ASSERT_TRUE(parsed.ok());
  const Trace& t = parsed.trace;
  // Thread c's only statement goes: two threads are left, renumbered.
  std::vector<bool> keep(t.stmts.size(), true);
  keep[5] = false;
  Trace k = keep_statements(t, keep);
  EXPECT_TRUE(validate(k).empty()) << validate(k).front().message;
  ASSERT_EQ(k.blocks.size(), 1u);
  EXPECT_EQ(k.blocks[0].first, 2u);
  EXPECT_EQ(k.blocks[0].end, 5u);
  EXPECT_EQ(k.blocks[0].threads, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(k.blocks[0].repeat, 5u);
  EXPECT_TRUE(k.blocks[0].allowed.empty());  // expectations go with dropped statements
  // The opener's open goes (and its close, which reads d): one thread is left,
  // whose statement then runs in order.
  keep.assign(t.stmts.size(), true);
  keep[3] = false;
  keep[5] = false;
  Trace one = keep_statements(t, keep);
  EXPECT_TRUE(validate(one).empty()) << validate(one).front().message;
  EXPECT_TRUE(one.blocks.empty());
  for (const Statement& st : one.stmts) EXPECT_EQ(st.thread, 0);
  // A statement before the block goes: the block moves up.
  keep.assign(t.stmts.size(), true);
  keep[0] = false;  // ctl: everything reading it goes too
  Trace none = keep_statements(t, keep);
  EXPECT_TRUE(validate(none).empty());
}

}  // namespace loopcheck
