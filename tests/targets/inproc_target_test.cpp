// InprocTarget: literal trace Ops in, Outcomes in the trace's terms out, with a
// real sandbox that finish() removes. Expectations follow the trace contract
// (trace-format.md) and docs/semantics.md, not the driver's code.
#include "targets/inproc/inproc_target.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "trace/ops.h"
#include "trace/pattern.h"

namespace loopcheck::inproc {
namespace {

Value lit(int64_t v) {
  return Value::signed_literal(v);
}

Trace trace_with_objects() {
  Trace t;
  ObjectDecl img;
  img.name = "img";
  img.size = 1 << 20;
  ObjectDecl filled;
  filled.name = "filled";
  filled.size = 8192;
  filled.fill = 0xcd;
  ObjectDecl dir;
  dir.kind = ObjectDecl::Kind::Dir;
  dir.name = "d";
  t.objects = {img, filled, dir};
  return t;
}

TEST(InprocTarget, UnknownProfileIsAnError) {
  InprocTarget target;
  TargetError err = target.start(Trace{}, "linux-4.19", Env{});
  EXPECT_TRUE(err.failed);
  EXPECT_NE(err.message.find("linux-4.19"), std::string::npos);
}

TEST(InprocTarget, LifecycleThroughOps) {
  InprocTarget target;
  ASSERT_FALSE(target.start(trace_with_objects(), "linux-6.18", Env{}).failed);

  Outcome ctl = target.execute(op_open_loop_control());
  ASSERT_EQ(ctl.kind, Outcome::Kind::Value);
  EXPECT_EQ(ctl.role, ValueRole::Fd);
  EXPECT_EQ(ctl.value, 3);
  Outcome n = target.execute(op_ioctl_noarg(lit(ctl.value), Req::LoopCtlGetFree));
  EXPECT_EQ(n.role, ValueRole::DevIndex);
  EXPECT_EQ(n.value, 0);
  Outcome d = target.execute(op_open_loop(lit(n.value), Access::Rw));
  Outcome f = target.execute(op_open_file(0, Access::Ro));
  EXPECT_EQ(d.value, 4);
  EXPECT_EQ(f.value, 5);
  EXPECT_EQ(target.execute(op_ioctl(lit(d.value), Req::LoopSetFd, lit(f.value))).value, 0);
  Outcome ro = target.execute(op_sysfs(lit(0), SysAttr::Ro));
  ASSERT_EQ(ro.kind, Outcome::Kind::Text);
  EXPECT_EQ(ro.text_view(), "1");
  EXPECT_EQ(target.execute(op_sysfs(lit(0), SysAttr::LoopBackingFile)).text_view(), "img");
  EXPECT_EQ(target.execute(op_sysfs(lit(0), SysAttr::Size)).text_view(), "2048");

  Outcome st = target.execute(op_ioctl_noarg(lit(d.value), Req::LoopGetStatus64));
  ASSERT_EQ(st.kind, Outcome::Kind::Status);
  struct stat real;
  ASSERT_EQ(::stat(target.object_path(0).c_str(), &real), 0);
  EXPECT_EQ(st.status.inode, real.st_ino);
  EXPECT_EQ(st.status.device, real.st_dev);
  EXPECT_EQ(st.status.flags, uint32_t{kLoReadOnly});

  Outcome w = target.execute(op_pwrite(lit(d.value), 0, 2, 1));
  EXPECT_EQ(w.kind, Outcome::Kind::Error);
  EXPECT_EQ(w.err, EPERM);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d.value), Req::LoopClrFd)).value, 0);
  Outcome again = target.execute(op_ioctl_noarg(lit(d.value), Req::LoopClrFd));
  EXPECT_EQ(again.err, ENXIO);
  EXPECT_EQ(target.execute(op_close(lit(d.value))).value, 0);
  EXPECT_EQ(target.execute(op_close(lit(d.value))).err, EBADF);
  EXPECT_EQ(target.execute(op_sysfs(lit(0), SysAttr::LoopOffset)).err, ENOENT);
  EXPECT_EQ(target.execute(op_sysfs(lit(77), SysAttr::Size)).err, ENOENT);
  EXPECT_NE(target.summary().find("fds open"), std::string::npos);
  target.finish();
}

