// targets/sandbox_dir: the owned (pid-named) sandboxes the inproc target uses
// beside the host target's ledger-tracked ones, on real directories.
#include "targets/sandbox_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace loopcheck::host {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

class SandboxDirTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(make_sandbox_dir(kDefaultSandboxParent, &parent_), 0); }
  void TearDown() override { EXPECT_EQ(remove_sandbox_dir(parent_), 0); }

  // A directory holding a file and a non-empty subdirectory, as a trace leaves one.
  void make_populated(const std::string& dir) {
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << dir;
    ASSERT_EQ(create_backing_file(dir + "/img", 4096, 0xab), 0);
    ASSERT_EQ(::mkdir((dir + "/d").c_str(), 0700), 0);
    ASSERT_EQ(create_backing_file(dir + "/d/inner", 0, 0), 0);
  }

  std::string parent_;
};

TEST_F(SandboxDirTest, AnOwnedSandboxCarriesThisProcessesPid) {
  std::string path;
  ASSERT_EQ(make_owned_sandbox_dir(parent_, "loopcheck-inproc-", &path), 0);
  const std::string expected = parent_ + "/loopcheck-inproc-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(path.substr(0, expected.size()), expected);
  EXPECT_EQ(path.size(), expected.size() + 6);  // mkdtemp's XXXXXX
  EXPECT_TRUE(exists(path));
  EXPECT_FALSE(looks_like_sandbox_dir(path, parent_)) << "host recovery must not claim it";
}

TEST_F(SandboxDirTest, OnlyDeadOwnersSandboxesAreRemoved) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // now a pid nobody runs under
  const std::string prefix = "loopcheck-inproc-";
  const std::string dead = parent_ + "/" + prefix + std::to_string(child) + "-abc123";
  const std::string live = parent_ + "/" + prefix + "1-abc123";  // pid 1 is alive
  const std::string own = parent_ + "/" + prefix + std::to_string(::getpid()) + "-abc123";
  const std::string other_shape = parent_ + "/loopcheck-abc123";  // a host sandbox
  for (const std::string& dir : {dead, live, own, other_shape}) make_populated(dir);

  remove_orphaned_sandbox_dirs(parent_, prefix);
  EXPECT_FALSE(exists(dead)) << "its owner is gone";
  EXPECT_TRUE(exists(live)) << "its owner runs";
  EXPECT_TRUE(exists(own)) << "this process's own";
  EXPECT_TRUE(exists(other_shape)) << "not an owned sandbox";
}

}  // namespace
}  // namespace loopcheck::host
