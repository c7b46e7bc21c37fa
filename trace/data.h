// Data descriptors (DataDesc): what bytes a read returned, described as runs of
// zeros, a fill byte, a pwrite pattern, or (for arbitrary bytes) a digest. The
// model predicts descriptors; real targets read bytes; these functions connect
// the two without keeping 64 MiB expectations around.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "trace/trace.h"

namespace loopcheck {

// Expand `desc` into out. A segment of length 0 covers the rest of `out`; bytes
// past the description, and Bytes runs (known only by digest), are written as 0.
void materialize(const DataDesc& desc, std::span<uint8_t> out);

// XXH3-64 of the bytes: Outcome::digest and DataSegment::digest.
uint64_t digest_bytes(std::span<const uint8_t> bytes);

// Offset of the first byte where `actual` differs from `expected`, or nullopt if
// they agree. A Bytes run is compared by digest, so a mismatch there reports the
// run's first offset. Lengths differing counts as a difference at the shorter end.
std::optional<uint64_t> first_difference(const DataDesc& expected, std::span<const uint8_t> actual);

// Total bytes the descriptor covers when expanded into `available` bytes (a
// trailing length-0 run takes the rest).
uint64_t desc_length(const DataDesc& desc, uint64_t available);

// A descriptor for arbitrary bytes: runs of one byte value of at least
// kMinDescribedRun bytes become zero/fill runs, everything between them Bytes
// runs (digest only). At most kMaxDataSegments runs: the tail past the limit is
// folded into one Bytes run. Every run has an explicit length.
inline constexpr uint64_t kMinDescribedRun = 64;
DataDesc describe_bytes(std::span<const uint8_t> bytes);

}  // namespace loopcheck
