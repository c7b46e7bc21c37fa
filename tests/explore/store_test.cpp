// The explorer's state store: exact mode never confuses two states, fingerprint
// mode does exactly when fingerprints collide, and both grow.
#include <gtest/gtest.h>

#include <array>
#include <thread>

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

TEST(ExploreStore, TheLowestWorkerToFindAStateInALevelClaimsIt) {
  for (StoreMode mode : {StoreMode::Exact, StoreMode::Fingerprint}) {
    StateStore s(mode);
    const std::array<uint8_t, 3> old{9, 9, 9}, a{1, 2, 3}, b{4, 5, 6};
    EXPECT_TRUE(s.insert(7, old));
    EXPECT_FALSE(s.offer(7, old, 2));  // seen in an earlier level: nobody keeps it
    EXPECT_TRUE(s.offer(42, a, 3));    // worker 2 first...
    EXPECT_TRUE(s.offer(42, a, 1));    // ...then worker 0, earlier in BFS order, takes over
    EXPECT_FALSE(s.offer(42, a, 2));   // worker 1 comes after worker 0
    EXPECT_FALSE(s.offer(42, a, 1));   // worker 0's second find is a duplicate
    EXPECT_TRUE(s.offer(43, b, 2));
    EXPECT_FALSE(s.claim(42, a, 3));
    EXPECT_TRUE(s.claim(42, a, 1));
    EXPECT_TRUE(s.claim(43, b, 2));
    EXPECT_FALSE(s.offer(42, a, 1));  // settled: seen from now on
    EXPECT_EQ(s.size(), 3u);
    // Fingerprint mode keeps the marks in the slots.
    EXPECT_EQ(s.marks_bytes() > 0, mode == StoreMode::Exact);
  }
}

TEST(ExploreStore, ShardsGrowWithTheStatesNotTheOrderTheyArriveIn) {
  for (StoreMode mode : {StoreMode::Exact, StoreMode::Fingerprint}) {
    ShardedStore forward(mode, 1), backward(mode, 2);  // 2: locks, lock-free lookups
    constexpr uint64_t kStates = 50000;
    auto offer = [](ShardedStore& s, uint64_t i) {
      const std::array<uint8_t, 5> r{uint8_t(i), uint8_t(i >> 8), uint8_t(i >> 16), uint8_t(i % 7)};
      return s.offer(i * 0x9E3779B97F4A7C15ull, {r.data(), 3 + i % 3}, 0);
    };
    for (uint64_t i = 0; i < kStates; ++i) ASSERT_TRUE(offer(forward, i));
    for (uint64_t i = kStates; i-- > 0;) ASSERT_TRUE(offer(backward, i));
    for (uint64_t i = 0; i < kStates; i += 3) ASSERT_FALSE(offer(forward, i));  // duplicates
    EXPECT_EQ(forward.size(), kStates);
    EXPECT_EQ(backward.size(), kStates);
    EXPECT_EQ(forward.memory_bytes(), backward.memory_bytes());
  }
}

// Two workers offer the same states from opposite ends while the shards' tables
// grow under them: lookups without the lock must neither lose a state nor report
// one new twice, and (under ASan) must not read a table freed too early.
TEST(ExploreStore, ConcurrentOffersKeepEachStateOnceWhileTablesGrow) {
  constexpr uint64_t kStates = 100000;
  for (const bool provisional : {false, true}) {
    ShardedStore store(StoreMode::Fingerprint, 2);
    std::array<uint64_t, 2> new_to_worker{};
    auto work = [&](uint32_t w) {
      const auto mark = static_cast<uint8_t>(provisional ? w + 1 : 0);
      for (uint64_t i = 0; i < kStates; ++i) {
        const uint64_t k = w == 0 ? i : kStates - 1 - i;
        for (int repeat = 0; repeat < 2; ++repeat)
          if (store.offer(k * 0x9E3779B97F4A7C15ull, {}, mark)) ++new_to_worker[w];
        store.quiescent(w);
      }
    };
    std::thread other(work, 1);
    work(0);
    other.join();
    store.reclaim_all();
    EXPECT_EQ(store.size(), kStates);
    if (provisional) {
      // Worker 0 (mark 1) inserts or takes over every state once; worker 1 keeps none.
      EXPECT_EQ(new_to_worker[0], kStates);
      for (uint64_t k = 0; k < kStates; ++k)
        ASSERT_FALSE(store.claim(k * 0x9E3779B97F4A7C15ull, {}, 2)) << k;
    } else {
      EXPECT_EQ(new_to_worker[0] + new_to_worker[1], kStates);
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
