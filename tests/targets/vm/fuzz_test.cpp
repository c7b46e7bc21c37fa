// Fuzzing a real 6.1 kernel in QEMU: one boot serves every program, each program
// is one round trip, and the quick reset between programs leaves the guest as a
// freshly loaded loop.ko would — checked by a trace run the slow way afterwards
// (Start, one Exec per step, a full module reload). About a minute under TCG;
// skips loudly without QEMU or the cached kernel.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>

#include "fuzz/campaign.h"
#include "fuzz/decode.h"
#include "fuzz/exec.h"
#include "fuzz/mutate.h"
#include "fuzz/prng.h"
#include "model/profile.h"
#include "oracle/runner.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"
#include "targets/vm/vm_target.h"
#include "trace/parse.h"

namespace loopcheck::vm {
namespace {

constexpr const char* kKernelForTests = "6.1.0-56-cloud-amd64";
constexpr int kPrograms = 40;

// Every precreated device is unbound, unsized and writable, and none was added:
// what a freshly loaded loop.ko shows.
constexpr const char* kCleanGuest = R"(@trace 1
ctl = open loop-control rw
ioctl ctl LOOP_CTL_GET_FREE => 0
sysfs 0 ro => "0"
sysfs 3 ro => "0"
sysfs 7 ro => "0"
sysfs 0 size => "0"
sysfs 7 size => "0"
n = ioctl ctl LOOP_CTL_ADD 8 => 8
ioctl ctl LOOP_CTL_REMOVE n => 0
close ctl => 0
)";

class VmFuzz : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!qemu_available(&why)) GTEST_SKIP() << "SKIPPED: " << why;
    std::string version = kKernelForTests;
    if (const char* chosen = std::getenv("LOOPCHECK_TEST_KERNEL"); chosen && *chosen)
      version = chosen;
    if (!cached_kernel(version, &kernel_, &why))
      GTEST_SKIP() << "SKIPPED: no cached kernel " << version << ": " << why;
    profile_ = model::profile_for_release(version);
    ASSERT_NE(profile_, nullptr) << version;
    decode_.forced_profile = profile_;
    decode_.env = Env{};  // a real kernel: its 8 precreated devices
  }
  KernelFiles kernel_;
  const model::Profile* profile_ = nullptr;
  fuzz::DecodeOptions decode_;
};

TEST_F(VmFuzz, OneBootRunsEveryProgramAndTheGuestStaysClean) {
  VmTarget target(kernel_);
  fuzz::ProgramRunner runner(&target);
  Prng rng(20261204);
  fuzz::ModelCoverage pairs;
  std::array<uint8_t, fuzz::kMaxInputBytes> input{};
  fuzz::Program program;
  for (int i = 0; i < kPrograms; ++i) {
    const size_t size = fuzz::random_input(input.data(), input.size(), 16, rng);
    fuzz::decode({input.data(), size}, program, decode_);
    const fuzz::Finding f = runner.run(program, &pairs);
    EXPECT_NE(f.kind, fuzz::Finding::Kind::Crash) << f.signature << "\n" << f.detail;
    EXPECT_NE(f.kind, fuzz::Finding::Kind::TargetError) << f.detail;
  }
  EXPECT_EQ(target.stats().boots, 1u) << "a leak or a crash rebooted the guest";
  EXPECT_EQ(target.stats().programs, static_cast<size_t>(kPrograms));
  EXPECT_GE(runner.steps_run(), static_cast<uint64_t>(kPrograms) * 4) << "programs ran steps";
  EXPECT_GE(pairs.count(), 30u) << "the programs reached many (operation, outcome) pairs";
  EXPECT_TRUE(target.guest_reports().empty()) << target.summary();

  ParseResult parsed = parse_trace(kCleanGuest, "clean_guest.trace");
  ASSERT_TRUE(parsed.ok()) << parsed.errors.front().format();
  TraceResult clean = run_trace(parsed.trace, *profile_, &target, RunOptions{});
  EXPECT_TRUE(clean.ok()) << clean.error << clean.target_summary;
  EXPECT_EQ(clean.passed, parsed.trace.stmts.size());
  EXPECT_EQ(target.stats().boots, 1u);
}

// A guest that does not answer is a crash finding of its own (the program's
// steps are not compared: there is nothing to compare), and the next program
// gets a new guest.
TEST_F(VmFuzz, AHungGuestIsACrashFindingAndIsRebooted) {
  VmTargetOptions options;
  options.step_base_ms = 0;  // every program "hangs": the deterministic way to the hang path
  options.reset_budget_ms = 0;
  VmTarget target(kernel_, options);
  fuzz::ProgramRunner runner(&target);
  Prng rng(3);
  std::array<uint8_t, fuzz::kMaxInputBytes> input{};
  fuzz::Program program;
  for (int i = 0; i < 2; ++i) {
    const size_t size = fuzz::random_input(input.data(), input.size(), 16, rng);
    fuzz::decode({input.data(), size}, program, decode_);
    const fuzz::Finding f = runner.run(program);
    EXPECT_EQ(f.kind, fuzz::Finding::Kind::Crash);
    EXPECT_EQ(f.signature, std::string(profile_->name) + " guest hang");
    EXPECT_NE(f.detail.find("no answer from the guest"), std::string::npos) << f.detail;
    EXPECT_EQ(f.step, program.count - 1u) << "a hung guest names no step: the last is blamed";
  }
  EXPECT_EQ(target.stats().boots, 2u) << "the hung guest was replaced";
}

// The builtin engine drives the VM as it drives the host: a fixed number of
// executions, the model's pairs as feedback, findings by signature.
TEST_F(VmFuzz, TheCampaignRunsItsBudgetOnTheVm) {
  fuzz::CampaignOptions options;
  options.seed = 5;
  options.runs = 24;
  options.decode = decode_;
  options.make_target = [this] { return std::make_unique<VmTarget>(kernel_); };
  const fuzz::CampaignResult r = fuzz::run_campaign(options);
  EXPECT_EQ(r.execs, 24u);
  EXPECT_GT(r.steps, 24u);
  EXPECT_GT(r.coverage.count(), 20u);
  for (const fuzz::RawFinding& f : r.findings)
    EXPECT_NE(f.finding.kind, fuzz::Finding::Kind::Crash) << f.finding.detail;
}

}  // namespace
}  // namespace loopcheck::vm
