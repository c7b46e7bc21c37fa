// What both real-kernel `profile infer` tests (host, vm) require of the command:
// it ran the loopcheck binary of this build, exited 0, named the kernel's own
// profile as identical, and left no recorded step unexplained.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "model/profile.h"
#include "targets/subprocess.h"

namespace loopcheck {

inline vm::ProcessResult run_profile_infer(const std::string& target) {
  return vm::run_process(
      {std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck", "profile", "infer", "--target", target});
}

inline void expect_inferred_as(const vm::ProcessResult& r, const model::Profile& own) {
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("identical, switch for switch, to the profile " + std::string(own.name)),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("# unexplained steps: none"), std::string::npos) << r.output;
}

}  // namespace loopcheck
