// model/allocation: the per-block record behind `allocated file NAME`.
#include "model/allocation.h"

#include <gtest/gtest.h>

namespace loopcheck::model {
namespace {

int64_t allocated(const Object& o) {
  return allocated_outcome(o).value;
}

TEST(Allocation, AWriteAllocatesEveryBlockItTouches) {
  Object o;
  allocate_blocks(o, 4095, 4097);  // one byte in block 0, one in block 1
  EXPECT_EQ(allocated(o), 8192);
  allocate_blocks(o, 8192, 8192);  // empty
  EXPECT_EQ(allocated(o), 8192);
  EXPECT_TRUE(allocated_outcome(o).data_known);
}

TEST(Allocation, APunchFreesOnlyWholeBlocks) {
  Object o;
  allocate_blocks(o, 0, 5 * kAllocBlockBytes);
  free_whole_blocks(o, 100, 3 * kAllocBlockBytes + 100);  // blocks 1 and 2 whole
  EXPECT_EQ(o.alloc_blocks, 0b11001u);
  free_whole_blocks(o, 4 * kAllocBlockBytes + 1, 5 * kAllocBlockBytes);  // part of block 4
  EXPECT_EQ(o.alloc_blocks, 0b11001u);
}

TEST(Allocation, ATruncateKeepsTheBlockOfTheNewEof) {
  Object o;
  allocate_blocks(o, 0, 4 * kAllocBlockBytes);
  free_blocks_past(o, kAllocBlockBytes + 1);  // EOF inside block 1
  EXPECT_EQ(o.alloc_blocks, 0b11u);
  free_blocks_past(o, 0);
  EXPECT_EQ(allocated(o), 0);
}

TEST(Allocation, BlocksPastTheTrackedOnesMakeTheCountUnpredictable) {
  Object o;
  allocate_blocks(o, 0, kAllocTrackedBlocks * kAllocBlockBytes);  // exactly the tracked ones
  EXPECT_TRUE(allocated_outcome(o).data_known);
  EXPECT_EQ(o.alloc_blocks, ~uint64_t{0});
  allocate_blocks(o, kAllocTrackedBlocks * kAllocBlockBytes,
                  kAllocTrackedBlocks * kAllocBlockBytes + 1);
  const Outcome out = allocated_outcome(o);
  EXPECT_FALSE(out.data_known);
  EXPECT_EQ(out.data_rule, EnvelopeRule::AllocationUnknown);
}

}  // namespace
}  // namespace loopcheck::model
