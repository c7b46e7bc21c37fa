// The ledger of a run and the recovery of killed runs. A killed run is played by
// a forked child that writes its ledger and _exits without discarding it (the
// kernel drops its flock, as for a real kill). Everything lives in a private
// STATE_DIR and sandbox parent under /var/tmp; the only loop devices touched are
// ones this test (or its child) created.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "targets/host/device_cleanup.h"
#include "targets/host/ledger.h"
#include "targets/host/loop_sys.h"
#include "targets/host/recovery.h"
#include "targets/host/state_dir.h"
#include "targets/sandbox_dir.h"
#include "tests/targets/host/host_test_support.h"

namespace loopcheck::host {
namespace {

namespace fs = std::filesystem;

bool contains(const std::vector<std::string>& lines, std::string_view part) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

TEST(ParseLedger, ReadsEveryKindOfLine) {
  LedgerRecord rec;
  std::string why;
  ASSERT_TRUE(
      parse_ledger("loopcheck-ledger 1\npid 4242\nsandbox /var/tmp/loopcheck-Ab12Cd\n"
                   "add-intent -1\ncreated 17\nhanded 3\nbind 17 2049 393231\n"
                   "removed 17\n",
                   &rec, &why))
      << why;
  EXPECT_EQ(rec.pid, 4242);
  EXPECT_EQ(rec.sandbox, "/var/tmp/loopcheck-Ab12Cd");
  EXPECT_EQ(rec.add_intents, std::vector<int64_t>{-1});
  EXPECT_EQ(rec.created, std::vector<uint64_t>{17});
  EXPECT_EQ(rec.handed, std::vector<uint64_t>{3});
  EXPECT_EQ(rec.removed, std::vector<uint64_t>{17});
  ASSERT_EQ(rec.bindings.size(), 1u);
  EXPECT_EQ(rec.bindings[0].index, 17u);
  EXPECT_EQ(rec.bindings[0].dev, 2049u);
  EXPECT_EQ(rec.bindings[0].ino, 393231u);
  EXPECT_TRUE(rec.still_created().empty());
}

TEST(ParseLedger, ATornLastLineIsIgnored) {
  LedgerRecord rec;
  std::string why;
  ASSERT_TRUE(parse_ledger("loopcheck-ledger 1\npid 1\ncreated 4\ncreat", &rec, &why)) << why;
  EXPECT_EQ(rec.created, std::vector<uint64_t>{4});
}

TEST(ParseLedger, AnythingElseIsRejectedWithAReason) {
  LedgerRecord rec;
  std::string why;
  EXPECT_FALSE(parse_ledger("", &rec, &why));
  EXPECT_EQ(why, "empty ledger");
  EXPECT_FALSE(parse_ledger("loopcheck-ledger 2\npid 1\n", &rec, &why));
  EXPECT_EQ(why, "not a loopcheck ledger (bad first line)");
  EXPECT_FALSE(parse_ledger("loopcheck-ledger 1\npid 1\ncreated seventeen\n", &rec, &why));
  EXPECT_EQ(why, "line 3: cannot read 'created seventeen'");
  EXPECT_FALSE(parse_ledger("loopcheck-ledger 1\nbind 1 2\n", &rec, &why));
  EXPECT_FALSE(parse_ledger("loopcheck-ledger 1\nremove-all\n", &rec, &why));
  EXPECT_FALSE(parse_ledger("loopcheck-ledger 1\ncreated -3\n", &rec, &why));
}

TEST(ParseLedger, StillCreatedCountsRecreationsUnderOneIndex) {
  LedgerRecord rec;
  rec.created = {5, 6, 5};
  rec.removed = {5};
  EXPECT_EQ(rec.still_created(), (std::vector<uint64_t>{5, 6}));
  rec.removed = {5, 5, 6};
  EXPECT_TRUE(rec.still_created().empty());
}

class LedgerDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/lc-recovery-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    scratch_ = tmpl;
    state_dir_ = scratch_ + "/state";
    parent_ = scratch_ + "/sandboxes";
    ASSERT_EQ(ensure_state_dir(state_dir_), 0);
    ASSERT_EQ(::mkdir(parent_.c_str(), 0700), 0);
  }
  void TearDown() override {
    for (uint64_t index : own_devices_) {
      if (!loop_device_exists(index)) continue;
      detach_loop_device(index);
      wait_until_unbound(index, 5000);
      remove_loop_device(index, 2000);
    }
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }

