// The kernel cache's pure parts and its messages for bad input: a version that
// cannot exist, a missing cache entry. (Fetching a real package is exercised by
// vm_boot_test, which needs apt.)
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "targets/vm/kernel_cache.h"

namespace loopcheck::vm {
namespace {

TEST(VmKernelCache, VersionOrderIsNumericPerComponent) {
  EXPECT_TRUE(version_less("6.1.0-9-cloud-amd64", "6.1.0-56-cloud-amd64"));
  EXPECT_TRUE(version_less("6.1.0-56-cloud-amd64", "6.12.117+deb12-cloud-amd64"));
  EXPECT_TRUE(version_less("6.12.9+deb12-cloud-amd64", "6.12.117+deb12-cloud-amd64"));
  EXPECT_FALSE(version_less("6.12.117+deb12-cloud-amd64", "6.12.117+deb12-cloud-amd64"));
  EXPECT_FALSE(version_less("6.12.117+deb12-cloud-amd64", "6.1.0-56-cloud-amd64"));
}

TEST(VmKernelCache, ImplausibleVersionsNeverBecomePaths) {
  EXPECT_TRUE(plausible_kernel_version("6.12.117+deb12-cloud-amd64"));
  EXPECT_FALSE(plausible_kernel_version(""));
  EXPECT_FALSE(plausible_kernel_version("../../etc"));
  EXPECT_FALSE(plausible_kernel_version("6.1 -rf"));
  EXPECT_FALSE(plausible_kernel_version("cloud-amd64"));
  FetchResult r = fetch_kernel("6.1/../../x");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("is not a kernel version"), std::string::npos) << r.error;
}

class VmKernelCacheDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/loopcheck-cache-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const char* old = getenv("LOOPCHECK_CACHE");
    had_old_ = old != nullptr;
    if (old) old_ = old;
    setenv("LOOPCHECK_CACHE", dir_.c_str(), 1);
  }
  void TearDown() override {
    if (had_old_) {
      setenv("LOOPCHECK_CACHE", old_.c_str(), 1);
    } else {
      unsetenv("LOOPCHECK_CACHE");
    }
    std::filesystem::remove_all(dir_);
  }
  std::string dir_, old_;
  bool had_old_ = false;
};

TEST_F(VmKernelCacheDir, MissingKernelNamesTheFetchCommand) {
  KernelFiles files;
  std::string why;
  EXPECT_FALSE(cached_kernel("6.1.0-56-cloud-amd64", &files, &why));
  EXPECT_NE(why.find("loopcheck kernels fetch 6.1.0-56-cloud-amd64"), std::string::npos) << why;
  EXPECT_TRUE(cached_kernel_versions().empty());
}

void touch(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  std::fclose(f);
}

TEST_F(VmKernelCacheDir, OnlyVerifiedDirectoriesCount) {
  namespace fs = std::filesystem;
  fs::create_directories(dir_ + "/kernels/6.1.0-56-cloud-amd64");  // a fetch that died half-way
  fs::create_directories(dir_ + "/kernels/6.12.117+deb12-cloud-amd64");
  touch(dir_ + "/kernels/6.12.117+deb12-cloud-amd64/VERIFIED");
  touch(dir_ + "/kernels/6.12.117+deb12-cloud-amd64/brd.ko");
  touch(dir_ + "/kernels/6.12.117+deb12-cloud-amd64/channel");
  EXPECT_EQ(cached_kernel_versions(), std::vector<std::string>{"6.12.117+deb12-cloud-amd64"});
}

// A kernel an older loopcheck fetched has no brd.ko (the guest's RAM disk) and no
// channel mark: it counts as not cached, so `kernels fetch` renews it instead of
// booting a guest with no disk.
TEST_F(VmKernelCacheDir, AVerifiedDirectoryWithoutTheRamDiskDriverIsRefetched) {
  namespace fs = std::filesystem;
  fs::create_directories(dir_ + "/kernels/6.1.0-56-cloud-amd64");
  touch(dir_ + "/kernels/6.1.0-56-cloud-amd64/VERIFIED");
  KernelFiles files;
  std::string why;
  EXPECT_FALSE(cached_kernel("6.1.0-56-cloud-amd64", &files, &why));
  EXPECT_NE(why.find("loopcheck kernels fetch 6.1.0-56-cloud-amd64"), std::string::npos) << why;
  EXPECT_TRUE(cached_kernel_versions().empty());
}

TEST_F(VmKernelCacheDir, UnknownPackageSaysSoAndLeavesNothing) {
  if (system("command -v apt-get >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "SKIPPED: no apt-get on this machine";
  FetchResult r = fetch_kernel("6.1.0-999-cloud-amd64");
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("no Debian package linux-image-6.1.0-999-cloud-amd64"), std::string::npos)
      << r.error;
  // No staging directory or half-kernel is left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_ + "/kernels"))
    ++entries;
  EXPECT_EQ(entries, 0u);
}

TEST_F(VmKernelCacheDir, AVersionWithoutFlavourIsRefusedBeforeApt) {
  FetchResult r = fetch_kernel("6.1.0-47");
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("6.1.0-47-cloud-amd64"), std::string::npos) << r.error;
  size_t entries = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_ + "/kernels", ec))
    ++entries;
  EXPECT_EQ(entries, 0u);
}

}  // namespace
}  // namespace loopcheck::vm
