// `loopcheck profile infer` on a Debian 6.1 guest (TCG): the discriminating
// suite's recordings must name the kernel's own variant, linux-6.1.192 (6.1.0-56
// is 6.1.192: the point release that took LOOP_SET_BLOCK_SIZE's exclusive-owner
// check), with every recorded step explained. Skips loudly without QEMU or apt.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "model/profile.h"
#include "targets/subprocess.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"
#include "tests/targets/profile_infer_support.h"

namespace loopcheck::vm {
namespace {

constexpr const char* kKernel = "6.1.0-56-cloud-amd64";

TEST(VmProfileInfer, TheGuestIsItsOwnVariant) {
  std::string why;
  if (!qemu_available(&why)) GTEST_SKIP() << "SKIPPED: " << why;
  const FetchResult fetched = fetch_kernel(kKernel);
  if (!fetched.ok) GTEST_SKIP() << "SKIPPED: no kernel " << kKernel << ": " << fetched.error;
  const model::Profile* own = model::profile_for_release(kKernel);
  ASSERT_NE(own, nullptr);
  const auto begun = std::chrono::steady_clock::now();
  const ProcessResult r = run_profile_infer(std::string("vm:") + kKernel);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  std::printf("%s(profile infer via vm: %.1f s)\n", r.output.c_str(), s);
  expect_inferred_as(r, *own);
}

}  // namespace
}  // namespace loopcheck::vm
