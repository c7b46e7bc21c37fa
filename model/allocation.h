// Which blocks of a sandbox file hold allocated data: what `allocated file NAME`
// answers (FIEMAP: written and unwritten extents, past the EOF too, no metadata
// blocks), per 4 KiB filesystem block of the first 64 (Object::alloc_blocks).
// Rules settled on ext4 with 6.1.0-56, 6.12.117 (QEMU) and 6.18.44 (host):
// `common/allocation_after_discard_and_zeroout.trace`, docs/semantics.md §5.6.
#pragma once

#include <cstdint>

#include "model/state.h"
#include "trace/trace.h"

namespace loopcheck::model {

inline constexpr uint64_t kAllocBlockBytes = 4096;
inline constexpr uint64_t kAllocTrackedBlocks = 64;

// Every block holding a byte of [a, z) is allocated: a write, writeback, a
// ZERO_RANGE (unwritten extents, over holes too), a plain fallocate.
void allocate_blocks(Object& o, uint64_t a, uint64_t z);
// Every block lying wholly inside [a, z) is freed (PUNCH_HOLE; partial blocks at
// either end are zeroed in place and keep their allocation).
void free_whole_blocks(Object& o, uint64_t a, uint64_t z);
// A truncate to `size` bytes frees every block from the one after the new EOF's.
void free_blocks_past(Object& o, uint64_t size);
// The file's allocated bytes, or an unpredictable count (allocation_unknown).
Outcome allocated_outcome(const Object& o);

}  // namespace loopcheck::model
