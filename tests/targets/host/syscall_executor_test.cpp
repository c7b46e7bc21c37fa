// The executor against this machine's real kernel, on a device the test creates
// itself at a high free index (never loop0..7, never anyone else's).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <iostream>
#include <vector>

#include "targets/host/device_cleanup.h"
#include "targets/host/syscall_executor.h"
#include "targets/host/host_target.h"
#include "targets/host/loop_sys.h"
#include "targets/sandbox_dir.h"
#include "tests/targets/host/host_test_support.h"
#include "trace/ops.h"
#include "trace/pattern.h"

namespace loopcheck {
namespace {

using host::SyscallExecutor;

Value lit(int64_t v) {
  return Value::signed_literal(v);
}

using testing_support::free_high_index;

TEST(SyscallExecutorNoKernel, BackingFileNamesTranslateOnlyInsideTheObjectDir) {
  SyscallExecutor ex({"/var/tmp/loopcheck-abcdef", {"img"}, ""});
  EXPECT_EQ(ex.backing_file_in_trace_terms("/var/tmp/loopcheck-abcdef/img"), "img");
  EXPECT_EQ(ex.backing_file_in_trace_terms("/var/tmp/loopcheck-abcdef/img (deleted)"),
            "img (deleted)");
  EXPECT_EQ(ex.backing_file_in_trace_terms("/dev/loop12"), "/dev/loop12");
  EXPECT_EQ(ex.backing_file_in_trace_terms("/var/tmp/loopcheck-abcdefX/img"),
            "/var/tmp/loopcheck-abcdefX/img");
  EXPECT_EQ(ex.object_path(0), "/var/tmp/loopcheck-abcdef/img");
}

class SyscallExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!host_loop_available(&why)) return;
    ASSERT_EQ(host::make_sandbox_dir("/var/tmp", &dir_), 0);
    ASSERT_EQ(host::create_backing_file(dir_ + "/img", 1 << 20, 0), 0);
    index_ = free_high_index(4000);
  }
  // Whatever an assertion left half done: only our device, only if bound to our file.
  void TearDown() override {
    if (dir_.empty()) return;
    if (host::binding_owner(index_, dir_, {}) == host::BindingOwner::Ours) {
      host::detach_loop_device(index_);
      host::wait_until_unbound(index_, 5000);
    }
    if (created_ && host::loop_device_exists(index_)) host::remove_loop_device(index_, 2000);
    host::remove_sandbox_dir(dir_);
  }

  // The configured binding (offset 4096, name "img") as the status ioctls and the
  // size getters report it.
  void expect_status_and_size(SyscallExecutor& ex, int64_t dev_fd) {
    struct stat st;
    ASSERT_EQ(::stat((dir_ + "/img").c_str(), &st), 0);
    Outcome status = ex.execute(op_ioctl_noarg(lit(dev_fd), Req::LoopGetStatus64));
    ASSERT_EQ(status.kind, Outcome::Kind::Status);
    EXPECT_EQ(status.status.offset, 4096u);
    EXPECT_EQ(status.status.number, index_);
    EXPECT_EQ(status.status.inode, st.st_ino);
    EXPECT_EQ(status.status.device, st.st_dev);
    EXPECT_EQ(status.status.name.view(), "img");
    Outcome legacy = ex.execute(op_ioctl_noarg(lit(dev_fd), Req::LoopGetStatus));
    ASSERT_EQ(legacy.kind, Outcome::Kind::Status);
    EXPECT_EQ(legacy.status.offset, 4096u);
    EXPECT_EQ(legacy.status.name.view(), "img");
    Outcome null_status = ex.execute(op_ioctl_null(lit(dev_fd), Req::LoopGetStatus64));
    EXPECT_EQ(null_status.err,
              EINVAL);  // the driver rejects a NULL pointer itself before copy_to_user

    Outcome size = ex.execute(op_ioctl_noarg(lit(dev_fd), Req::BlkGetSize64));
    EXPECT_EQ(size.value, (1 << 20) - 4096);
    Outcome sectors = ex.execute(op_ioctl_noarg(lit(dev_fd), Req::BlkGetSize));
    EXPECT_EQ(sectors.value, ((1 << 20) - 4096) / 512);
    EXPECT_EQ(ex.execute(op_ioctl_noarg(lit(dev_fd), Req::BlkSszGet)).value, 512);
    EXPECT_EQ(ex.execute(op_ioctl_noarg(lit(dev_fd), Req::BlkRoGet)).value, 0);
  }

  // Data written through the device lands in the file at the offset, byte for byte.
  void expect_data_at_offset(SyscallExecutor& ex, int64_t dev_fd, int64_t file_fd) {
    Outcome wrote = ex.execute(op_pwrite(lit(dev_fd), 0, 8192, 7));
    EXPECT_EQ(wrote.value, 8192);
    EXPECT_EQ(ex.execute(op_fsync(lit(dev_fd))).kind, Outcome::Kind::Value);
    std::vector<uint8_t> expected(8192);
    pattern_fill(7, 0, expected.data(), expected.size());
    Outcome from_file = ex.execute(op_pread(lit(file_fd), 4096, 8192));
    ASSERT_EQ(from_file.kind, Outcome::Kind::Data);
    ASSERT_EQ(from_file.value, 8192);
    EXPECT_EQ(from_file.digest, XXH3_64bits(expected.data(), expected.size()));
    auto bytes = ex.last_read();
    ASSERT_EQ(bytes.size(), expected.size());
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), expected.begin()));
    Outcome from_dev = ex.execute(op_pread(lit(dev_fd), 0, 8192));
    EXPECT_EQ(from_dev.digest, from_file.digest);
  }

  std::string sysfs_of(SyscallExecutor& ex, SysAttr attr) {
    Outcome o = ex.execute(op_sysfs(lit(static_cast<int64_t>(index_)), attr));
    return o.kind == Outcome::Kind::Text ? std::string(o.text_view())
                                         : "errno " + std::to_string(o.err);
  }

  std::string dir_;
  uint64_t index_ = 0;
  bool created_ = false;
};

