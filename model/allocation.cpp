#include "model/allocation.h"

#include <algorithm>
#include <bit>

namespace loopcheck::model {
namespace {

// Blocks [first, last) as a bit mask, cut at the tracked ones.
uint64_t block_mask(uint64_t first, uint64_t last) {
  first = std::min(first, kAllocTrackedBlocks);
  last = std::min(last, kAllocTrackedBlocks);
  if (first >= last) return 0;
  const uint64_t count = last - first;
  const uint64_t ones = count == 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
  return ones << first;
}

}  // namespace

void allocate_blocks(Object& o, uint64_t a, uint64_t z) {
  if (a >= z) return;
  const uint64_t first = a / kAllocBlockBytes;
  const uint64_t last = (z - 1) / kAllocBlockBytes + 1;
  if (last > kAllocTrackedBlocks) o.alloc_unknown = 1;
  o.alloc_blocks |= block_mask(first, last);
}

void free_whole_blocks(Object& o, uint64_t a, uint64_t z) {
  if (a >= z) return;
  const uint64_t first = (a + kAllocBlockBytes - 1) / kAllocBlockBytes;
  const uint64_t last = z / kAllocBlockBytes;
  o.alloc_blocks &= ~block_mask(first, last);
}

void free_blocks_past(Object& o, uint64_t size) {
  const uint64_t first = (size + kAllocBlockBytes - 1) / kAllocBlockBytes;
  o.alloc_blocks &= ~block_mask(first, kAllocTrackedBlocks);
}

Outcome allocated_outcome(const Object& o) {
  Outcome out = Outcome::ok(static_cast<int64_t>(std::popcount(o.alloc_blocks) * kAllocBlockBytes));
  if (o.alloc_unknown) {
    out.data_known = false;
    out.data_rule = EnvelopeRule::AllocationUnknown;
  }
  return out;
}

}  // namespace loopcheck::model
