// HostTarget's sandbox rules, cleanup, recovery of killed runs, and the safety
// test: a device someone else bound survives a corpus run through the target.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <optional>
#include <vector>

#include "targets/host/device_cleanup.h"
#include "targets/host/host_target.h"
#include "targets/host/ledger.h"
#include "targets/host/loop_sys.h"
#include "targets/sandbox_dir.h"
#include "oracle/runner.h"
#include "trace/trace_files.h"
#include "model/profile.h"
#include "tests/targets/host/host_test_support.h"
#include "trace/ops.h"
#include "trace/pattern.h"

namespace loopcheck {
namespace {

Value lit(int64_t v) {
  return Value::signed_literal(v);
}

using testing_support::free_high_index;

// Every device whose backing file lies under `prefix`.
std::vector<uint64_t> devices_backed_under(const std::string& prefix) {
  std::vector<uint64_t> out;
  DIR* dir = ::opendir("/sys/block");
  while (dir) {
    struct dirent* e = ::readdir(dir);
    if (!e) break;
    uint64_t index = 0;
    if (std::sscanf(e->d_name, "loop%lu", &index) != 1) continue;
    if (host::loop_backing_file(index).rfind(prefix, 0) == 0) out.push_back(index);
  }
  if (dir) ::closedir(dir);
  return out;
}

bool path_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// A device set up by "someone else": created, bound and held open by the test
// itself, outside any target, on a file with known data.
struct ForeignDevice {
  std::string dir, file;
  uint64_t index = 0;
  int fd = -1;
  bool ok = false;
  loop_info64 status{};

  explicit ForeignDevice(uint64_t from, bool bind = true) {
    char tmpl[] = "/var/tmp/lcforeign-XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir = tmpl;
    file = dir + "/data";
    std::vector<uint8_t> bytes(256 << 10);
    pattern_fill(99, 0, bytes.data(), bytes.size());
    int f = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0 || ::pwrite(f, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
      return;
    int ctl = ::open(host::kLoopControlPath, O_RDWR | O_CLOEXEC);
    index = free_high_index(from);
    bool added = ::ioctl(ctl, LOOP_CTL_ADD, index) == static_cast<int>(index);
    ::close(ctl);
    if (!added) return;
    fd = host::open_loop_node(index, O_RDWR, {});
    if (fd < 0) return;
    if (bind) {
      loop_config cfg{};
      cfg.fd = static_cast<uint32_t>(f);
      cfg.info.lo_offset = 4096;
      cfg.info.lo_sizelimit = 128 << 10;
      std::memcpy(cfg.info.lo_file_name, "foreign", 7);
      if (::ioctl(fd, LOOP_CONFIGURE, &cfg) != 0) return;
      if (::ioctl(fd, LOOP_GET_STATUS64, &status) != 0) return;
    }
    ::close(f);
    ok = true;
  }
  uint64_t data_digest() const {
    std::vector<uint8_t> buf(128 << 10);
    ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
    return n < 0 ? 0 : XXH3_64bits(buf.data(), static_cast<size_t>(n));
  }
  ~ForeignDevice() {
    if (fd >= 0) {
      ::ioctl(fd, LOOP_CLR_FD, 0);
      ::close(fd);
      host::wait_until_unbound(index, 5000);
      host::remove_loop_device(index, 2000);
    }
    if (!dir.empty()) host::remove_sandbox_dir(dir);
  }
};

class HostTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.state_dir = "/run/loopcheck-test-" + std::to_string(::getpid());
  }
  void TearDown() override { host::remove_sandbox_dir(options_.state_dir); }
  HostTargetOptions options_;
};

Trace trace_with_file() {
  Trace t;
  t.objects.push_back(ObjectDecl{ObjectDecl::Kind::File, "img", 64 << 10, 0, {}});
  return t;
}

TEST_F(HostTargetTest, StepsOnADeviceItDoesNotOwnAreSkippedNotExecuted) {
  REQUIRE_HOST_LOOP();
  ForeignDevice foreign(5000);
  ASSERT_TRUE(foreign.ok);
  const int64_t n = static_cast<int64_t>(foreign.index);
  HostTarget target(options_);
  ASSERT_FALSE(target.start(trace_with_file(), "linux-6.18", Env{}).failed);
  Outcome ctl = target.execute(op_open_loop_control());
  ASSERT_EQ(ctl.kind, Outcome::Kind::Value);
  EXPECT_EQ(target.execute(op_open_loop(lit(n), Access::Rw)).kind, Outcome::Kind::Skipped);
  EXPECT_EQ(target.execute(op_sysfs(lit(n), SysAttr::Size)).kind, Outcome::Kind::Skipped);
  EXPECT_EQ(target.execute(op_ioctl(lit(ctl.value), Req::LoopCtlRemove, lit(n))).kind,
            Outcome::Kind::Skipped);
  // The test's own fd on the device is open in this process but not the trace's.
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(foreign.fd), Req::LoopClrFd)).kind,
            Outcome::Kind::Skipped);
  EXPECT_EQ(target.execute(op_pwrite(lit(foreign.fd), 0, 512, 1)).kind, Outcome::Kind::Skipped);
  EXPECT_EQ(target.execute(op_close(lit(foreign.fd))).kind, Outcome::Kind::Skipped);
  // Binding one of ours onto the foreign fd would make us its opener: skipped too.
  Outcome add = target.execute(op_ioctl(lit(ctl.value), Req::LoopCtlAdd, lit(-1)));
  ASSERT_EQ(add.kind, Outcome::Kind::Value);
  Outcome d = target.execute(op_open_loop(lit(add.value), Access::Rw));
  ASSERT_EQ(d.kind, Outcome::Kind::Value);
  EXPECT_EQ(target.execute(op_ioctl(lit(d.value), Req::LoopSetFd, lit(foreign.fd))).kind,
            Outcome::Kind::Skipped);
  // An fd number nobody has open is the kernel's to reject.
  Outcome bad = target.execute(op_close(lit(999)));
  EXPECT_EQ(bad.kind, Outcome::Kind::Error);
  EXPECT_EQ(bad.err, EBADF);
  EXPECT_EQ(target.skipped_steps(), 7u);
  target.finish();
  EXPECT_TRUE(target.finish_problems().empty());
  EXPECT_TRUE(host::loop_device_exists(foreign.index));
  EXPECT_TRUE(host::fd_is_open(foreign.fd));
  EXPECT_EQ(host::loop_backing_file(foreign.index), foreign.file);
  EXPECT_FALSE(host::loop_device_exists(static_cast<uint64_t>(add.value)));
}