TEST(InprocTarget, DataDigestAndLastRead) {
  InprocTarget target;
  ASSERT_FALSE(target.start(trace_with_objects(), "linux-6.18", Env{}).failed);
  int64_t d = target.execute(op_open_loop(lit(1), Access::Rw)).value;
  int64_t f = target.execute(op_open_file(0, Access::Rw)).value;
  StructFields fields;
  fields.set(Field::Fd, lit(f));
  fields.set(Field::Offset, lit(4096));
  EXPECT_EQ(target.execute(op_ioctl_struct(lit(d), Req::LoopConfigure, fields)).value, 0);
  EXPECT_EQ(target.execute(op_pwrite(lit(d), 512, 3000, 7)).value, 3000);
  Outcome r = target.execute(op_pread(lit(d), 512, 3000));
  ASSERT_EQ(r.kind, Outcome::Kind::Data);
  EXPECT_EQ(r.value, 3000);
  std::vector<uint8_t> expect(3000);
  pattern_fill(7, 0, expect.data(), expect.size());
  EXPECT_EQ(r.digest, XXH3_64bits(expect.data(), expect.size()));
  std::span<const uint8_t> got = target.last_read();
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), expect);
  // Through the backing file, after the device is flushed: shifted by the offset.
  EXPECT_EQ(target.execute(op_fsync(lit(d))).value, 0);
  Outcome raw = target.execute(op_pread(lit(f), 4096 + 512, 3000));
  EXPECT_EQ(raw.digest, r.digest);

  int64_t filled = target.execute(op_open_file(1, Access::Ro)).value;
  Outcome z = target.execute(op_pread(lit(filled), 8000, 1000));
  EXPECT_EQ(z.value, 192);
  EXPECT_EQ(std::vector<uint8_t>(target.last_read().begin(), target.last_read().end()),
            std::vector<uint8_t>(192, 0xcd));
  EXPECT_EQ(target.execute(op_truncate(1, 100)).value, 0);
  EXPECT_EQ(target.execute(op_pread(lit(filled), 0, 1000)).value, 100);
}

TEST(InprocTarget, StructArgumentsAndBlockGetters) {
  InprocTarget target;
  ASSERT_FALSE(target.start(trace_with_objects(), "linux-6.18", Env{}).failed);
  int64_t d = target.execute(op_open_loop(lit(0), Access::Rw)).value;
  int64_t f = target.execute(op_open_file(0, Access::Rw)).value;
  int64_t dir = target.execute(op_open_dir(2)).value;
  EXPECT_EQ(target.execute(op_ioctl_null(lit(d), Req::LoopConfigure)).err, EFAULT);
  EXPECT_EQ(target.execute(op_ioctl_null(lit(d), Req::LoopGetStatus64)).err, EINVAL);
  EXPECT_EQ(target.execute(op_ioctl(lit(d), Req::LoopSetFd, lit(dir))).err, EINVAL);
  EXPECT_EQ(target.execute(op_ioctl_raw(lit(d), 0x4c0b, lit(0))).err, EINVAL);
  EXPECT_EQ(target.execute(op_ioctl_raw(lit(f), 0x4c0b, lit(0))).err, ENOTTY);
  EXPECT_EQ(target.execute(op_ioctl(lit(d), Req::LoopSetFd, lit(f))).value, 0);
  StructFields st;
  st.set(Field::Sizelimit, lit(4096));
  st.set(Field::Flags, lit(kLoAutoclear));
  st.name.len = 3;
  std::memcpy(st.name.bytes.data(), "abc", 3);
  EXPECT_EQ(target.execute(op_ioctl_struct(lit(d), Req::LoopSetStatus64, st)).value, 0);
  Outcome got = target.execute(op_ioctl_noarg(lit(d), Req::LoopGetStatus));
  ASSERT_EQ(got.kind, Outcome::Kind::Status);
  EXPECT_EQ(got.status.name.view(), "abc");
  EXPECT_EQ(got.status.flags, uint32_t{kLoAutoclear});
  EXPECT_EQ(got.status.number, 0u);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d), Req::BlkGetSize64)).value, 4096);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d), Req::BlkGetSize)).value, 8);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d), Req::BlkSszGet)).value, 512);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d), Req::BlkPbszGet)).value, 512);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d), Req::BlkRoGet)).value, 0);
  EXPECT_EQ(target.execute(op_ioctl(lit(d), Req::BlkRoSet, lit(1))).value, 0);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d), Req::BlkRoGet)).value, 1);
  EXPECT_EQ(target.execute(op_ioctl_null(lit(d), Req::BlkGetSize64)).err, EFAULT);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d), Req::BlkFlsBuf)).value, 0);
  int64_t ctl = target.execute(op_open_loop_control()).value;
  EXPECT_EQ(target.execute(op_ioctl(lit(ctl), Req::LoopCtlAdd, lit(-1))).value, 8);
  EXPECT_EQ(target.execute(op_ioctl(lit(ctl), Req::LoopCtlRemove, lit(0))).err, EBUSY);
}

