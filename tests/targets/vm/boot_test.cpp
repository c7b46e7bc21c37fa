// Boots a real Debian kernel under QEMU (TCG) and runs traces in it: the agent
// serves many traces per boot with a full reset between them, a hang becomes a
// guest report that kills the VM, QEMU is always reaped, and a saved guest is
// restored instead of booted. About 30 s in all.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "oracle/runner.h"
#include "trace/trace_files.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"
#include "targets/vm/vm_target.h"
#include "model/profile.h"

namespace loopcheck::vm {
namespace {

constexpr const char* kKernelForTests = "6.12.117+deb12-cloud-amd64";

// The kernel to boot: $LOOPCHECK_TEST_KERNEL, else the newest cached 6.12, else a
// fetch of kKernelForTests. Empty `skip_reason` and filled `files`, or the reason
// the test must skip (no QEMU, no apt, no such package): never a silent pass.
void kernel_for_tests(KernelFiles* files, std::string* skip_reason) {
  std::string why;
  if (!qemu_available(&why)) {
    *skip_reason = "SKIPPED: " + why;
    return;
  }
  std::string version = kKernelForTests;
  if (const char* chosen = std::getenv("LOOPCHECK_TEST_KERNEL"); chosen && *chosen) {
    version = chosen;
  } else {
    for (const std::string& cached : cached_kernel_versions()) {
      if (cached.starts_with("6.12.")) version = cached;  // version order: the last is the newest
    }
  }
  FetchResult fetched = fetch_kernel(version);
  if (!fetched.ok) {
    *skip_reason = "SKIPPED: no kernel to boot: " + fetched.error;
    return;
  }
  *files = fetched.files;
}

Trace load_one(const std::string& relative) {
  LoadedTraces loaded = load_traces({std::string(LOOPCHECK_SOURCE_DIR) + "/" + relative});
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front());
  return loaded.traces.empty() ? Trace{} : loaded.traces.front();
}

bool process_gone(pid_t pid) {
  return kill(pid, 0) != 0 && errno == ESRCH;
}

class VmBoot : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip;
    kernel_for_tests(&kernel_, &skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
    profile_ = model::profile_for_release(kernel_.version);
    ASSERT_NE(profile_, nullptr) << kernel_.version;
  }
  KernelFiles kernel_;
  const model::Profile* profile_ = nullptr;
};

TEST_F(VmBoot, OneBootServesManyTracesWithAResetBetweenThem) {
  VmTarget target(kernel_);
  std::string why;
  ASSERT_TRUE(target.boot(&why)) << why;
  // ro_bit_sticky_after_unbind leaves the device's read-only bit set and
  // ctl_add_eexist adds devices: a second run of each passes only if the reset
  // really gave the next trace a freshly loaded loop driver.
  std::vector<std::string> traces = {
      "corpus/conformance/common/set_fd_basic.trace",
      "corpus/conformance/common/ro_bit_sticky_after_unbind.trace",
      "corpus/conformance/common/ro_bit_sticky_after_unbind.trace",
      "corpus/conformance/common/ctl_add_eexist.trace",
      "corpus/conformance/common/ctl_add_eexist.trace",
      "corpus/conformance/common/stacked_loop_data.trace",
      "corpus/conformance/common/io_roundtrip_offset_mapping.trace",
      "corpus/conformance/common/eperm_without_cap_sys_admin.trace",
  };
  auto begin = std::chrono::steady_clock::now();
  for (const std::string& path : traces) {
    Trace trace = load_one(path);
    TraceResult result = run_trace(trace, *profile_, &target, RunOptions{});
    EXPECT_TRUE(result.ok()) << path << ": " << result.error << " " << target.summary();
    EXPECT_EQ(result.skipped, 0u) << path;
    EXPECT_GT(result.passed, 0u) << path;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  EXPECT_EQ(target.stats().boots, 1u) << "a reset failed and forced a reboot: " << target.summary();
  EXPECT_TRUE(target.guest_reports().empty()) << target.guest_reports().front().report.excerpt;
  std::printf("vm %s: boot-to-ready %.2f s, %zu traces in %.2f s = %.2f traces/s\n",
              kernel_.version.c_str(), target.stats().boot_seconds, traces.size(), seconds,
              static_cast<double>(traces.size()) / seconds);
  RecordProperty("boot_seconds", std::to_string(target.stats().boot_seconds));
}

TEST_F(VmBoot, AHungStepBecomesAGuestReportWithLaterStepsSkipped) {
  VmTargetOptions options;
  options.step_base_ms = 0;  // every step "hangs": the deterministic way to reach the hang path
  VmTarget target(kernel_, options);
  Trace trace = load_one("corpus/conformance/common/set_fd_basic.trace");
  TraceResult hung = run_trace(trace, *profile_, &target, RunOptions{});
  EXPECT_FALSE(hung.ok());
  ASSERT_FALSE(hung.steps.empty());
  EXPECT_EQ(hung.steps[0].verdict, StepVerdict::Diverged);
  EXPECT_EQ(hung.steps[0].observed.err, EHOSTDOWN);
  EXPECT_EQ(hung.skipped, 0u)
      << "the runner stops at the first divergence; nothing after it may pass";
  EXPECT_EQ(hung.passed, 0u);
  ASSERT_EQ(target.guest_reports_of_last_trace().size(), 1u);
  EXPECT_EQ(target.guest_reports_of_last_trace()[0].report.kind, "hang");
  EXPECT_EQ(target.guest_reports_of_last_trace()[0].step, 1u);
  EXPECT_NE(target.summary().find("GUEST REPORT at step 1: hang"), std::string::npos)
      << target.summary();
  EXPECT_EQ(target.stats().boots, 1u);
}

TEST_F(VmBoot, AKilledGuestIsReportedAndReaped) {
  std::string why;
  std::unique_ptr<Vm> vm = Vm::boot(kernel_, VmOptions{}, &why);
  ASSERT_NE(vm, nullptr) << why;
  EXPECT_GT(vm->boot_seconds(), 0.0);
  EXPECT_EQ(vm->ready().kernel_release, kernel_.version);
  EXPECT_EQ(vm->ready().dio_align, 512u) << "the model's default @env needs dio_align=512";
  EXPECT_EQ(vm->ready().bdev_block_size, 512u);
  pid_t pid = vm->pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  std::optional<Frame> answer =
      vm->call(encode_empty(FrameType::Reset), FrameType::ResetDone, 10000, &why);
  EXPECT_FALSE(answer.has_value());
  EXPECT_NE(why.find("the guest died"), std::string::npos) << why;
  EXPECT_FALSE(vm->alive());
  vm.reset();
  EXPECT_TRUE(process_gone(pid));
}

TEST_F(VmBoot, DestroyingALiveVmLeavesNoQemuAndNoWorkDirectory) {
  std::string why;
  std::unique_ptr<Vm> vm = Vm::boot(kernel_, VmOptions{}, &why);
  ASSERT_NE(vm, nullptr) << why;
  pid_t pid = vm->pid();
  std::string work_dir = std::filesystem::path(vm->console_log_path()).parent_path();
  ASSERT_TRUE(std::filesystem::exists(work_dir));
  vm.reset();
  EXPECT_TRUE(process_gone(pid));
  EXPECT_FALSE(std::filesystem::exists(work_dir));
}

// Snapshots (targets/vm/vm_snapshot.h), each test in a snapshot directory of its own.
class VmSnapshot : public VmBoot {
 protected:
  void SetUp() override {
    VmBoot::SetUp();
    char tmpl[] = "/tmp/loopcheck-snapshot-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    options_.vm.snapshot_dir = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!options_.vm.snapshot_dir.empty())
      std::filesystem::remove_all(options_.vm.snapshot_dir, ec);
  }
  std::vector<std::filesystem::path> slots() const {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(options_.vm.snapshot_dir))
      if (std::filesystem::exists(e.path() / "SNAPSHOT")) found.push_back(e.path());
    return found;
  }
  VmTargetOptions options_;
};