TEST_F(HostTargetTest, RemovingADeviceHandedByGetFreeIsSkipped) {
  REQUIRE_HOST_LOOP();
  HostTarget target(options_);
  ASSERT_FALSE(target.start(trace_with_file(), "linux-6.18", Env{}).failed);
  Outcome ctl = target.execute(op_open_loop_control());
  Outcome free = target.execute(op_ioctl_noarg(lit(ctl.value), Req::LoopCtlGetFree));
  ASSERT_EQ(free.kind, Outcome::Kind::Value) << "errno " << free.err;
  EXPECT_EQ(free.role, ValueRole::DevIndex);
  EXPECT_EQ(target.execute(op_ioctl(lit(ctl.value), Req::LoopCtlRemove, lit(free.value))).kind,
            Outcome::Kind::Skipped);
  auto owned = target.owned_devices();
  if (owned.count(static_cast<uint64_t>(free.value))) {
    EXPECT_FALSE(owned[static_cast<uint64_t>(free.value)])
        << "a handed device is never counted as created";
  }
  target.finish();
  EXPECT_TRUE(host::loop_device_exists(static_cast<uint64_t>(free.value)));
}

TEST_F(HostTargetTest, AHandedDeviceGetsItsReadOnlyBitBack) {
  REQUIRE_HOST_LOOP();
  HostTarget target(options_);
  ASSERT_FALSE(target.start(trace_with_file(), "linux-6.18", Env{}).failed);
  Outcome ctl = target.execute(op_open_loop_control());
  Outcome free = target.execute(op_ioctl_noarg(lit(ctl.value), Req::LoopCtlGetFree));
  ASSERT_EQ(free.kind, Outcome::Kind::Value) << "errno " << free.err;
  const uint64_t index = static_cast<uint64_t>(free.value);
  if (!target.owned_devices().count(index))
    GTEST_SKIP() << "SKIPPED: the free device is in use elsewhere";
  const std::optional<bool> before = host::loop_read_only(index);
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(*before) << "a claimed device starts writable, as the model assumes";
  // A read-only bind leaves the sticky bit set after the detach...
  Outcome d = target.execute(op_open_loop(lit(free.value), Access::Ro));
  Outcome f = target.execute(op_open_file(0, Access::Ro));
  ASSERT_EQ(target.execute(op_ioctl(lit(d.value), Req::LoopSetFd, lit(f.value))).value, 0);
  ASSERT_EQ(target.execute(op_ioctl_noarg(lit(d.value), Req::LoopClrFd)).value, 0);
  target.execute(op_close(lit(d.value)));
  ASSERT_TRUE(host::wait_until_unbound(index, 5000));
  EXPECT_EQ(host::loop_read_only(index), std::optional<bool>(true));
  // ...and finish() puts back the bit the system's device had.
  target.finish();
  EXPECT_TRUE(target.finish_problems().empty());
  EXPECT_EQ(host::loop_read_only(index), before);
  EXPECT_FALSE(host::loop_device_bound(index));
}

