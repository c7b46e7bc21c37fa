// Every step is exactly one class: an exact pass, a pass inside one of the model's
// envelopes (naming the rule and the part: errno or count), a pass with bytes the
// model could not predict, skipped, a divergence, or an expectation failure. A
// written data= the model cannot predict fails, on the model and on a target.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "model/profile.h"
#include "oracle/lockstep.h"
#include "oracle/report.h"
#include "oracle/runner.h"
#include "targets/inproc/inproc_target.h"
#include "trace/data.h"
#include "trace/parse.h"

namespace loopcheck {
namespace {

// The in-process target, with the outcomes of chosen steps (0-based) replaced:
// a kernel that took the other branch of the model's envelope.
class ScriptedTarget final : public Target {
 public:
  std::string_view name() const override { return "scripted"; }
  TargetError start(const Trace& trace, std::string_view profile, const Env& env) override {
    return inner_.start(trace, profile, env);
  }
  Outcome execute(const Op& op) override {
    const size_t step = calls_++;
    replaced_ = replace.count(step) != 0;
    Outcome real = inner_.execute(op);
    return replaced_ ? replace.at(step) : real;
  }
  std::span<const uint8_t> last_read() const override {
    return replaced_ ? std::span<const uint8_t>{} : inner_.last_read();
  }
  void finish() override { inner_.finish(); }

  std::map<size_t, Outcome> replace;

 private:
  inproc::InprocTarget inner_;
  size_t calls_ = 0;
  bool replaced_ = false;
};

Trace parse(std::string_view text) {
  ParseResult parsed = parse_trace(text, "class.trace");
  EXPECT_TRUE(parsed.ok()) << parsed.errors.front().format();
  return parsed.trace;
}

TraceResult run(std::string_view text, Target* target) {
  return run_trace(parse(text), model::kDefaultProfile, target, RunOptions{});
}

// A read whose count and bytes a real target reports: `count` bytes of `fill`.
Outcome read_of(int64_t count, uint8_t fill) {
  Outcome o;
  o.kind = Outcome::Kind::Data;
  o.value = count;
  const std::vector<uint8_t> bytes(static_cast<size_t>(count), fill);
  o.digest = digest_bytes(bytes);
  return o;
}

constexpr std::string_view kBind = R"(@trace 1
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f                          => 0
pread d 0 4096                                 => 4096 data=zero
)";

// A device from before the trace: its write-cache setting is unknown, so fsync of it
// unbound may succeed or fail with EIO (model rule fsync_write_cache_unknown).
constexpr std::string_view kFsyncUnknownCache = R"(@trace 1
@env precreated=1
d = open loop 0 rw
fsync d                                        => 0 | EIO
)";

// Step 7: the backing file changed behind a page only readahead may have cached
// (rule stale_cache; a page the trace read keeps its old bytes exactly).
constexpr std::string_view kStale = R"(@trace 1
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f                          => 0
pread d 16384 4096                             => 4096 data=zero
pwrite f 32768 4096 pattern=5                  => 4096
pread d 32768 4096                             => 4096
)";

// Step 7: a read after the sole opener detached the device (Rundown until its last
// close): only what readahead cached before serves it (rule rundown_readahead).
constexpr std::string_view kRundown = R"(@trace 1
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f                          => 0
pread d 0 4096                                 => 4096 data=zero
ioctl d LOOP_CLR_FD                            => 0
pread d 0 16384
)";

TEST(StepClass, EveryStepOfAnUnhedgedRunIsExact) {
  for (bool on_target : {false, true}) {
    ScriptedTarget target;
    const TraceResult r = run(kBind, on_target ? &target : nullptr);
    ASSERT_TRUE(r.ok()) << r.steps.back().detail;
    for (const StepResult& s : r.steps) {
      EXPECT_EQ(step_class(s), StepClass::Exact) << s.index;
      EXPECT_EQ(s.rule, EnvelopeRule::None) << s.index;
    }
    EXPECT_EQ(r.exact, r.steps.size());
    EXPECT_EQ(r.envelope + r.data_unchecked, 0u);
  }
}

TEST(StepClass, TheAlternativeErrnoIsAnEnvelopePassNamingItsRule) {
  ScriptedTarget target;
  target.replace[1] = Outcome::error(EIO);
  const TraceResult r = run(kFsyncUnknownCache, &target);
  ASSERT_TRUE(r.ok()) << r.steps[1].detail;
  const StepResult& s = r.steps[1];
  EXPECT_EQ(step_class(s), StepClass::Envelope);
  EXPECT_EQ(s.match, Match::EnvelopeErrno);
  EXPECT_EQ(s.rule, EnvelopeRule::FsyncWriteCacheUnknown);
  EXPECT_EQ(r.envelope, 1u);
  EXPECT_EQ(r.rules.n[static_cast<size_t>(EnvelopeRule::FsyncWriteCacheUnknown)][0], 1u);

  ScriptedTarget main_branch;  // the inproc driver succeeds: the model's main outcome
  const TraceResult exact = run(kFsyncUnknownCache, &main_branch);
  EXPECT_EQ(step_class(exact.steps[1]), StepClass::Exact) << exact.steps[1].detail;
}

