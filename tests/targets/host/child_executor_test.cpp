// A process thread's executor (targets/host/child_executor.h): a real child
// process with its own fd table, on real files (no loop device needed).
#include "targets/host/child_executor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "targets/host/loop_sys.h"
#include "targets/sandbox_dir.h"
#include "trace/ops.h"

namespace loopcheck::host {
namespace {

class ChildExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(make_sandbox_dir("/var/tmp", &dir_), 0);
    ASSERT_EQ(create_backing_file(dir_ + "/img", 64 << 10, 0), 0);
  }
  void TearDown() override { remove_sandbox_dir(dir_); }
  SyscallExecutorConfig config() const { return {dir_, {"img"}, ""}; }
  std::string dir_;
};

TEST_F(ChildExecutorTest, OpensInItsOwnFdTableAboveTheParentsNumbers) {
  ChildExecutor child(config(), false);
  ASSERT_EQ(child.error(), "");
  CallClock clock;
  const Outcome fd = child.execute(op_open_file(0, Access::Rw), clock);
  ASSERT_EQ(fd.kind, Outcome::Kind::Value);
  EXPECT_EQ(fd.role, ValueRole::Fd);
  EXPECT_GE(fd.value, kChildFdBase);
  EXPECT_GT(clock.start_ns, 0);
  EXPECT_LE(clock.start_ns, clock.end_ns);
  EXPECT_LE(clock.end_ns, monotonic_ns());  // the child's clock is the system's
  // The fd is the child's: not open here, readable there.
  EXPECT_EQ(::fcntl(static_cast<int>(fd.value), F_GETFD), -1);
  const Outcome read = child.execute(op_pread(Value::signed_literal(fd.value), 0, 4096), clock);
  EXPECT_EQ(read.kind, Outcome::Kind::Data);
  EXPECT_EQ(read.value, 4096);
  EXPECT_EQ(child.execute(op_close(Value::signed_literal(fd.value)), clock).value, 0);
  EXPECT_EQ(child.execute(op_close(Value::signed_literal(fd.value)), clock).err, EBADF);
}

TEST_F(ChildExecutorTest, HoldsNoCopyOfTheParentsFds) {
  // Above the child's own socket (fd 3), so that EBADF can only mean "not inherited".
  const int opened = ::open((dir_ + "/img").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(opened, 0);
  const int parent_fd = ::fcntl(opened, F_DUPFD_CLOEXEC, 100);
  ::close(opened);
  ASSERT_GE(parent_fd, 100);
  ChildExecutor child(config(), false);
  ASSERT_EQ(child.error(), "");
  CallClock clock;
  // Were the fd inherited, the file would stay open in the child until it ends.
  EXPECT_EQ(child.execute(op_pread(Value::signed_literal(parent_fd), 0, 512), clock).err, EBADF);
  ::close(parent_fd);
}

TEST_F(ChildExecutorTest, ExecutorsOfOneBlockAreSeparateProcesses) {
  ChildExecutor a(config(), false), b(config(), false);
  CallClock clock;
  const Outcome fd = a.execute(op_open_file(0, Access::Ro), clock);
  ASSERT_EQ(fd.kind, Outcome::Kind::Value);
  EXPECT_EQ(b.execute(op_close(Value::signed_literal(fd.value)), clock).err, EBADF);
  EXPECT_EQ(a.execute(op_close(Value::signed_literal(fd.value)), clock).value, 0);
}

}  // namespace
}  // namespace loopcheck::host