// The first boot saves the booted guest; the next start restores it, and the
// restored guest serves traces exactly as a booted one (the reset between them
// included: the read-only bit trace runs twice).
TEST_F(VmSnapshot, ASecondStartRestoresTheFirstBootAndServesTraces) {
  std::string why;
  std::unique_ptr<Vm> first = Vm::boot(kernel_, options_.vm, &why);
  ASSERT_NE(first, nullptr) << why;
  EXPECT_FALSE(first->restored());
  const double boot_seconds = first->boot_seconds();
  first.reset();
  ASSERT_EQ(slots().size(), 1u) << "the boot saved no snapshot";
  VmTarget target(kernel_, options_);
  ASSERT_TRUE(target.boot(&why)) << why;
  EXPECT_EQ(target.stats().restores, 1u) << target.boot_summary();
  for (const char* path : {"corpus/conformance/common/set_fd_basic.trace",
                           "corpus/conformance/common/ro_bit_sticky_after_unbind.trace",
                           "corpus/conformance/common/ro_bit_sticky_after_unbind.trace"}) {
    TraceResult result = run_trace(load_one(path), *profile_, &target, RunOptions{});
    EXPECT_TRUE(result.ok()) << path << ": " << result.error << " " << target.summary();
    EXPECT_GT(result.passed, 0u) << path;
  }
  EXPECT_EQ(target.stats().boots, 1u) << target.summary();
  std::printf("vm %s: booted in %.2f s, restored in %.2f s\n", kernel_.version.c_str(),
              boot_seconds, target.stats().restore_seconds);
}

// A snapshot QEMU cannot load (here: a truncated state) is discarded, the guest
// boots instead, and a fresh snapshot replaces the broken one.
TEST_F(VmSnapshot, AnUnloadableSnapshotIsReplacedByABoot) {
  std::string why;
  ASSERT_NE(Vm::boot(kernel_, options_.vm, &why), nullptr) << why;
  ASSERT_EQ(slots().size(), 1u);
  const std::filesystem::path state = slots().front() / "state";
  const auto good_size = std::filesystem::file_size(state);
  std::filesystem::resize_file(state, 4096);
  std::unique_ptr<Vm> vm = Vm::boot(kernel_, options_.vm, &why);
  ASSERT_NE(vm, nullptr) << why;
  EXPECT_FALSE(vm->restored());
  EXPECT_EQ(vm->ready().kernel_release, kernel_.version);
  ASSERT_EQ(slots().size(), 1u);
  EXPECT_GT(std::filesystem::file_size(slots().front() / "state"), good_size / 2);
}

TEST_F(VmSnapshot, WithSnapshotsOffEveryStartBoots) {
  options_.vm.snapshot = false;
  std::string why;
  ASSERT_NE(Vm::boot(kernel_, options_.vm, &why), nullptr) << why;
  std::unique_ptr<Vm> vm = Vm::boot(kernel_, options_.vm, &why);
  ASSERT_NE(vm, nullptr) << why;
  EXPECT_FALSE(vm->restored());
  EXPECT_TRUE(slots().empty());
}

}  // namespace
}  // namespace loopcheck::vm
