// `loopcheck profile infer --target host`: this machine's kernel must come out
// as the profile of its own release, every recorded step explained.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <string>

#include "model/profile.h"
#include "targets/subprocess.h"
#include "tests/targets/host/host_test_support.h"

namespace loopcheck {
namespace {

TEST(HostProfileInfer, ThisKernelIsTheProfileOfItsRelease) {
  REQUIRE_HOST_LOOP();
  utsname u{};
  ASSERT_EQ(::uname(&u), 0);
  const model::Profile* own = model::profile_for_release(u.release);
  if (own == nullptr) GTEST_SKIP() << "SKIPPED: no profile covers " << u.release;
  const vm::ProcessResult r = vm::run_process(
      {std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck", "profile", "infer", "--target", "host"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("identical, switch for switch, to the profile " + std::string(own->name)),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("# unexplained steps: none"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace loopcheck