  std::vector<std::string> ledger_files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(state_dir_ + "/ledgers"))
      out.push_back(e.path().string());
    return out;
  }
  static std::string read(const std::string& path) {
    std::string text;
    EXPECT_EQ(read_small_file(path, &text), 0) << path;
    return text;
  }
  std::string new_sandbox() {
    std::string path;
    EXPECT_EQ(make_sandbox_dir(parent_, &path), 0);
    EXPECT_EQ(create_backing_file(path + "/img", 64 << 10, 0), 0);
    return path;
  }

  // A run that writes its ledger (and does what `body` does) and dies without
  // finish(). `body` returns false when something it needed failed.
  void run_killed(const std::string& sandbox, const std::function<bool(Ledger&)>& body) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Ledger ledger;
      if (ledger.create(state_dir_, sandbox) != 0) ::_exit(2);
      ::_exit(body(ledger) ? 0 : 3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0) << "the dying run could not do its part";
  }

  std::string scratch_, state_dir_, parent_;
  std::vector<uint64_t> own_devices_;  // created by this test: removed at the end whatever happens
};

TEST_F(LedgerDir, ALedgerRecordsWhatItsRunNotesInOrder) {
  Ledger ledger;
  ASSERT_EQ(ledger.create(state_dir_, "/var/tmp/loopcheck-abcdef"), 0);
  ASSERT_TRUE(ledger.is_open());
  EXPECT_EQ(fs::path(ledger.path()).parent_path(), fs::path(state_dir_ + "/ledgers"));
  EXPECT_EQ(fs::path(ledger.path()).extension(), ".ledger");
  EXPECT_EQ(ledger_files(), std::vector<std::string>{ledger.path()}) << "no temporary left";
  ASSERT_TRUE(ledger.note_add_intent(-1));
  ASSERT_TRUE(ledger.note_created(12));
  ASSERT_TRUE(ledger.note_binding(12, 2049, 77));
  ASSERT_TRUE(ledger.note_handed(3));
  ASSERT_TRUE(ledger.note_removed(12));
  EXPECT_EQ(read(ledger.path()), "loopcheck-ledger 1\npid " + std::to_string(::getpid()) +
                                     "\nsandbox /var/tmp/loopcheck-abcdef\n"
                                     "add-intent -1\ncreated 12\nbind 12 2049 77\nhanded 3\n"
                                     "removed 12\n");
  ledger.discard();
  EXPECT_FALSE(ledger.is_open());
  EXPECT_TRUE(ledger_files().empty());
  EXPECT_FALSE(ledger.note_created(1)) << "nothing is written once the ledger is gone";
}

TEST_F(LedgerDir, AnAbandonedLedgerStaysForTheNextRun) {
  std::string path;
  {
    Ledger ledger;
    ASSERT_EQ(ledger.create(state_dir_, ""), 0);
    path = ledger.path();
    ledger.abandon();
  }
  EXPECT_EQ(ledger_files(), std::vector<std::string>{path});
}

TEST_F(LedgerDir, CreateReportsAMissingStateDir) {
  Ledger ledger;
  EXPECT_EQ(ledger.create(scratch_ + "/nowhere", ""), ENOENT);
  EXPECT_FALSE(ledger.is_open());
}