TEST_F(HostTargetTest, FinishLeavesNoDeviceFileOrLedgerBehind) {
  REQUIRE_HOST_LOOP();
  HostTarget target(options_);
  ASSERT_FALSE(target.start(trace_with_file(), "linux-6.18", Env{}).failed);
  const std::string sandbox = target.sandbox_dir();
  ASSERT_TRUE(path_exists(sandbox + "/img"));
  Outcome ctl = target.execute(op_open_loop_control());
  Outcome a = target.execute(op_ioctl(lit(ctl.value), Req::LoopCtlAdd, lit(-1)));
  Outcome b = target.execute(op_ioctl(lit(ctl.value), Req::LoopCtlAdd, lit(-1)));
  ASSERT_EQ(a.kind, Outcome::Kind::Value);
  ASSERT_EQ(b.kind, Outcome::Kind::Value);
  Outcome f = target.execute(op_open_file(0, Access::Rw));
  Outcome da = target.execute(op_open_loop(lit(a.value), Access::Rw));
  Outcome db = target.execute(op_open_loop(lit(b.value), Access::Rw));
  ASSERT_EQ(target.execute(op_ioctl(lit(da.value), Req::LoopSetFd, lit(f.value))).kind,
            Outcome::Kind::Value);
  // b stacked on a, then detached while open: on 6.11+ a deferred teardown.
  ASSERT_EQ(target.execute(op_ioctl(lit(db.value), Req::LoopSetFd, lit(da.value))).kind,
            Outcome::Kind::Value);
  EXPECT_EQ(target.execute(op_pwrite(lit(db.value), 0, 4096, 5)).value, 4096);
  Outcome where = target.execute(op_sysfs(lit(b.value), SysAttr::LoopBackingFile));
  EXPECT_EQ(where.text_view(), "/dev/loop" + std::to_string(a.value));
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(db.value), Req::LoopClrFd)).kind,
            Outcome::Kind::Value);
  EXPECT_EQ(devices_backed_under(sandbox).size(), 1u);
  target.finish();  // nothing closed, nothing removed by the trace itself
  EXPECT_TRUE(target.finish_problems().empty()) << target.finish_problems().front();
  EXPECT_TRUE(devices_backed_under(sandbox).empty());
  EXPECT_FALSE(host::loop_device_exists(static_cast<uint64_t>(a.value)));
  EXPECT_FALSE(host::loop_device_exists(static_cast<uint64_t>(b.value)));
  EXPECT_FALSE(path_exists(sandbox));
  DIR* ledgers = ::opendir((options_.state_dir + "/ledgers").c_str());
  ASSERT_NE(ledgers, nullptr);
  int entries = 0;
  while (struct dirent* e = ::readdir(ledgers)) entries += e->d_name[0] != '.';
  ::closedir(ledgers);
  EXPECT_EQ(entries, 0);
  // No per-device lock is left; the machine-wide loop-control.lock stays (never
  // unlinked, so every run locks the same inode).
  DIR* locks = ::opendir((options_.state_dir + "/locks").c_str());
  std::vector<std::string> names;
  while (struct dirent* e = locks ? ::readdir(locks) : nullptr)
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  if (locks) ::closedir(locks);
  EXPECT_EQ(names, std::vector<std::string>{"loop-control.lock"});
}

// A start that fails is followed by no finish(); it must not keep its share of
// the machine-wide lock, or a trace that observes global loop state (in this
// process or another) would wait for it forever.
TEST_F(HostTargetTest, AFailedStartLeavesTheMachineWideLockFree) {
  REQUIRE_HOST_LOOP();
  HostTargetOptions options = options_;
  options.sandbox_parent = options_.state_dir + "/no-such-parent";
  HostTarget target(options);
  ASSERT_TRUE(target.start(trace_with_file(), "linux-6.18", Env{}).failed);
  const std::string lock = options_.state_dir + "/locks/loop-control.lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "start() took the lock before it failed";
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0) << "the failed target still holds the lock";
  ::close(fd);
}

