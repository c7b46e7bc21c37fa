// Lockstep: each side keeps its own variable values (its own fds), outcomes are
// compared and reported in the model's names, freed names are forgotten, written
// expectations are checked on top, and a step the target skips is never a pass.
#include "oracle/lockstep.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "model/profile.h"
#include "targets/inproc/inproc_target.h"
#include "trace/parse.h"

namespace loopcheck {
namespace {

// The in-process target, seen through fd numbers of its own: every fd it opens
// gets a fresh number from 100 up and no number is ever reused, as on a machine
// where other files come and go. Statements numbered in `skip` (0-based, in
// execution order) are not performed, as the host target refuses a foreign device.
class RenumberingTarget final : public Target {
 public:
  std::string_view name() const override { return "renumbered-inproc"; }
  TargetError start(const Trace& trace, std::string_view profile, const Env& env) override {
    return inner_.start(trace, profile, env);
  }
  Outcome execute(const Op& outer) override {
    received.push_back(outer);
    if (skip.count(received.size() - 1)) return Outcome::skipped();
    Outcome o = inner_.execute(to_inner(outer));
    if (o.kind == Outcome::Kind::Value && o.role == ValueRole::Fd) {
      inner_of_[next_fd_] = o.value;
      o.value = next_fd_++;
    }
    return o;
  }
  std::span<const uint8_t> last_read() const override { return inner_.last_read(); }
  void finish() override { inner_.finish(); }

  std::vector<Op> received;  // as the lockstep handed them over
  std::map<size_t, bool> skip;

 private:
  Value inner_fd(Value v) const {
    auto it = inner_of_.find(v.as_signed());
    return it == inner_of_.end() ? v : Value::signed_literal(it->second);
  }
  Op to_inner(Op op) const {
    if (op.kind != OpKind::Open && op.kind != OpKind::Sysfs && op.kind != OpKind::Truncate)
      op.subject = inner_fd(op.subject);
    if (op.kind == OpKind::Ioctl && (op.req == Req::LoopSetFd || op.req == Req::LoopChangeFd))
      op.arg = inner_fd(op.arg);
    return op;
  }
  inproc::InprocTarget inner_;
  std::map<int64_t, int64_t> inner_of_;
  int64_t next_fd_ = 100;
};

Trace parse(std::string_view text) {
  ParseResult parsed = parse_trace(text, "lockstep.trace");
  EXPECT_TRUE(parsed.ok()) << parsed.errors.front().format();
  return parsed.trace;
}

std::vector<StepResult> run_steps(const Trace& trace, Target* target, bool check = true) {
  const model::Profile& profile = model::kDefaultProfile;
  if (target) {
    EXPECT_FALSE(target->start(trace, profile.name, trace.env).failed);
  }
  Lockstep lockstep(profile, trace.env, trace.objects, target);
  std::vector<StepResult> out;
  for (const Statement& stmt : trace.stmts) {
    out.push_back(lockstep.step(stmt, check));
    if (out.back().verdict == StepVerdict::Diverged) break;
  }
  if (target) target->finish();
  return out;
}

constexpr std::string_view kBindAndClose = R"(@trace 1
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f                          => 0
ioctl d LOOP_CLR_FD                            => 0
close d                                        => 0
close f                                        => 0
f = open file img rw
close f                                        => 0
)";

TEST(Lockstep, EachSideUsesItsOwnNumbersForTheSameVariable) {
  const Trace trace = parse(kBindAndClose);
  RenumberingTarget target;
  std::vector<StepResult> steps = run_steps(trace, &target);
  ASSERT_EQ(steps.size(), trace.stmts.size());
  for (const StepResult& s : steps)
    EXPECT_EQ(s.verdict, StepVerdict::Pass) << "step " << s.index << ": " << s.detail;
  // The model's ctl is fd 3; the target was handed its own ctl, 100.
  EXPECT_EQ(steps[0].model.value, 3);
  EXPECT_EQ(steps[0].observed.value, 3) << "observed outcomes are in the model's names";
  EXPECT_EQ(target.received[1].subject.lit, 100u);
  EXPECT_EQ(target.received[4].subject.lit, 101u) << "d";
  EXPECT_EQ(target.received[4].arg.lit, 102u) << "f";
}

TEST(Lockstep, AClosedFdsNameIsForgottenSoBothSidesMayReuseIt) {
  const Trace trace = parse(kBindAndClose);
  RenumberingTarget target;
  std::vector<StepResult> steps = run_steps(trace, &target);
  ASSERT_EQ(steps.size(), trace.stmts.size());
  // The model reopens f under a number it freed (d's or f's); the target hands out
  // 103, a new one. Without forgetting, the freed number would still mean 101 or 102.
  EXPECT_TRUE(steps[8].model.value == steps[2].model.value ||
              steps[8].model.value == steps[3].model.value)
      << steps[8].model.value;
  EXPECT_EQ(steps[8].verdict, StepVerdict::Pass) << steps[8].detail;
  EXPECT_EQ(target.received[9].subject.lit, 103u);
}

TEST(Lockstep, ADifferentOutcomeIsADivergence) {
  // A literal fd is passed as written: 100 is nothing on the model, the ctl on the target.
  const Trace trace = parse("@trace 1\nctl = open loop-control rw\nclose 100\n");
  RenumberingTarget target;
  std::vector<StepResult> steps = run_steps(trace, &target);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].verdict, StepVerdict::Diverged);
  EXPECT_EQ(steps[1].model.kind, Outcome::Kind::Error);
  EXPECT_EQ(steps[1].model.err, EBADF);
  EXPECT_EQ(steps[1].observed.kind, Outcome::Kind::Value);
  EXPECT_EQ(steps[1].detail, "model EBADF, target 0");
}

