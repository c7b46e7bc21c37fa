// The driver's loop-geometry arithmetic, written as loop.c writes it (sizes are
// signed loff_t there): capacity (get_size), request sector to backing position
// (lo_rw_aio / lo_read_simple), the EOVERFLOW check, block-size choice and validity,
// direct-I/O alignment. loop_device.cpp runs these with uint64_t / int64_t;
// proofs/ runs the same text with Z3 bit-vector types and proves it free of
// overflow and in agreement with the model (docs/proofs.md).
//
// This is deliberately not shared with model/arith.h: a proof that two copies of
// one function agree would prove nothing. Same writing rules as there:
//  - only + - * / % >> << & and comparisons on values, && || ! on conditions, and
//    select(cond, a, b) instead of if / ?: on a value; plain C++ conditions only on
//    profile switches;
//  - select computes both arms, so no arm may overflow even when it is not taken
//    (for int64_t that would be undefined behaviour, taken or not);
//  - signed and unsigned values never mix without as_signed / as_unsigned;
//  - constants are plain integers.
#pragma once

#include <cstdint>

#include "inproc/driver_profile.h"

namespace loopcheck::inproc::arith {

inline constexpr unsigned kSectorBits = 9;
inline constexpr uint64_t kMinBlockSize = 512;
inline constexpr uint64_t kLoffTMax = 0x7fffffffffffffffull;

constexpr uint64_t select(bool cond, uint64_t if_true, uint64_t if_false) {
  return cond ? if_true : if_false;
}
constexpr int64_t select(bool cond, int64_t if_true, int64_t if_false) {
  return cond ? if_true : if_false;
}
constexpr int64_t as_signed(uint64_t v) {
  return static_cast<int64_t>(v);
}
constexpr uint64_t as_unsigned(int64_t v) {
  return static_cast<uint64_t>(v);
}

// loop_set_status_from_info: lo_offset and lo_sizelimit (u64 in loop_info64) must
// fit loff_t or the ioctl fails with EOVERFLOW.
template <class U>
auto fits_loff_t(const U& offset, const U& sizelimit) {
  return offset <= kLoffTMax && sizelimit <= kLoffTMax;
}

// get_size(): the file size less a positive offset, nothing if that is negative,
// cut to a positive sizelimit, in 512-byte sectors.
template <class S>
auto capacity_in_sectors(const S& file_size, const S& offset, const S& sizelimit) {
  S size = file_size - select(offset > 0, offset, 0);
  size = select(size < 0, 0, size);
  size = select(sizelimit > 0 && sizelimit < size, sizelimit, size);
  return as_unsigned(size) >> kSectorBits;
}

// The device size in bytes from its sector count.
template <class U>
U bytes_of_sectors(const U& sectors) {
  return sectors << kSectorBits;
}

// The backing-file position of a request's first byte: sector · 512 + lo_offset.
template <class U, class S>
S backing_position(const U& sector, const S& offset) {
  return as_signed(sector << kSectorBits) + offset;
}

template <class U>
auto is_power_of_two(const U& v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// blk_validate_block_size (and 6.1's loop_validate_block_size).
template <class U>
auto block_size_acceptable(const U& bs, uint64_t max) {
  return is_power_of_two(bs) && bs >= kMinBlockSize && bs <= max;
}

// What the block layer gets from LOOP_SET_BLOCK_SIZE(arg) on 6.11+: the queue
// limits API takes an unsigned int, and 0 there means the default block size.
template <class U>
U limits_block_size(const U& arg, const U& default_bs) {
  const U bs = arg & 0xffffffffu;
  return select(bs == 0, default_bs, bs);
}

template <class U, class C>
struct BlockSizeVerdict {
  U size;  // the logical block size LOOP_SET_BLOCK_SIZE would set
  C ok;    // false: EINVAL
};

// LOOP_SET_BLOCK_SIZE(arg): 6.1 validates the whole unsigned long and has no
// default; 6.11+ hands the low 32 bits to the limits API.
template <class U>
auto set_block_size_verdict(const U& arg, bool whole_argument, uint64_t max, const U& default_bs) {
  const U size = whole_argument ? arg : limits_block_size(arg, default_bs);
  auto ok = block_size_acceptable(size, max);
  return BlockSizeVerdict<U, decltype(ok)>{size, ok};
}

constexpr uint64_t max_block_size(const DriverProfile& profile, bool thp) {
  return profile.large_block_sizes && thp ? 65536 : 4096;
}

// Whether set_block_size_verdict takes the argument whole (6.1) rather than
// through the limits API's 32 bits with 0 as the default (6.11+).
constexpr bool whole_block_size_argument(const DriverProfile& profile) {
  return profile.block_size_arg_bits == 64;
}

// The alignment part of lo_can_use_dio: the logical block size covers the
// alignment and the offset is a multiple of it; 0 = no block device under the
// filesystem (6.1 / 6.12), nothing to check.
template <class U>
auto dio_aligned(const U& block_size, const U& offset, const U& align) {
  const U safe_align = select(align == 0, 1, align);  // % by 0 is undefined even in the unused arm
  return align == 0 || (block_size >= align && offset % safe_align == 0);
}

}  // namespace loopcheck::inproc::arith