TEST_F(SyscallExecutorTest, BindStatusDataSysfsAndCleanupOnTheRealKernel) {
  REQUIRE_HOST_LOOP();
  SyscallExecutor ex({dir_, {"img"}, dir_});
  Outcome ctl = ex.execute(op_open_loop_control());
  ASSERT_EQ(ctl.kind, Outcome::Kind::Value);
  EXPECT_EQ(ctl.role, ValueRole::Fd);

  Outcome add =
      ex.execute(op_ioctl(lit(ctl.value), Req::LoopCtlAdd, lit(static_cast<int64_t>(index_))));
  ASSERT_EQ(add.kind, Outcome::Kind::Value) << "errno " << add.err;
  created_ = true;
  EXPECT_EQ(add.value, static_cast<int64_t>(index_));
  EXPECT_EQ(add.role, ValueRole::DevIndex);
  Outcome again =
      ex.execute(op_ioctl(lit(ctl.value), Req::LoopCtlAdd, lit(static_cast<int64_t>(index_))));
  EXPECT_EQ(again.kind, Outcome::Kind::Error);
  EXPECT_EQ(again.err, EEXIST);

  Outcome d = ex.execute(op_open_loop(lit(static_cast<int64_t>(index_)), Access::Rw));
  ASSERT_EQ(d.kind, Outcome::Kind::Value) << "errno " << d.err;
  Outcome f = ex.execute(op_open_file(0, Access::Rw));
  ASSERT_EQ(f.kind, Outcome::Kind::Value);

  Outcome unbound = ex.execute(op_ioctl_noarg(lit(d.value), Req::LoopGetStatus64));
  EXPECT_EQ(unbound.kind, Outcome::Kind::Error);
  EXPECT_EQ(unbound.err, ENXIO);

  StructFields cfg;
  cfg.set(Field::Fd, lit(f.value));
  cfg.set(Field::Offset, lit(4096));
  cfg.name.len = 3;
  std::memcpy(cfg.name.bytes.data(), "img", 3);
  cfg.present |= field_bit(Field::Name);
  Outcome configured = ex.execute(op_ioctl_struct(lit(d.value), Req::LoopConfigure, cfg));
  ASSERT_EQ(configured.kind, Outcome::Kind::Value) << "errno " << configured.err;

  ASSERT_NO_FATAL_FAILURE(expect_status_and_size(ex, d.value));
  ASSERT_NO_FATAL_FAILURE(expect_data_at_offset(ex, d.value, f.value));
  auto sysfs_text = [&](SysAttr attr) { return sysfs_of(ex, attr); };
  EXPECT_EQ(sysfs_text(SysAttr::Size), "2040");
  EXPECT_EQ(sysfs_text(SysAttr::LoopOffset), "4096");
  EXPECT_EQ(sysfs_text(SysAttr::LoopBackingFile), "img");
  EXPECT_EQ(sysfs_text(SysAttr::QueueLogicalBlockSize), "512");

  EXPECT_EQ(ex.execute(op_ioctl_noarg(lit(d.value), Req::LoopClrFd)).kind, Outcome::Kind::Value);
  EXPECT_EQ(ex.execute(op_close(lit(d.value))).kind, Outcome::Kind::Value);
  EXPECT_TRUE(host::wait_until_unbound(index_, 5000));
  EXPECT_EQ(sysfs_text(SysAttr::LoopOffset), "errno " + std::to_string(ENOENT));
  EXPECT_EQ(sysfs_text(SysAttr::Size), "0");
  Outcome removed =
      ex.execute(op_ioctl(lit(ctl.value), Req::LoopCtlRemove, lit(static_cast<int64_t>(index_))));
  EXPECT_EQ(removed.kind, Outcome::Kind::Value) << "errno " << removed.err;
  EXPECT_FALSE(host::loop_device_exists(index_));
  EXPECT_EQ(ex.execute(op_close(lit(f.value))).kind, Outcome::Kind::Value);
  EXPECT_EQ(ex.execute(op_close(lit(ctl.value))).kind, Outcome::Kind::Value);
  EXPECT_EQ(ex.execute(op_close(lit(ctl.value))).err, EBADF);
}

TEST_F(SyscallExecutorTest, ODirectReadsUseAnAlignedBuffer) {
  REQUIRE_HOST_LOOP();
  SyscallExecutor ex({dir_, {"img"}, dir_});
  Outcome f = ex.execute(op_open_file(0, Access::Rw, kOpenDirect));
  ASSERT_EQ(f.kind, Outcome::Kind::Value) << "errno " << f.err;
  EXPECT_EQ(ex.execute(op_pwrite(lit(f.value), 4096, 4096, 3)).value, 4096);
  Outcome r = ex.execute(op_pread(lit(f.value), 4096, 4096));
  ASSERT_EQ(r.kind, Outcome::Kind::Data) << "errno " << r.err;
  std::vector<uint8_t> expected(4096);
  pattern_fill(3, 0, expected.data(), expected.size());
  EXPECT_EQ(r.digest, XXH3_64bits(expected.data(), expected.size()));
  ex.execute(op_close(lit(f.value)));
}

}  // namespace
}  // namespace loopcheck
