// A step whose inputs the target skipped is itself skipped, on both sides: it is
// never run on a stand-in value. On the host target a claim check can refuse
// `d = open loop n` (another process holds the device); every later step on `d`
// would otherwise run on fd -1 and "diverge" with EBADF.
#include <gtest/gtest.h>

#include <vector>

#include "model/profile.h"
#include "oracle/runner.h"
#include "targets/inproc/inproc_target.h"
#include "trace/parse.h"

namespace loopcheck {
namespace {

// The in-process driver, except that it refuses to open loop devices the way
// the host target refuses a device it cannot claim. Records what reached it.
class RefusesLoopOpens : public Target {
 public:
  std::string_view name() const override { return "inproc-refusing-loop-opens"; }
  TargetError start(const Trace& t, std::string_view p, const Env& e) override {
    return inner_.start(t, p, e);
  }
  Outcome execute(const Op& op) override {
    if (op.kind == OpKind::Open && op.node == Node::Loop) return Outcome::skipped();
    received.push_back(op);
    return inner_.execute(op);
  }
  std::span<const uint8_t> last_read() const override { return inner_.last_read(); }
  void finish() override { inner_.finish(); }

  std::vector<Op> received;

 private:
  inproc::InprocTarget inner_;
};

constexpr const char* kTrace = R"(@trace 1
file img size=4K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f
e = open file img ro
pread d 0 512
close d
close f
close e
ioctl ctl LOOP_CTL_REMOVE n
)";

TEST(SkippedInputs, StepsReadingASkippedVariableAreSkippedNotRun) {
  ParseResult parsed = parse_trace(kTrace, "skipped_inputs");
  ASSERT_TRUE(parsed.ok()) << parsed.errors.front().format();
  RefusesLoopOpens target;
  TraceResult r =
      run_trace(parsed.trace, *model::find_profile("linux-6.18"), &target, RunOptions{});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.steps.size(), 11u);
  // `d = open loop n`, `ioctl d LOOP_SET_FD f`, `pread d`, `close d`: skipped.
  for (size_t i : {2u, 4u, 6u, 7u}) {
    EXPECT_EQ(r.steps[i].verdict, StepVerdict::Skipped) << "step " << i;
  }
  // Steps that do not read `d` still run and agree with the model.
  for (size_t i : {0u, 1u, 3u, 5u, 8u, 9u, 10u}) {
    EXPECT_EQ(r.steps[i].verdict, StepVerdict::Pass) << "step " << i << ": " << r.steps[i].detail;
  }
  EXPECT_EQ(r.skipped, 4u);
  EXPECT_EQ(r.divergences, 0u);
  for (const Op& op : target.received) {
    EXPECT_NE(op.kind, OpKind::Pread) << "a step on the skipped fd reached the target";
    EXPECT_FALSE(op.kind == OpKind::Ioctl && op.req == Req::LoopSetFd);
  }
}

TEST(SkippedInputs, ARebindingAfterASkipRunsAgain) {
  ParseResult parsed = parse_trace(R"(@trace 1
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
d = open loop-control rw
ioctl d LOOP_CTL_GET_FREE
close d
close ctl
)",
                                   "rebinding");
  ASSERT_TRUE(parsed.ok()) << parsed.errors.front().format();
  RefusesLoopOpens target;
  TraceResult r =
      run_trace(parsed.trace, *model::find_profile("linux-6.18"), &target, RunOptions{});
  ASSERT_EQ(r.steps.size(), 7u);
  EXPECT_EQ(r.steps[2].verdict, StepVerdict::Skipped);
  // `d` is bound again by a step that ran: what reads it runs too.
  EXPECT_EQ(r.steps[4].verdict, StepVerdict::Pass) << r.steps[4].detail;
  EXPECT_EQ(r.steps[5].verdict, StepVerdict::Pass) << r.steps[5].detail;
}

}  // namespace
}  // namespace loopcheck