TEST_F(HostTargetTest, NextStartRecoversExactlyWhatADeadRunLedgerProves) {
  REQUIRE_HOST_LOOP();
  ASSERT_EQ(host::ensure_state_dir(options_.state_dir), 0);
  // The dead run: a sandbox with a file, a device bound to it, one left unbound.
  std::string sandbox;
  ASSERT_EQ(host::make_sandbox_dir("/var/tmp", &sandbox), 0);
  ASSERT_EQ(host::create_backing_file(sandbox + "/img", 64 << 10, 0), 0);
  ForeignDevice bound_dead(6000, false);
  ForeignDevice unbound_dead(7000, false);
  ForeignDevice innocent(8000);  // bound elsewhere; the ledger below lies about it
  ASSERT_TRUE(bound_dead.ok && unbound_dead.ok && innocent.ok);
  int f = ::open((sandbox + "/img").c_str(), O_RDWR | O_CLOEXEC);
  struct stat st;
  ASSERT_EQ(::fstat(f, &st), 0);
  ASSERT_EQ(::ioctl(bound_dead.fd, LOOP_SET_FD, f), 0);
  ::close(f);
  // The dead run's fds died with it.
  ::close(bound_dead.fd);
  ::close(unbound_dead.fd);
  bound_dead.fd = unbound_dead.fd = -1;
  struct stat innocent_st;
  ASSERT_EQ(::stat(innocent.file.c_str(), &innocent_st), 0);
  {
    std::ofstream ledger(options_.state_dir + "/ledgers/run-999999-dead00.ledger");
    ledger << "loopcheck-ledger 1\npid 999999\nsandbox " << sandbox << "\n"
           << "add-intent -1\ncreated " << bound_dead.index << "\n"
           << "add-intent -1\ncreated " << unbound_dead.index << "\n"
           << "created " << innocent.index << "\n"
           << "bind " << bound_dead.index << " " << st.st_dev << " " << st.st_ino << "\n"
           << "bind " << innocent.index << " " << innocent_st.st_dev << " " << innocent_st.st_ino
           << "\n"
           << "bind 0 1 2\n"
           << "handed 0\n"
           << "add-intent 12";  // torn last line: ignored
  }
  HostTarget target(options_);
  ASSERT_FALSE(target.start(trace_with_file(), "linux-6.18", Env{}).failed);
  const host::RecoveryReport& rep = target.last_recovery();
  EXPECT_EQ(rep.dead_ledgers, 1);
  EXPECT_EQ(rep.cleaned_ledgers, 1);
  for (const std::string& p : rep.problems) std::cerr << "recovery: " << p << "\n";
  EXPECT_FALSE(host::loop_device_exists(bound_dead.index));
  EXPECT_FALSE(host::loop_device_exists(unbound_dead.index));
  EXPECT_FALSE(path_exists(sandbox));
  EXPECT_FALSE(path_exists(options_.state_dir + "/ledgers/run-999999-dead00.ledger"));
  // The lie did not work: the innocent device is bound, open and untouched.
  EXPECT_TRUE(host::loop_device_exists(innocent.index));
  EXPECT_EQ(host::loop_backing_file(innocent.index), innocent.file);
  EXPECT_TRUE(host::loop_device_exists(0));
  target.finish();
}

TEST_F(HostTargetTest, LedgerOfALiveRunIsNotRecovered) {
  REQUIRE_HOST_LOOP();
  ASSERT_EQ(host::ensure_state_dir(options_.state_dir), 0);
  host::Ledger live;
  ASSERT_EQ(live.create(options_.state_dir, "/var/tmp/loopcheck-zzzzzz"), 0);
  auto rep = host::recover_dead_runs(options_.state_dir, "/var/tmp");
  EXPECT_EQ(rep.dead_ledgers, 0);
  EXPECT_TRUE(path_exists(live.path()));
  live.discard();
}

