// Triage of traces with a concurrent block: a kernel column is a tally of outcome
// tuples over many runs (repro/concurrent_triage.h), and a stored concurrent
// finding is judged by whether the kernel's histories are explained
// (repro/finding_triage.h). The model is the real one; the in-process driver runs
// real threads; scripted targets stand in where a verdict needs a fixed history.
#include <gtest/gtest.h>

#include <cerrno>

#include "model/profile.h"
#include "repro/concurrent_triage.h"
#include "repro/finding_triage.h"
#include "targets/inproc/inproc_target.h"
#include "trace/parse.h"
#include "trace/validate.h"

namespace loopcheck {
namespace {

// LOOP_CTL_REMOVE racing an open (corpus/concurrency/common/remove_vs_open.trace).
constexpr std::string_view kRemoveVsOpen = R"(@trace 2
@env precreated=0
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
concurrent repeat=6
thread remover
  ioctl ctl LOOP_CTL_REMOVE n
thread opener
  d = open loop n rw
  close d
end
)";

Trace parsed(std::string_view text) {
  ParseResult p = parse_trace(text, "race.trace");
  EXPECT_TRUE(p.ok());
  return p.trace;
}

TEST(ConcurrentTriage, AColumnTalliesEveryRunOfTheInprocDriver) {
  const Trace trace = parsed(kRemoveVsOpen);
  inproc::InprocTarget driver;
  vm::ConcurrentColumn c =
      vm::observe_concurrent(trace, driver, model::find_profile("linux-6.18"), "6.18", 40);
  ASSERT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.runs, 40u);
  EXPECT_EQ(c.linearizable, 40u);
  EXPECT_EQ(c.unexplained, 0u);
  uint64_t shown = 0;
  for (const auto& [tuple, runs] : c.observed) {
    shown += runs;
    EXPECT_TRUE(c.allowed.contains(tuple)) << tuple;
  }
  EXPECT_EQ(shown, 40u);
  // The three orders the model allows (remove first, open first, remove between).
  EXPECT_EQ(c.allowed,
            (std::set<std::string>{"remover=0 opener=ENXIO,EBADF", "remover=0 opener=fd,0",
                                   "remover=EBUSY opener=fd,0"}));
}

TEST(ConcurrentTriage, AnUnknownReleaseIsNotRunAndSaysWhy) {
  const Trace trace = parsed(kRemoveVsOpen);
  inproc::InprocTarget driver;
  vm::ConcurrentColumn c = vm::observe_concurrent(trace, driver, nullptr, "5.4.0", 3);
  EXPECT_FALSE(c.error.empty());
  EXPECT_EQ(c.runs, 0u);
}

vm::ConcurrentColumn column(std::string name, uint64_t unexplained, std::set<std::string> allowed,
                            bool vm = true) {
  vm::ConcurrentColumn c;
  c.name = std::move(name);
  c.profile = "p-" + c.name;
  c.runs = 100;
  c.unexplained = unexplained;
  c.linearizable = c.runs - unexplained;
  c.allowed = std::move(allowed);
  c.observed["a=0 b=0"] = c.linearizable;
  c.is_vm_kernel = vm;
  return c;
}

TEST(ConcurrentTriage, TheChangeIsWhereTheModelStopsExplainingOrItsTuplesDiffer) {
  const std::set<std::string> two = {"a=0 b=0", "a=EBUSY b=0"};
  std::vector<vm::ConcurrentColumn> columns = {
      column("6.1.0-52", 0, two), column("host", 7, two, false), column("6.1.0-54", 0, two),
      column("6.1.0-55", 3, two)};
  vm::ConcurrentChange change = vm::first_concurrent_change(columns);
  ASSERT_TRUE(change.found);
  EXPECT_EQ(change.before, 2u);  // the host column is not a release
  EXPECT_EQ(change.after, 3u);
  EXPECT_NE(change.what.find("not 3 of 100 on `6.1.0-55`"), std::string::npos) << change.what;

  std::vector<vm::ConcurrentColumn> profiles = {column("6.1", 0, two),
                                                column("6.12", 0, {"a=0 b=0"})};
  change = vm::first_concurrent_change(profiles);
  ASSERT_TRUE(change.found);
  EXPECT_NE(change.what.find("other outcome tuples"), std::string::npos);

  // Tuples seen on one kernel and not another are sampling, not a change.
  std::vector<vm::ConcurrentColumn> same = {column("a", 0, two), column("b", 0, two)};
  same[1].observed["a=EBUSY b=0"] = 1;
  EXPECT_FALSE(vm::first_concurrent_change(same).found);
}