// A 1-byte write over a backing file cut to 0, whose block's read may or may not
// find the block cached: the model allows `1 | EIO` (rmw_block_maybe_cached). The
// file read at the end shows which branch was taken: the byte's writeback at
// LOOP_SET_BLOCK_SIZE grows the file, a failed write leaves it empty (6.18.44).
constexpr std::string_view kMaybeFailedWrite = R"(@trace 1
file img size=64K
ctl = open loop-control rw
f = open file img rw
n = ioctl ctl LOOP_CTL_ADD -1
a = open loop n rw
b = open loop n rw
ioctl a LOOP_SET_FD f                          => 0
close a                                        => 0
pread b 0 1                                    => 1
truncate file img 0                            => 0
pwrite b 61440 1 pattern=8                     => WRITE
g = open file img rw
ioctl b LOOP_SET_BLOCK_SIZE 0                  => 0
pread g 0 512                                  => 0
)";

std::string with_write_expectation(std::string_view expect) {
  std::string text(kMaybeFailedWrite);
  text.replace(text.find("WRITE"), 5, expect);
  return text;
}

TEST(Lockstep, TheModelFollowsTheEnvelopeBranchTheTraceNames) {
  const Trace failed = parse(with_write_expectation("EIO"));
  std::vector<StepResult> steps = run_steps(failed, nullptr);
  ASSERT_EQ(steps.size(), failed.stmts.size());
  for (const StepResult& s : steps)
    EXPECT_EQ(s.verdict, StepVerdict::Pass) << "step " << s.index << ": " << s.detail;
  EXPECT_EQ(steps[9].match, Match::EnvelopeErrno) << "still counted as an envelope";
  EXPECT_EQ(steps[12].model.value, 0);
  // An envelope written as such names no branch: the model keeps the written one.
  const Trace open = parse(with_write_expectation("1 | EIO"));
  steps = run_steps(open, nullptr);
  ASSERT_EQ(steps.size(), open.stmts.size());
  EXPECT_EQ(steps[12].verdict, StepVerdict::ExpectationFailed);
  EXPECT_EQ(steps[12].model.value, 512);
  // Without expectations nothing names a branch either.
  steps = run_steps(failed, nullptr, false);
  EXPECT_EQ(steps[12].model.value, 512);
}

