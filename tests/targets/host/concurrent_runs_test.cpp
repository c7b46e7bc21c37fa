// Two loopcheck processes on one machine (two campaign shards on one node) must
// not change each other's results: traces that observe global loop state
// (LOOP_CTL_GET_FREE, literal indices) hold a machine-wide lock exclusively, all
// others share it (host::KernelScopeLock). Runs the real CLI on the real kernel.
#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <string>

#include "tests/targets/host/host_test_support.h"

namespace loopcheck {
namespace {

std::string run_cli(const std::string& args) {
  const std::string cmd = std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck " + args + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST(ConcurrentHostRuns, GiveTheSameResultsAsOneRunAlone) {
  REQUIRE_HOST_LOOP();
  const std::string corpus = std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/conformance/";
  const std::string args = "run --target host " + corpus + "common " + corpus + "linux-6.18";
  const std::string alone = run_cli(args);
  ASSERT_NE(alone.find(" passed, "), std::string::npos) << alone;  // the totals line
  // The corpus has traces with LOOP_CTL_GET_FREE: without the lock, one run's
  // GET_FREE hands out a device the other holds.
  ASSERT_NE(alone.find("ctl_get_free"), std::string::npos);
  auto first = std::async(std::launch::async, run_cli, args);
  auto second = std::async(std::launch::async, run_cli, args);
  EXPECT_EQ(first.get(), alone);
  EXPECT_EQ(second.get(), alone);
}

}  // namespace
}  // namespace loopcheck