TEST(ConcurrentTriage, MarkdownCountsTuplesPerKernelAndMarksForbiddenOnes) {
  const Trace trace = parsed(kRemoveVsOpen);
  std::vector<vm::ConcurrentColumn> columns = {column("6.1", 0, {"a=0 b=0"}),
                                               column("6.12", 2, {"a=0 b=0", "a=EBUSY b=0"})};
  columns[1].observed["a=EIO b=0"] = 2;
  columns[1].first_history = "  unexplained history (run 4): ...\n";
  columns[1].signatures = {"sig-1"};
  const std::string md = vm::concurrent_triage_markdown(trace, columns);
  EXPECT_NE(md.find("| `a=0 b=0` | 100 | 98 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `a=EBUSY b=0` | - | 0 (allowed) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `a=EIO b=0` | - | **2 forbidden** |"), std::string::npos) << md;
  EXPECT_NE(md.find("**Behaviour changed between `6.1` and `6.12`**"), std::string::npos) << md;
  EXPECT_NE(md.find("- `sig-1`"), std::string::npos) << md;
}

// The prefix as the model says (@env precreated=0: LOOP_CTL_ADD -1 gives 0), then
// the block with the remover's answer fixed: `remove_errno` 0 is an order the
// model explains (open, close, then remove), anything else no order explains.
class FixedBlockTarget : public Target {
 public:
  explicit FixedBlockTarget(int remove_errno) : remove_errno_(remove_errno) {}
  std::string_view name() const override { return "fixed"; }
  TargetError start(const Trace&, std::string_view, const Env&) override { return {}; }
  Outcome execute(const Op& op) override {
    if (op.kind == OpKind::Open) return Outcome::ok(3, ValueRole::Fd);
    if (op.req == Req::LoopCtlAdd) return Outcome::ok(0, ValueRole::DevIndex);
    return Outcome::ok(0);
  }
  void finish() override {}
  bool runs_blocks() const override { return true; }
  BlockHistory run_block(std::span<const BlockThread>, std::span<const int64_t>) override {
    const Outcome remove = remove_errno_ ? Outcome::error(remove_errno_) : Outcome::ok(0);
    BlockHistory h;
    h.calls = {CallRecord{2, 0, remove, 30, 40},
               CallRecord{3, 1, Outcome::ok(4, ValueRole::Fd), 0, 10},
               CallRecord{4, 1, Outcome::ok(0), 11, 20}};
    return h;
  }

 private:
  int remove_errno_;
};

class ConcurrentFindingTriage : public ::testing::Test {
 protected:
  KernelObservation observe(Target& driver, Target& kernel) {
    return observe_concurrent_finding(trace_, *model::find_profile("linux-6.18"), driver, kernel);
  }
  Trace trace_ = parsed(kRemoveVsOpen);
  FixedBlockTarget lying_driver_{ENOSPC};
};

TEST_F(ConcurrentFindingTriage, TheDriversHistoryIsTheFinding) {
  DriverRun run = run_on_driver(trace_, *model::find_profile("linux-6.18"), lying_driver_);
  ASSERT_TRUE(run.diverged);
  EXPECT_EQ(run.step, 2u);  // the block's first statement
  EXPECT_FALSE(run.signature.empty());
  FixedBlockTarget honest{0};
  EXPECT_FALSE(run_on_driver(trace_, *model::find_profile("linux-6.18"), honest).diverged);
}

TEST_F(ConcurrentFindingTriage, VerdictsCompareExplainedHistoriesAndSignatures) {
  FixedBlockTarget honest_kernel{0}, same_kernel{ENOSPC}, other_kernel{EPERM};
  KernelObservation o = observe(lying_driver_, honest_kernel);
  EXPECT_EQ(o.verdict, KernelVerdict::DriverBug);
  EXPECT_EQ(o.step, 2u);
  EXPECT_NE(o.driver.find("6 of 6 runs unexplained"), std::string::npos) << o.driver;
  EXPECT_NE(o.kernel.find("0 of 6 runs unexplained"), std::string::npos) << o.kernel;
  EXPECT_EQ(observe(lying_driver_, same_kernel).verdict, KernelVerdict::ModelGap);
  EXPECT_EQ(observe(lying_driver_, other_kernel).verdict, KernelVerdict::Neither);
  FixedBlockTarget honest_driver{0};
  EXPECT_EQ(observe(honest_driver, honest_kernel).verdict, KernelVerdict::NoDivergence);
}

TEST(HostVariant, KeepsAConcurrentBlockOnItsStatements) {
  const Trace trace = parsed(kRemoveVsOpen);
  std::optional<Trace> v = host_variant(trace);
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->blocks.size(), 1u);
  EXPECT_EQ(v->blocks[0].first, trace.blocks[0].first + kHostPrefixSteps);
  EXPECT_EQ(v->blocks[0].end, trace.blocks[0].end + kHostPrefixSteps);
  EXPECT_TRUE(validate(*v).empty());
}

}  // namespace
}  // namespace loopcheck