TEST(Lockstep, TheModelFollowsTheEnvelopeBranchTheTargetTook) {
  const Trace trace = parse(with_write_expectation("EIO"));
  RenumberingTarget target;
  std::vector<StepResult> steps = run_steps(trace, &target, false);
  ASSERT_EQ(steps.size(), trace.stmts.size());
  for (const StepResult& s : steps)
    EXPECT_EQ(s.verdict, StepVerdict::Pass) << "step " << s.index << ": " << s.detail;
  EXPECT_EQ(steps[9].observed.kind, Outcome::Kind::Error);
  EXPECT_EQ(steps[12].model.value, 0);
}

TEST(Lockstep, ExpectationsAreCheckedOnTheModelAloneAndCanBeTurnedOff) {
  const Trace trace = parse("@trace 1\nctl = open loop-control rw => 4\nclose ctl => 0\n");
  std::vector<StepResult> checked = run_steps(trace, nullptr);
  EXPECT_EQ(checked[0].verdict, StepVerdict::ExpectationFailed);
  EXPECT_EQ(checked[0].detail, "expected 4, got 3");
  EXPECT_EQ(checked[1].verdict, StepVerdict::Pass);
  std::vector<StepResult> unchecked = run_steps(trace, nullptr, false);
  EXPECT_EQ(unchecked[0].verdict, StepVerdict::Pass);
}

TEST(Lockstep, AStepTheTargetSkipsIsSkippedNotPassed) {
  const Trace trace = parse(kBindAndClose);
  RenumberingTarget target;
  target.skip[3] = true;  // f = open file img rw
  std::vector<StepResult> steps = run_steps(trace, &target);
  ASSERT_GE(steps.size(), 4u);
  EXPECT_EQ(steps[3].verdict, StepVerdict::Skipped);
  EXPECT_EQ(steps[3].observed.kind, Outcome::Kind::Skipped);
  EXPECT_EQ(steps[3].model.kind, Outcome::Kind::Skipped) << "the model does not take it either";
}

// The target never got f (its binding step was skipped). A step reading f is
// skipped too and never reaches the target, instead of running on a stand-in -1
// and "diverging" with EBADF. Both sides then agree that d stayed unbound: the
// written `LOOP_CLR_FD => 0` fails as an expectation, not as a divergence. A
// later step that binds f again makes f usable.
TEST(Lockstep, ADependantOfASkippedStepIsSkippedAndNeverSent) {
  const Trace trace = parse(kBindAndClose);
  RenumberingTarget target;
  target.skip[3] = true;  // f = open file img rw
  std::vector<StepResult> steps = run_steps(trace, &target);
  ASSERT_EQ(steps.size(), trace.stmts.size());
  EXPECT_EQ(steps[4].verdict, StepVerdict::Skipped) << "LOOP_SET_FD d f";
  EXPECT_EQ(steps[7].verdict, StepVerdict::Skipped) << "close f";
  for (const Op& op : target.received)
    EXPECT_FALSE(op.kind == OpKind::Ioctl && op.req == Req::LoopSetFd) << "sent with f skipped";
  EXPECT_EQ(steps[5].verdict, StepVerdict::ExpectationFailed) << steps[5].detail;
  EXPECT_EQ(steps[5].observed.err, ENXIO);
  EXPECT_EQ(steps[6].verdict, StepVerdict::Pass) << "close d";
  EXPECT_EQ(steps[8].verdict, StepVerdict::Pass) << "f bound again";
  EXPECT_EQ(steps[9].verdict, StepVerdict::Pass) << "close f, the new one";
}

}  // namespace
}  // namespace loopcheck
