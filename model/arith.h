// The model's loop-geometry arithmetic, written once as templates: capacity from
// backing size, offset and sizelimit (docs/semantics.md §4); device bytes to backing-file bytes
// (§5.1); the EOVERFLOW check (§3.2 step 9, §3.5 step 5); block-size choice and
// validity (§3.8); direct-I/O alignment (§3.9). The model runs them with uint64_t
// (lifecycle.cpp, ioctl.cpp); proofs/ runs the very same text with a Z3 bit-vector
// type and proves properties of it for every 64-bit input (docs/proofs.md).
//
// Rules for code in this file, so that both instantiations stay possible and the
// proofs stay honest:
//  - only + - * / % >> << & and comparisons on values, && || ! on conditions, and
//    select(cond, a, b) instead of if / ?: on a value (a Z3 value has no truth value);
//    plain C++ conditions are fine on profile switches, which are never symbolic;
//  - select computes both arms, so neither arm may wrap even when it is not taken:
//    the proofs count every wrap in every arm;
//  - a constant operand is a plain integer (the Z3 type has no context to make one).
//
// The in-process driver has its own, independent copy (inproc/arith.h):
// the proofs show the two agree, which is only worth something if they are two.
#pragma once

#include <cassert>
#include <cstdint>

#include "model/profile.h"

namespace loopcheck::model::arith {

inline constexpr uint64_t kSectorBytes = 512;
inline constexpr unsigned kSectorShift = 9;
inline constexpr uint64_t kLoffMax = 0x7fffffffffffffffull;  // LLONG_MAX, the largest loff_t
inline constexpr uint64_t kSmallBlockMax = 4096;             // PAGE_SIZE on x86_64
inline constexpr uint64_t kLargeBlockMax = 65536;            // BLK_MAX_BLOCK_SIZE with THP (6.15+)

// The branch both instantiations share. For uint64_t both arms are already computed
// when this runs, which is why the arms must be wrap-free on their own.
constexpr uint64_t select(bool cond, uint64_t if_true, uint64_t if_false) {
  return cond ? if_true : if_false;
}

template <class U>
U smaller(const U& a, const U& b) {
  return select(a < b, a, b);
}

// EOVERFLOW unless offset and sizelimit both fit loff_t (the only overflow check
// Linux makes on them; there is no alignment requirement).
template <class U>
auto offsets_fit_loff_t(const U& offset, const U& sizelimit) {
  return offset <= kLoffMax && sizelimit <= kLoffMax;
}

// get_size(): the bytes past the offset (none when the offset is at or past the
// end), cut to a nonzero sizelimit, in whole 512-byte sectors. The partial trailing
// sector is invisible; nothing is rounded to the logical block size.
// The backing bytes past the offset; none when the offset is at or past the end.
template <class U>
U bytes_past_offset(const U& backing_bytes, const U& offset) {
  // Subtracting at most backing_bytes keeps the offset-past-EOF case from wrapping.
  return backing_bytes - smaller(offset, backing_bytes);
}

template <class U>
U capacity_sectors(const U& backing_bytes, const U& offset, const U& sizelimit) {
  const U past_offset = bytes_past_offset(backing_bytes, offset);
  const U window = select(sizelimit > 0 && sizelimit < past_offset, sizelimit, past_offset);
  return window >> kSectorShift;
}

// A sector count in bytes (BLKGETSIZE64, the bound every request is checked against).
template <class U>
U device_bytes(const U& sectors) {
  return sectors * kSectorBytes;
}

// Where a device byte lives in the backing file. sizelimit bounds only the capacity,
// never a request (§5.1).
template <class U>
U backing_byte(const U& device_byte, const U& offset) {
  return device_byte + offset;
}

// How a profile turns a LOOP_SET_BLOCK_SIZE argument (or loop_config.block_size)
// into the logical block size it validates.
struct BlockSizeRule {
  unsigned arg_bits;     // bits of the argument that reach validation: 64, or 32 since 6.12.2
  bool zero_is_default;  // 0 selects the default block size (6.11+) instead of failing
  uint64_t max;          // the largest valid block size
};

constexpr uint64_t max_block_size(bool large_block_sizes, bool thp) {
  return large_block_sizes && thp ? kLargeBlockMax : kSmallBlockMax;
}

// blk_validate_block_size: a power of two in [512, max].
template <class U>
auto valid_block_size(const U& bs, uint64_t max) {
  return bs >= kSectorBytes && bs <= max && (bs & (bs - 1)) == 0;
}

// LOOP_SET_BLOCK_SIZE under a profile, with THP configured or not.
constexpr BlockSizeRule block_size_rule(const Profile& p, bool thp) {
  return {p.block_size_arg_bits, p.block_size_zero_is_default,
          max_block_size(p.large_block_sizes, thp)};
}

template <class U, class C>
struct BlockSizeChoice {
  U value;     // the logical block size that would be set
  C accepted;  // false: EINVAL
};

// The argument truncated to the bits the profile keeps, 0 replaced by the default
// where the profile says so, then validated.
template <class U>
auto choose_block_size(const U& arg, const BlockSizeRule& rule, const U& default_bs) {
  assert(rule.arg_bits == 32 || rule.arg_bits == 64);
  const U kept = rule.arg_bits >= 64 ? arg : (arg & ((uint64_t{1} << rule.arg_bits) - 1));
  const U value = rule.zero_is_default ? select(kept == 0, default_bs, kept) : kept;
  auto accepted = valid_block_size(value, rule.max);
  return BlockSizeChoice<U, decltype(accepted)>{value, accepted};
}

// The alignment half of "can this device do direct I/O": the logical block size
// covers the alignment and the offset is a multiple of it. An alignment of 0 means
// the filesystem has no block device (6.1 / 6.12 rule): nothing to check.
template <class U>
auto dio_alignment_ok(const U& block_size, const U& offset, const U& align) {
  const U divisor = select(align == 0, 1, align);  // the unused arm must not divide by 0 either
  return align == 0 || (block_size >= align && offset % divisor == 0);
}

}  // namespace loopcheck::model::arith
