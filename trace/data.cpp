#include "trace/data.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>

#include <xxhash.h>

#include "trace/pattern.h"

namespace loopcheck {
namespace {

// Length of segment i when the description is laid over `available` bytes
// starting at `pos`.
uint64_t run_length(const DataDesc& d, uint8_t i, uint64_t pos, uint64_t available) {
  uint64_t remaining = available > pos ? available - pos : 0;
  const DataSegment& s = d.seg[i];
  if (s.length == 0) return remaining;  // "the rest"
  return std::min(s.length, remaining);
}

}  // namespace

uint64_t digest_bytes(std::span<const uint8_t> bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

uint64_t desc_length(const DataDesc& desc, uint64_t available) {
  uint64_t pos = 0;
  for (uint8_t i = 0; i < desc.count && i < kMaxDataSegments; ++i)
    pos += run_length(desc, i, pos, available);
  return pos;
}

void materialize(const DataDesc& desc, std::span<uint8_t> out) {
  uint64_t pos = 0;
  for (uint8_t i = 0; i < desc.count && i < kMaxDataSegments; ++i) {
    const DataSegment& s = desc.seg[i];
    uint64_t n = run_length(desc, i, pos, out.size());
    uint8_t* p = out.data() + pos;
    switch (s.kind) {
      case DataSegment::Kind::Zero:
      case DataSegment::Kind::Bytes:
        std::memset(p, 0, n);
        break;
      case DataSegment::Kind::Fill:
        std::memset(p, s.fill, n);
        break;
      case DataSegment::Kind::Pattern:
        pattern_fill(s.seed, s.index, p, n);
        break;
    }
    pos += n;
  }
  if (pos < out.size()) std::memset(out.data() + pos, 0, out.size() - pos);
}

std::optional<uint64_t> first_difference(const DataDesc& expected,
                                         std::span<const uint8_t> actual) {
  uint64_t pos = 0;
  // Patterns are expanded a block at a time into a fixed buffer: no allocation.
  std::array<uint8_t, 4096> block;
  for (uint8_t i = 0; i < expected.count && i < kMaxDataSegments; ++i) {
    const DataSegment& s = expected.seg[i];
    uint64_t want = s.length;
    uint64_t n = run_length(expected, i, pos, actual.size());
    const uint8_t* a = actual.data() + pos;
    switch (s.kind) {
      case DataSegment::Kind::Zero:
      case DataSegment::Kind::Fill: {
        uint8_t b = s.kind == DataSegment::Kind::Zero ? 0 : s.fill;
        for (uint64_t k = 0; k < n; ++k)
          if (a[k] != b) return pos + k;
        break;
      }
      case DataSegment::Kind::Pattern:
        for (uint64_t done = 0; done < n;) {
          size_t chunk = static_cast<size_t>(std::min<uint64_t>(block.size(), n - done));
          pattern_fill(s.seed, s.index + done, block.data(), chunk);
          for (size_t k = 0; k < chunk; ++k)
            if (a[done + k] != block[k]) return pos + done + k;
          done += chunk;
        }
        break;
      case DataSegment::Kind::Bytes:
        if (digest_bytes({a, static_cast<size_t>(n)}) != s.digest) return pos;
        break;
    }
    pos += n;
    if (want != 0 && n < want) return pos;  // actual ends inside this run
  }
  if (pos < actual.size()) return pos;  // bytes past the description
  return std::nullopt;
}

DataDesc describe_bytes(std::span<const uint8_t> bytes) {
  DataDesc d;
  auto push = [&](DataSegment s) {
    assert(d.count < kMaxDataSegments);
    d.seg[d.count++] = s;
  };
  auto bytes_run = [&](uint64_t from, uint64_t to) {
    DataSegment s;
    s.kind = DataSegment::Kind::Bytes;
    s.length = to - from;
    s.digest = digest_bytes(bytes.subspan(from, to - from));
    return s;
  };
  uint64_t size = bytes.size();
  uint64_t pending = 0;  // start of bytes not yet described
  uint64_t i = 0;
  while (i < size) {
    uint64_t j = i + 1;
    while (j < size && bytes[j] == bytes[i]) ++j;
    bool long_run = j - i >= kMinDescribedRun || (i == 0 && j == size);
    if (long_run) {
      // Two slots may be needed (a Bytes run before this one, then this one),
      // and one must stay free for the tail; otherwise stop and fold the rest.
      int needed = (pending < i ? 1 : 0) + 1;
      if (d.count + needed > kMaxDataSegments - 1 && j != size) break;
      if (pending < i) push(bytes_run(pending, i));
      DataSegment s;
      s.kind = bytes[i] == 0 ? DataSegment::Kind::Zero : DataSegment::Kind::Fill;
      s.fill = bytes[i] == 0 ? 0 : bytes[i];
      s.length = j - i;
      push(s);
      pending = j;
    }
    i = j;
  }
  if (pending < size) push(bytes_run(pending, size));
  return d;
}

}  // namespace loopcheck
