// `loopcheck profile infer --target host`: this machine's kernel must come out
// as the profile of its own release, every recorded step explained.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include "model/profile.h"
#include "tests/targets/host/host_test_support.h"
#include "tests/targets/profile_infer_support.h"

namespace loopcheck {
namespace {

TEST(HostProfileInfer, ThisKernelIsTheProfileOfItsRelease) {
  REQUIRE_HOST_LOOP();
  utsname u{};
  ASSERT_EQ(::uname(&u), 0);
  const model::Profile* own = model::profile_for_release(u.release);
  if (own == nullptr) GTEST_SKIP() << "SKIPPED: no profile covers " << u.release;
  expect_inferred_as(run_profile_infer("host"), *own);
}

}  // namespace
}  // namespace loopcheck