TEST_F(LedgerDir, ADeadRunsSandboxAndLedgerAreRemoved) {
  const std::string sandbox = new_sandbox();
  const std::string bystander = parent_ + "/not-a-sandbox";
  ASSERT_EQ(::mkdir(bystander.c_str(), 0700), 0);
  // Killed between writing its intent and LOOP_CTL_ADD answering: no device is proved its own.
  run_killed(sandbox, [](Ledger& l) { return l.note_add_intent(-1); });
  ASSERT_EQ(ledger_files().size(), 1u);

  RecoveryReport rep = recover_dead_runs(state_dir_, parent_);
  EXPECT_EQ(rep.dead_ledgers, 1);
  EXPECT_EQ(rep.cleaned_ledgers, 1);
  EXPECT_TRUE(rep.problems.empty()) << rep.problems.front();
  EXPECT_TRUE(contains(rep.actions, "removed " + sandbox));
  EXPECT_FALSE(fs::exists(sandbox));
  EXPECT_TRUE(fs::exists(bystander));
  EXPECT_TRUE(ledger_files().empty());
  // Nothing left to do the second time.
  EXPECT_EQ(recover_dead_runs(state_dir_, parent_).dead_ledgers, 0);
}

TEST_F(LedgerDir, ALiveRunsLedgerIsLeftAlone) {
  const std::string sandbox = new_sandbox();
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(release[1]);  // or the child would never see the parent let go
    Ledger ledger;
    char c = ledger.create(state_dir_, sandbox) == 0 ? 'y' : 'n';
    if (::write(ready[1], &c, 1) != 1) ::_exit(2);
    // Alive, holding the flock, until the parent closes its end.
    [[maybe_unused]] ssize_t n = ::read(release[0], &c, 1);
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(c, 'y');

  RecoveryReport live = recover_dead_runs(state_dir_, parent_);
  EXPECT_EQ(live.dead_ledgers, 0);
  EXPECT_TRUE(live.actions.empty());
  EXPECT_EQ(ledger_files().size(), 1u);
  EXPECT_TRUE(fs::exists(sandbox + "/img"));

  ::close(release[1]);  // the run dies; its ledger is now a dead run's
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  RecoveryReport dead = recover_dead_runs(state_dir_, parent_);
  EXPECT_EQ(dead.dead_ledgers, 1);
  EXPECT_EQ(dead.cleaned_ledgers, 1);
  EXPECT_FALSE(fs::exists(sandbox));
  EXPECT_TRUE(ledger_files().empty());
}

TEST_F(LedgerDir, AMalformedLedgerIsReportedAndNotTrusted) {
  const std::string sandbox = new_sandbox();
  const std::string bad_line = state_dir_ + "/ledgers/run-1-aaaaaa.ledger";
  const std::string not_a_ledger = state_dir_ + "/ledgers/run-2-bbbbbb.ledger";
  std::ofstream(bad_line) << "loopcheck-ledger 1\npid 1\nsandbox " << sandbox
                          << "\ncreated seventeen\n";
  std::ofstream(not_a_ledger) << "sandbox " << sandbox << "\n";

  RecoveryReport rep = recover_dead_runs(state_dir_, parent_);
  EXPECT_EQ(rep.dead_ledgers, 2);
  EXPECT_EQ(rep.cleaned_ledgers, 0);
  EXPECT_TRUE(rep.actions.empty());
  ASSERT_EQ(rep.problems.size(), 2u);
  EXPECT_TRUE(contains(rep.problems, bad_line + ": line 4: cannot read 'created seventeen'"));
  EXPECT_TRUE(contains(rep.problems, not_a_ledger + ": not a loopcheck ledger"));
  EXPECT_TRUE(fs::exists(sandbox + "/img")) << "a sandbox named by a bad ledger is kept";
  EXPECT_TRUE(fs::exists(bad_line));
  EXPECT_TRUE(fs::exists(not_a_ledger));
}

TEST_F(LedgerDir, ASandboxPathOfTheWrongShapeIsNeverRemoved) {
  const std::string victim = scratch_ + "/precious";
  ASSERT_EQ(::mkdir(victim.c_str(), 0700), 0);
  std::ofstream(victim + "/data") << "keep me";
  run_killed(victim, [](Ledger&) { return true; });
  RecoveryReport rep = recover_dead_runs(state_dir_, parent_);
  EXPECT_EQ(rep.dead_ledgers, 1);
  EXPECT_TRUE(contains(rep.problems, "sandbox '" + victim + "' is not a loopcheck sandbox"));
  EXPECT_TRUE(fs::exists(victim + "/data"));
}