// Passes every statement through to HostTarget and remembers which devices its
// LOOP_CTL_ADDs created, so the test can check they are gone afterwards.
class RecordingTarget : public Target {
 public:
  explicit RecordingTarget(HostTarget& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  TargetError start(const Trace& t, std::string_view p, const Env& e) override {
    return inner_.start(t, p, e);
  }
  Outcome execute(const Op& op) override {
    Outcome o = inner_.execute(op);
    if (op.kind == OpKind::Ioctl && op.req == Req::LoopCtlAdd && o.kind == Outcome::Kind::Value) {
      created.insert(static_cast<uint64_t>(o.value));
    }
    return o;
  }
  std::span<const uint8_t> last_read() const override { return inner_.last_read(); }
  void finish() override {
    sandboxes.push_back(inner_.sandbox_dir());
    inner_.finish();
  }
  std::set<uint64_t> created;
  std::vector<std::string> sandboxes;

 private:
  HostTarget& inner_;
};

TEST_F(HostTargetTest, SafetyAForeignBoundDeviceSurvivesACorpusRun) {
  REQUIRE_HOST_LOOP();
  ForeignDevice foreign(9000);
  ASSERT_TRUE(foreign.ok);
  const uint64_t digest_before = foreign.data_digest();
  const std::string backing_before = host::loop_backing_file(foreign.index);

  LoadedTraces loaded =
      load_traces({std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/conformance/common"});
  for (const std::string& e : loaded.errors) std::cerr << "not loaded: " << e << "\n";
  ASSERT_FALSE(loaded.traces.empty());
  // Plus a trace aimed squarely at the foreign device.
  Trace hostile;
  hostile.source = "hostile";
  const int64_t n = static_cast<int64_t>(foreign.index);
  for (Op op : {op_open_loop_control(), op_open_loop(lit(n), Access::Rw),
                op_sysfs(lit(n), SysAttr::Size), op_ioctl_noarg(lit(foreign.fd), Req::LoopClrFd),
                op_ioctl(lit(3), Req::LoopCtlRemove, lit(n)),
                op_pwrite(lit(foreign.fd), 0, 4096, 1), op_close(lit(foreign.fd))}) {
    Statement s;
    s.op = op;
    hostile.stmts.push_back(s);
  }
  loaded.traces.push_back(hostile);

  const model::Profile* profile = model::profile_for_release(host_kernel_release());
  if (!profile) profile = &model::kDefaultProfile;
  HostTarget host(options_);
  RecordingTarget target(host);
  size_t steps = 0, skipped = 0, passed = 0;
  for (const Trace& t : loaded.traces) {
    TraceResult r = run_trace(t, *profile, &target, RunOptions{});
    EXPECT_TRUE(r.error.empty() || !t.env.cap_sys_admin) << t.source << ": " << r.error;
    steps += r.steps.size();
    skipped += r.skipped;
    passed += r.passed;
    // Divergences are the model's or the kernel's business, not this test's; shown for triage.
    for (const StepResult& step : r.steps) {
      if (step.verdict == StepVerdict::Diverged || step.verdict == StepVerdict::ExpectationFailed) {
        std::cerr << t.source << ": step " << step.index + 1 << ": " << step.detail << "\n";
      }
    }
    EXPECT_TRUE(host.finish_problems().empty())
        << t.source << ": " << host.finish_problems().front();
  }
  std::cerr << "corpus through host: " << loaded.traces.size() << " traces, " << steps << " steps, "
            << passed << " passed, " << skipped << " skipped\n";
  EXPECT_GE(skipped, 5u);  // the hostile trace's steps at least

  // The foreign device: same binding, same flags/offset/sizelimit/name, same data, fd alive.
  loop_info64 after{};
  ASSERT_EQ(::ioctl(foreign.fd, LOOP_GET_STATUS64, &after), 0);
  EXPECT_EQ(after.lo_offset, foreign.status.lo_offset);
  EXPECT_EQ(after.lo_sizelimit, foreign.status.lo_sizelimit);
  EXPECT_EQ(after.lo_flags, foreign.status.lo_flags);
  EXPECT_EQ(after.lo_inode, foreign.status.lo_inode);
  EXPECT_EQ(std::memcmp(after.lo_file_name, foreign.status.lo_file_name, LO_NAME_SIZE), 0);
  EXPECT_EQ(host::loop_backing_file(foreign.index), backing_before);
  EXPECT_EQ(foreign.data_digest(), digest_before);
  // Nothing of ours remains.
  for (uint64_t index : target.created)
    EXPECT_FALSE(host::loop_device_exists(index)) << "loop" << index;
  for (const std::string& s : target.sandboxes) {
    EXPECT_FALSE(path_exists(s)) << s;
    EXPECT_TRUE(devices_backed_under(s).empty()) << s;
  }
}

}  // namespace
}  // namespace loopcheck
