// The page cache's two-level index and its page arena: lookups, ordered range
// walks and erasure across chunk boundaries, and page reuse.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "inproc/page_arena.h"
#include "inproc/page_index.h"

namespace loopcheck::inproc {
namespace {

constexpr uint64_t kChunk = PageIndex::kPagesPerChunk;

TEST(PageIndex, FindsOnlyWhatWasStored) {
  PageArena arena;
  PageIndex index;
  EXPECT_EQ(index.find(0), nullptr);
  for (uint64_t p :
       std::initializer_list<uint64_t>{0, 1, kChunk - 1, kChunk, 5 * kChunk + 3, 1ull << 40}) {
    CachedPage& slot = index.slot(p);
    ASSERT_EQ(slot.data, nullptr);
    slot.data = arena.alloc();
    slot.dirty = p % 2 == 1;
  }
  EXPECT_EQ(index.size(), 6u);
  EXPECT_NE(index.find(kChunk - 1), nullptr);
  EXPECT_TRUE(index.find(kChunk - 1)->dirty);
  EXPECT_EQ(index.find(2), nullptr);
  EXPECT_EQ(index.find(kChunk + 1), nullptr);
  EXPECT_EQ(index.find((1ull << 40) + 1), nullptr);
  // slot() of a present page hands back the same page, not a new one.
  uint8_t* before = index.find(kChunk)->data;
  EXPECT_EQ(index.slot(kChunk).data, before);
  EXPECT_EQ(index.size(), 6u);
}

TEST(PageIndex, WalksAndErasesRangesInOrderAcrossChunks) {
  PageArena arena;
  PageIndex index;
  std::vector<uint64_t> stored;
  for (uint64_t p = kChunk - 3; p < 3 * kChunk + 2; p += 2) {
    index.slot(p).data = arena.alloc();
    stored.push_back(p);
  }
  std::vector<uint64_t> walked;
  index.for_each(0, UINT64_MAX, [&](uint64_t p, CachedPage&) { walked.push_back(p); });
  EXPECT_EQ(walked, stored);

  walked.clear();
  index.for_each(kChunk, 2 * kChunk, [&](uint64_t p, CachedPage&) { walked.push_back(p); });
  ASSERT_FALSE(walked.empty());
  EXPECT_GE(walked.front(), kChunk);
  EXPECT_LE(walked.back(), 2 * kChunk);

  std::set<uint8_t*> released;
  index.erase(kChunk, 2 * kChunk, [&](uint8_t* d) { released.insert(d); });
  EXPECT_EQ(released.size(), walked.size());
  EXPECT_EQ(index.size(), stored.size() - walked.size());
  for (uint64_t p : walked) EXPECT_EQ(index.find(p), nullptr);
  EXPECT_NE(index.find(kChunk - 3), nullptr);
  EXPECT_NE(index.find(2 * kChunk + 1), nullptr);

  index.erase(0, UINT64_MAX, [&](uint8_t* d) { arena.free(d); });
  EXPECT_EQ(index.size(), 0u);
  // Emptied chunks come back as empty slots.
  EXPECT_EQ(index.find(kChunk - 3), nullptr);
  EXPECT_EQ(index.slot(kChunk - 3).data, nullptr);
}

TEST(PageArena, HandsOutDistinctAlignedPagesAndReusesFreedOnes) {
  PageArena arena;
  std::set<uint8_t*> pages;
  // More than the first arenas hold, so it grows several times.
  for (int i = 0; i < 1000; ++i) {
    uint8_t* p = arena.alloc();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % PageArena::kPageBytes, 0u);
    EXPECT_TRUE(pages.insert(p).second);
    p[0] = static_cast<uint8_t>(i);
    p[PageArena::kPageBytes - 1] = static_cast<uint8_t>(i);
  }
  uint8_t* freed = *pages.begin();
  arena.free(freed);
  EXPECT_EQ(arena.alloc(), freed);
}

TEST(PageArena, ConsecutiveAllocationsAreAdjacentWithinAnArena) {
  // What lets a sequential read copy whole runs of pages at once.
  PageArena arena;
  uint8_t* a = arena.alloc();
  uint8_t* b = arena.alloc();
  EXPECT_EQ(b, a + PageArena::kPageBytes);
}

}  // namespace
}  // namespace loopcheck::inproc
