// Triage of a stored finding: the kernel's outcome at the failing step against
// the model's and the driver's decides who is wrong. Scripted targets stand in
// for the driver and the kernel; the model is the real one.
#include "repro/finding_triage.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>

#include "model/profile.h"
#include "trace/parse.h"

namespace loopcheck {
namespace {

constexpr std::string_view kTrace = R"(@trace 1
@profile linux-6.12
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_GET_FREE
)";

// Opens succeed; LOOP_CTL_GET_FREE answers `free` (the model says index 0 here).
class ScriptedTarget : public Target {
 public:
  explicit ScriptedTarget(Outcome free, std::optional<Outcome> open = std::nullopt)
      : free_(free), open_(open) {}
  std::string_view name() const override { return "scripted"; }
  TargetError start(const Trace&, std::string_view, const Env&) override { return {}; }
  Outcome execute(const Op& op) override {
    if (op.kind == OpKind::Ioctl && op.req == Req::LoopCtlGetFree) return free_;
    if (op.kind == OpKind::Open) return open_.value_or(Outcome::ok(3, ValueRole::Fd));
    return Outcome::ok(0);
  }
  void finish() override {}

 private:
  Outcome free_;
  std::optional<Outcome> open_;
};

class FindingTriage : public ::testing::Test {
 protected:
  void SetUp() override {
    ParseResult parsed = parse_trace(kTrace, "finding.trace");
    ASSERT_TRUE(parsed.ok());
    trace_ = parsed.trace;
  }
  KernelObservation observe(Target& driver, Target& kernel) {
    return observe_finding(trace_, *model::find_profile("linux-6.12"), 1, driver, kernel);
  }
  Trace trace_;
  ScriptedTarget lying_driver_{Outcome::error(ENOSPC)};
};

TEST_F(FindingTriage, AKernelDoingWhatTheModelSaysMakesItADriverBug) {
  ScriptedTarget kernel{Outcome::ok(0, ValueRole::DevIndex)};
  KernelObservation o = observe(lying_driver_, kernel);
  EXPECT_EQ(o.verdict, KernelVerdict::DriverBug);
  EXPECT_EQ(o.step, 1u);
  EXPECT_EQ(o.model, "0");
  EXPECT_EQ(o.driver, "ENOSPC");
  o.release = "6.12.117+deb12-cloud-amd64";
  EXPECT_EQ(triage_line(o),
            "# triage 6.12.117+deb12-cloud-amd64 (linux-6.12): step 2: model 0; driver ENOSPC; "
            "kernel 0 => driver bug (the kernel agrees with the model)");
}

TEST_F(FindingTriage, AKernelDoingWhatTheDriverDoesMakesItAModelGap) {
  ScriptedTarget kernel{Outcome::error(ENOSPC)};
  EXPECT_EQ(observe(lying_driver_, kernel).verdict, KernelVerdict::ModelGap);
}

TEST_F(FindingTriage, AThirdAnswerAgreesWithNeither) {
  ScriptedTarget kernel{Outcome::error(EBUSY)};
  KernelObservation o = observe(lying_driver_, kernel);
  EXPECT_EQ(o.verdict, KernelVerdict::Neither);
  EXPECT_EQ(o.kernel, "EBUSY");
}

TEST_F(FindingTriage, NoDivergenceWhenModelAndDriverAgreeUnderTheProfile) {
  ScriptedTarget honest_driver{Outcome::ok(0, ValueRole::DevIndex)};
  ScriptedTarget kernel{Outcome::ok(0, ValueRole::DevIndex)};
  EXPECT_EQ(observe(honest_driver, kernel).verdict, KernelVerdict::NoDivergence);
}

TEST_F(FindingTriage, AKernelLeavingTheModelEarlierIsNotJudgedAtTheStep) {
  ScriptedTarget kernel{Outcome::error(ENOSPC), Outcome::error(ENOENT)};
  KernelObservation o = observe(lying_driver_, kernel);
  EXPECT_EQ(o.verdict, KernelVerdict::DivergesEarlier);
  EXPECT_EQ(o.earlier_step, 0u);
}

}  // namespace
}  // namespace loopcheck

namespace loopcheck {
namespace {

TEST(HostVariant, MakesDeviceZeroItselfAndAsksAddInsteadOfGetFree) {
  ParseResult parsed = parse_trace(R"(@trace 1
file img size=64K
d = open loop 0 rw
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_GET_FREE
sysfs 0 size
)",
                                   "finding.trace");
  ASSERT_TRUE(parsed.ok());
  std::optional<Trace> v = host_variant(parsed.trace);
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->stmts.size(), parsed.trace.stmts.size() + kHostPrefixSteps);
  const Op& add = v->stmts[1].op;
  EXPECT_EQ(add.req, Req::LoopCtlAdd);
  EXPECT_TRUE(add.arg.negative);
  const Value hdev = Value::variable(static_cast<uint8_t>(v->stmts[1].bind));
  EXPECT_EQ(v->stmts[2].op.subject, hdev);  // open loop hdev
  EXPECT_EQ(v->stmts[4].op.req, Req::LoopCtlAdd);
  EXPECT_EQ(v->stmts[5].op.subject, hdev);  // sysfs hdev size
}

TEST(HostVariant, RefusesATraceNamingAnotherDevice) {
  ParseResult parsed = parse_trace("@trace 1\nd = open loop 3 rw\n", "finding.trace");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(host_variant(parsed.trace).has_value());
}

}  // namespace
}  // namespace loopcheck
