// `loopcheck agent-check` against the static agent as /init in a Debian 6.1
// guest (TCG): the same suite the exec: agent passes. Skips loudly without QEMU
// or apt.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "targets/subprocess.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"

namespace loopcheck::vm {
namespace {

constexpr const char* kKernel = "6.1.0-56-cloud-amd64";

TEST(VmAgentCheck, TheGuestAgentPasses) {
  std::string why;
  if (!qemu_available(&why)) GTEST_SKIP() << "SKIPPED: " << why;
  const FetchResult fetched = fetch_kernel(kKernel);
  if (!fetched.ok) GTEST_SKIP() << "SKIPPED: no kernel " << kKernel << ": " << fetched.error;
  const auto begun = std::chrono::steady_clock::now();
  const ProcessResult r = run_process({std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck",
                                       "agent-check", "--target", std::string("vm:") + kKernel,
                                       "--corpus", std::string(LOOPCHECK_SOURCE_DIR) + "/corpus"});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  std::printf("%s(agent-check via vm: %.1f s)\n", r.output.c_str(), s);
  RecordProperty("agent_check_seconds", std::to_string(s));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(" 0 failed, 0 skipped"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace loopcheck::vm