// LOOP_CTL_ADD of a chosen index; the index, or -1 when the kernel refused.
int64_t add_device(uint64_t index) {
  int ctl = ::open(kLoopControlPath, O_RDWR | O_CLOEXEC);
  if (ctl < 0) return -1;
  int got = ::ioctl(ctl, LOOP_CTL_ADD, index);
  ::close(ctl);
  return got;
}

// Binds the device to `file`; the loop fd is closed again, as a dead run's would be.
bool bind_device(uint64_t index, const std::string& file) {
  int f = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  int d = open_loop_node(index, O_RDWR, {});
  bool ok = f >= 0 && d >= 0 && ::ioctl(d, LOOP_SET_FD, f) == 0;
  if (f >= 0) ::close(f);
  if (d >= 0) ::close(d);
  return ok;
}

struct FileId {
  uint64_t dev = 0, ino = 0;
};
FileId file_id(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return {st.st_dev, st.st_ino};
}

TEST_F(LedgerDir, ADeadRunsDevicesAreUndoneExactlyAsTheLedgerProves) {
  REQUIRE_HOST_LOOP();
  const std::string sandbox = new_sandbox();
  const std::string img = sandbox + "/img";
  const uint64_t created = testing_support::free_high_index(9000);
  // Stands for a system's precreated device that GET_FREE handed to the dead run.
  const uint64_t handed = testing_support::free_high_index(created + 1);
  ASSERT_EQ(add_device(handed), static_cast<int64_t>(handed));
  own_devices_.push_back(handed);
  // Someone else's device, bound outside the sandbox; the ledger will lie about it.
  const uint64_t foreign = testing_support::free_high_index(handed + 1);
  ASSERT_EQ(add_device(foreign), static_cast<int64_t>(foreign));
  own_devices_.push_back(foreign);
  const std::string outside = scratch_ + "/outside.img";
  ASSERT_EQ(create_backing_file(outside, 64 << 10, 0), 0);
  ASSERT_TRUE(bind_device(foreign, outside));
  own_devices_.push_back(created);

  run_killed(sandbox, [&](Ledger& l) {
    const FileId id = file_id(img), other = file_id(outside);
    return l.note_add_intent(static_cast<int64_t>(created)) &&
           add_device(created) == static_cast<int64_t>(created) && l.note_created(created) &&
           l.note_binding(created, id.dev, id.ino) && bind_device(created, img) &&
           l.note_handed(handed) && l.note_binding(handed, id.dev, id.ino) &&
           bind_device(handed, img) && l.note_created(foreign) &&
           l.note_binding(foreign, other.dev, other.ino);
  });
  ASSERT_EQ(loop_backing_file(created), img);
  ASSERT_EQ(loop_backing_file(handed), img);

  RecoveryReport rep = recover_dead_runs(state_dir_, parent_);
  EXPECT_EQ(rep.dead_ledgers, 1);
  EXPECT_EQ(rep.cleaned_ledgers, 1);
  EXPECT_FALSE(loop_device_exists(created)) << "created by the dead run: detached and removed";
  EXPECT_TRUE(loop_device_exists(handed)) << "handed by GET_FREE: never removed";
  EXPECT_FALSE(loop_device_bound(handed)) << "...but detached from the dead sandbox";
  EXPECT_EQ(loop_backing_file(foreign), outside) << "bound outside the sandbox: not the run's";
  EXPECT_TRUE(contains(rep.problems, "loop" + std::to_string(foreign) + " it created is in use"));
  EXPECT_FALSE(fs::exists(sandbox));
  EXPECT_TRUE(ledger_files().empty());
}

}  // namespace
}  // namespace loopcheck::host
