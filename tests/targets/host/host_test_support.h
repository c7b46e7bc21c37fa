// Shared by the host tests: skip loudly without a usable /dev/loop-control, and
// pick a loop index nobody uses (spread by pid so concurrent test runs differ).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <string>

#include "targets/host/host_target.h"
#include "targets/host/loop_sys.h"

#define REQUIRE_HOST_LOOP()                                                  \
  do {                                                                       \
    std::string why_;                                                        \
    if (!::loopcheck::host_loop_available(&why_)) {                          \
      std::cerr << "SKIPPED: no usable /dev/loop-control: " << why_ << "\n"; \
      GTEST_SKIP() << "SKIPPED: no usable /dev/loop-control: " << why_;      \
    }                                                                        \
  } while (0)

namespace loopcheck::testing_support {

inline uint64_t free_high_index(uint64_t from) {
  for (uint64_t i = from + static_cast<uint64_t>(::getpid() % 1000);; ++i) {
    if (!host::loop_device_exists(i)) return i;
  }
}

}  // namespace loopcheck::testing_support
