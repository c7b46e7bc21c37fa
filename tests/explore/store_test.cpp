// The explorer's state store: exact mode never confuses two states, fingerprint
// mode does exactly when fingerprints collide, and both grow.
#include <gtest/gtest.h>

#include <array>

#include "explore/store.h"

namespace loopcheck::model {
namespace {

TEST(ExploreStore, ExactModeComparesRecordsOnAHashMatch) {
  StateStore s(StoreMode::Exact);
  const std::array<uint8_t, 3> a{1, 2, 3}, b{1, 2, 4};
  EXPECT_TRUE(s.insert(42, a));
  EXPECT_FALSE(s.insert(42, a));
  EXPECT_TRUE(s.insert(42, b));  // same hash, another state: kept
  EXPECT_FALSE(s.insert(42, b));
  EXPECT_EQ(s.size(), 2u);
}

TEST(ExploreStore, FingerprintModeOmitsOnACollision) {
  StateStore s(StoreMode::Fingerprint);
  const std::array<uint8_t, 3> a{1, 2, 3}, b{1, 2, 4};
  EXPECT_TRUE(s.insert(42, a));
  EXPECT_FALSE(s.insert(42, b));  // the documented omission
  EXPECT_TRUE(s.insert(0, a));    // a zero fingerprint is still a state
  EXPECT_FALSE(s.insert(0, a));
  EXPECT_EQ(s.size(), 2u);
}

TEST(ExploreStore, GrowsAndKeepsEverything) {
  for (StoreMode mode : {StoreMode::Exact, StoreMode::Fingerprint}) {
    StateStore s(mode, 16);
    for (uint64_t i = 0; i < 100000; ++i) {
      const std::array<uint8_t, 8> r{uint8_t(i), uint8_t(i >> 8), uint8_t(i >> 16)};
      ASSERT_TRUE(s.insert(i * 0x9E3779B97F4A7C15ull, r)) << i;
    }
    for (uint64_t i = 0; i < 100000; ++i) {
      const std::array<uint8_t, 8> r{uint8_t(i), uint8_t(i >> 8), uint8_t(i >> 16)};
      ASSERT_FALSE(s.insert(i * 0x9E3779B97F4A7C15ull, r)) << i;
    }
    EXPECT_EQ(s.size(), 100000u);
    if (mode == StoreMode::Fingerprint) {
      EXPECT_LE(s.memory_bytes(), 100000u * 15);
    }
  }
}

TEST(ExploreStore, OmissionProbabilityFollowsTheBirthdayBound) {
  EXPECT_EQ(omission_probability(1), 0.0);
  EXPECT_NEAR(omission_probability(1u << 20), 2.98e-8, 1e-9);  // 2^40 / 2^65
  EXPECT_LT(omission_probability(1000), omission_probability(1000000));
}

}  // namespace
}  // namespace loopcheck::model