TEST(StepClass, OnTheModelAloneAHedgedOutcomeIsAnEnvelopePass) {
  const TraceResult r = run(kFsyncUnknownCache, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(step_class(r.steps[1]), StepClass::Envelope);
  EXPECT_EQ(r.steps[1].rule, EnvelopeRule::FsyncWriteCacheUnknown);
  EXPECT_EQ(step_class(r.steps[0]), StepClass::Exact);
}

TEST(StepClass, ACountInsideTheRangeIsAnEnvelopePassOnTheCount) {
  const TraceResult model = run(kRundown, nullptr);
  const Outcome& m = model.steps[7].model;
  ASSERT_EQ(m.kind, Outcome::Kind::Data) << "the model's envelope this test relies on";
  ASSERT_GT(m.min_value, 0);
  ASSERT_LT(m.min_value, m.value);
  EXPECT_EQ(m.count_rule, EnvelopeRule::RundownReadahead);

  ScriptedTarget target;
  target.replace[7] = read_of(m.min_value, 0);
  const TraceResult r = run(kRundown, &target);
  ASSERT_TRUE(r.ok()) << r.steps[7].detail;
  EXPECT_EQ(step_class(r.steps[7]), StepClass::Envelope);
  EXPECT_EQ(r.steps[7].match, Match::EnvelopeCount);
  EXPECT_EQ(r.steps[7].rule, EnvelopeRule::RundownReadahead);
  EXPECT_EQ(r.rules.n[static_cast<size_t>(EnvelopeRule::RundownReadahead)][1], 1u);
}

TEST(StepClass, UnpredictableBytesAreAnUncheckedPassNamingTheirRule) {
  for (bool on_target : {false, true}) {
    ScriptedTarget target;
    const TraceResult r = run(kStale, on_target ? &target : nullptr);
    ASSERT_TRUE(r.ok()) << r.steps[7].detail;
    EXPECT_EQ(step_class(r.steps[7]), StepClass::Unchecked);
    EXPECT_EQ(r.steps[7].rule, EnvelopeRule::StaleCache);
    EXPECT_EQ(r.data_unchecked, 1u);
    EXPECT_EQ(r.rules.n[static_cast<size_t>(EnvelopeRule::StaleCache)][2], 1u);
  }
}

TEST(StepClass, AWrittenDataTheModelCannotPredictIsAnExpectationFailure) {
  std::string text(kStale);
  text.replace(text.rfind("=> 4096"), 7, "=> 4096 data=zero");
  for (bool on_target : {false, true}) {
    ScriptedTarget target;
    const TraceResult r = run(text, on_target ? &target : nullptr);
    EXPECT_EQ(r.expectation_failures, 1u);
    const StepResult& s = r.steps[7];
    EXPECT_EQ(step_class(s), StepClass::ExpectationFailed);
    EXPECT_NE(s.detail.find("the model cannot predict (stale_cache)"), std::string::npos)
        << s.detail;
  }
  // An alternative that does not state the bytes still holds.
  std::string with_count = text;
  with_count.replace(with_count.rfind("data=zero"), 9, "data=zero | 4096");
  EXPECT_TRUE(run(with_count, nullptr).ok());
}

TEST(StepClass, SkippedAndDivergedStepsAreTheirOwnClasses) {
  ScriptedTarget target;
  target.replace[1] = Outcome::skipped();
  const TraceResult r = run(kBind, &target);
  EXPECT_EQ(step_class(r.steps[1]), StepClass::Skipped);
  // n was never bound on the target: what reads it is skipped too.
  EXPECT_EQ(step_class(r.steps[2]), StepClass::Skipped);

  ScriptedTarget diverging;
  diverging.replace[5] = read_of(4095, 0);
  const TraceResult d = run(kBind, &diverging);
  EXPECT_EQ(step_class(d.steps[5]), StepClass::Diverged);
  EXPECT_EQ(d.divergences, 1u);
}

// --strict's list: one located line per hedged step, with rule and part.
TEST(StepClass, HedgedStepsAreListedWithTheirRule) {
  ScriptedTarget target;
  target.replace[1] = Outcome::error(EIO);
  const Trace trace = parse(kFsyncUnknownCache);
  const TraceResult r = run_trace(trace, model::kDefaultProfile, &target, RunOptions{});
  EXPECT_EQ(format_hedged_steps(trace, r),
            "  class.trace:4:1: step 2 `fsync d => 0 | EIO`: envelope (fsync_write_cache_unknown, "
            "errno): model 0 | EIO, scripted EIO\n");
}

}  // namespace
}  // namespace loopcheck