TEST(InprocTarget, EnvAndProfileReachTheDriver) {
  Env env;
  env.precreated = 2;
  InprocTarget target;
  ASSERT_FALSE(target.start(trace_with_objects(), "linux-6.1", env).failed);
  int64_t ctl = target.execute(op_open_loop_control()).value;
  EXPECT_EQ(target.execute(op_ioctl(lit(ctl), Req::LoopCtlAdd, lit(-1))).value, 2);
  int64_t d = target.execute(op_open_loop(lit(0), Access::Rw)).value;
  int64_t f = target.execute(op_open_file(0, Access::Rw)).value;
  EXPECT_EQ(target.execute(op_ioctl(lit(d), Req::LoopSetFd, lit(f))).value, 0);
  EXPECT_EQ(target.execute(op_ioctl_noarg(lit(d), Req::LoopClrFd)).value, 0);
  // 6.1: torn down synchronously, so the same fd can bind again at once.
  EXPECT_EQ(target.execute(op_ioctl(lit(d), Req::LoopSetFd, lit(f))).value, 0);
}

// Between traces a kept file is rewritten only when the last trace changed it
// (through any fd, the loop driver's backing I/O, or truncate): an untouched
// file keeps its inode data and timestamps, a changed one is back as declared.
TEST(InprocTarget, KeptFilesAreResetOnlyWhenChanged) {
  InprocTarget target;
  auto mtime_ns = [](const std::string& p) {
    struct stat st;
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  };
  ASSERT_FALSE(target.start(trace_with_objects(), "", Env{}).failed);
  const std::string img = target.object_path(0), filled = target.object_path(1);
  const int64_t img_mtime = mtime_ns(img), filled_mtime = mtime_ns(filled);
  // Change "filled" through a bound device; only read "img".
  int64_t d = target.execute(op_open_loop(lit(0), Access::Rw)).value;
  int64_t f = target.execute(op_open_file(1, Access::Rw)).value;
  EXPECT_EQ(target.execute(op_ioctl(lit(d), Req::LoopSetFd, lit(f))).value, 0);
  EXPECT_EQ(target.execute(op_pwrite(lit(d), 0, 512, 9)).value, 512);
  EXPECT_EQ(target.execute(op_fsync(lit(d))).value, 0);
  int64_t i = target.execute(op_open_file(0, Access::Ro)).value;
  EXPECT_EQ(target.execute(op_pread(lit(i), 0, 4096)).kind, Outcome::Kind::Data);
  target.finish();

  ::usleep(20000);  // so that a rewrite would show in the timestamps
  ASSERT_FALSE(target.start(trace_with_objects(), "", Env{}).failed);
  EXPECT_EQ(mtime_ns(img), img_mtime) << "an untouched file is not rewritten";
  EXPECT_NE(mtime_ns(filled), filled_mtime) << "a changed file is rewritten";
  int64_t g = target.execute(op_open_file(1, Access::Ro)).value;
  Outcome back = target.execute(op_pread(lit(g), 0, 8192));
  ASSERT_EQ(back.value, 8192);
  EXPECT_TRUE(std::all_of(target.last_read().begin(), target.last_read().end(),
                          [](uint8_t b) { return b == 0xcd; }));

  // Truncation changes a file too: shrunk, it comes back at its declared size
  // with its declared content (zeros, or the fill past the cut).
  EXPECT_EQ(target.execute(op_truncate(0, 100)).value, 0);
  EXPECT_EQ(target.execute(op_truncate(1, 100)).value, 0);
  target.finish();
  ASSERT_FALSE(target.start(trace_with_objects(), "", Env{}).failed);
  struct stat st;
  ASSERT_EQ(::stat(img.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  int64_t h = target.execute(op_open_file(1, Access::Ro)).value;
  ASSERT_EQ(target.execute(op_pread(lit(h), 0, 8192)).value, 8192);
  EXPECT_TRUE(std::all_of(target.last_read().begin(), target.last_read().end(),
                          [](uint8_t b) { return b == 0xcd; }));
}

// A trace whose file had a partition table leaves that sector behind unless the
// next trace's file of the same name is written afresh: the table is start()'s
// write, which no trace change records (gen --seed 1 --ops 16: trace 47 after 46
// read the MBR's bytes).
TEST(InprocTarget, AFileThatHadATableComesBackWithoutIt) {
  InprocTarget target;
  Trace with_table = trace_with_objects();
  with_table.objects[0].mbr.entry[with_table.objects[0].mbr.count++] = PartitionEntry{8, 32};
  ASSERT_FALSE(target.start(with_table, "", Env{}).failed);
  target.finish();
  ASSERT_FALSE(target.start(trace_with_objects(), "", Env{}).failed);
  const int64_t f = target.execute(op_open_file(0, Access::Ro)).value;
  ASSERT_EQ(target.execute(op_pread(lit(f), 0, 512)).value, 512);
  EXPECT_TRUE(std::all_of(target.last_read().begin(), target.last_read().end(),
                          [](uint8_t b) { return b == 0; }))
      << "no 0x55 0xAA, no entry";
}

// A killed process leaves its sandbox behind: the next target removes those
// whose owner (the pid in the name) is gone, and no other.
TEST(InprocTarget, SandboxesOfDeadProcessesAreRemovedOthersKept) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // now a pid nobody runs under
  const std::string stale = "/var/tmp/loopcheck-inproc-" + std::to_string(child) + "-test01";
  const std::string live = "/var/tmp/loopcheck-inproc-1-test01";  // pid 1 is alive
  for (const std::string& dir : {stale, live}) {
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << dir;
    int fd = ::open((dir + "/img").c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  {
    InprocTarget target;
    ASSERT_FALSE(target.start(trace_with_objects(), "", Env{}).failed);
    EXPECT_NE(target.object_path(0).find("/loopcheck-inproc-" + std::to_string(::getpid()) + "-"),
              std::string::npos);
  }
  struct stat st;
  EXPECT_NE(::stat(stale.c_str(), &st), 0) << "a dead process's sandbox is removed";
  EXPECT_EQ(::stat(live.c_str(), &st), 0) << "a live process's sandbox is kept";
  ::unlink((live + "/img").c_str());
  ::rmdir(live.c_str());
}

TEST(InprocTarget, FinishRemovesSandboxAndThreads) {
  std::string path;
  {
    InprocTarget target;
    ASSERT_FALSE(target.start(trace_with_objects(), "", Env{}).failed);
    path = target.object_path(0);
    int64_t d = target.execute(op_open_loop(lit(0), Access::Rw)).value;
    int64_t f = target.execute(op_open_file(0, Access::Rw)).value;
    EXPECT_EQ(target.execute(op_ioctl(lit(d), Req::LoopSetFd, lit(f))).value, 0);
    EXPECT_EQ(target.execute(op_pwrite(lit(d), 0, 4096, 1)).value, 4096);
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    target.finish();
    EXPECT_EQ(target.execute(op_close(lit(d))).kind, Outcome::Kind::Skipped);
    // Reusable after finish, and the kept file starts over: the 4 KiB written
    // above through the device are gone.
    ASSERT_FALSE(target.start(trace_with_objects(), "linux-6.12", Env{}).failed);
    EXPECT_EQ(target.execute(op_open_loop_control()).value, 3);
    int64_t f2 = target.execute(op_open_file(0, Access::Rw)).value;
    Outcome fresh = target.execute(op_pread(lit(f2), 0, 4096));
    ASSERT_EQ(fresh.kind, Outcome::Kind::Data);
    std::vector<uint8_t> zeros(4096, 0);
    EXPECT_TRUE(std::equal(target.last_read().begin(), target.last_read().end(), zeros.begin()));
    target.finish();
    // A trace without that object: the stale file goes at its start.
    Trace other;
    other.objects.push_back(ObjectDecl{ObjectDecl::Kind::File, "other", 4096, 0, {}});
    ASSERT_FALSE(target.start(other, "", Env{}).failed);
    EXPECT_NE(::stat(path.c_str(), &st), 0);
  }
  struct stat st;
  EXPECT_NE(::stat(path.substr(0, path.rfind('/')).c_str(), &st), 0);
}

}  // namespace
}  // namespace loopcheck::inproc
