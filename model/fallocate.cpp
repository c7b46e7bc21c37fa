// fallocate(2) on any fd (docs/semantics.md §5.5): vfs_fallocate's checks, then
// the file's own fallocate: ext4's for a backing file, blkdev_fallocate for a loop
// device (the device's cache truncated over the range, then write-zeroes or a
// discard sent to the driver, as BLKZEROOUT and BLKDISCARD send them: model/discard.cpp).
// Probed on 6.1.0-56 and 6.12.117 in QEMU and on 6.18.44 (common/fallocate_*.trace).
#include <cassert>
#include <cerrno>
#include <cstdint>

#include "model/machine.h"

namespace loopcheck::model {

namespace {

// A block device's s_maxbytes (MAX_LFS_FILESIZE): offset + len past it, or
// wrapping, is EFBIG before blkdev_fallocate looks at the device's size.
constexpr uint64_t kBlockDeviceMaxBytes = INT64_MAX;

}  // namespace

// ksys_fallocate looks the fd up first (EBADF for none, whatever the arguments:
// 6.1.0-56, 6.12.117 in QEMU and 6.18.44, vm fuzzing of 6.1.0-56,
// common/fallocate_checks_the_fd_first.trace); then vfs_fallocate (fs/open.c,
// alike in 6.1, 6.12 and 6.18 for these modes): the arguments, the mode
// (NO_HIDE_STALE is not in FALLOC_FL_SUPPORTED_MASK: EOPNOTSUPP everywhere, so 6.1
// blkdev_fallocate's discard case is unreachable from user space), the mode's
// shape, write access, the file's type, s_maxbytes.
Outcome Machine::fallocate(const Op& op) {
  const int64_t off = op.offset.as_signed();
  const uint8_t mode = op.falloc_mode;
  assert(op.length <= static_cast<uint64_t>(INT64_MAX));  // the validator's bound
  Desc* d = desc_by_fd(op.subject.lit);
  if (!d) return Outcome::error(EBADF);
  if (off < 0 || op.length == 0) return Outcome::error(EINVAL);
  if (mode & kFallocNoHideStale) return Outcome::error(EOPNOTSUPP);
  const bool punch = (mode & kFallocPunchHole) != 0;
  if (punch && (mode & kFallocZeroRange)) return Outcome::error(EOPNOTSUPP);
  if (punch && !(mode & kFallocKeepSize)) return Outcome::error(EOPNOTSUPP);
  if (d->access == Access::Ro) return Outcome::error(EBADF);  // a directory is read-only
  const uint64_t start = static_cast<uint64_t>(off);
  switch (d->kind) {
    case DescKind::LoopControl:
      return Outcome::error(ENODEV);  // neither a regular file nor a block device
    case DescKind::File:
      if (start + op.length > kBackingMaxFileBytes) return Outcome::error(EFBIG);
      return fallocate_file(*d, start, op.length, mode);
    case DescKind::Loop:
      if (start + op.length > kBlockDeviceMaxBytes) return Outcome::error(EFBIG);
      return fallocate_device(*d, *device(d->device), start, op.length, mode);
    default:
      return Outcome::error(EISDIR);
  }
}

// ext4_fallocate: PUNCH_HOLE and ZERO_RANGE zero the bytes up to
// the EOF (partial blocks in place, whole ones as holes or unwritten extents, which
// read as holes do: zero_file_range); without KEEP_SIZE the file grows to the
// range's end (the new bytes read zero). Plain allocation changes no byte.
Outcome Machine::fallocate_file(const Desc& d, uint64_t start, uint64_t len, uint8_t mode) {
  const uint64_t end = start + len;
  if (mode & (kFallocPunchHole | kFallocZeroRange)) zero_file_range(d.object, start, end, nullptr);
  if (!(mode & kFallocKeepSize) && end > s.objects[d.object].size) grow_object(d.object, end);
  note_fallocation(s.objects[d.object], start, end, mode);
  return Outcome::ok(0);
}

// The file grows to `size` bytes, the new ones reading zero: what caches of
// devices over it may still hold there is settled as for a truncate.
void Machine::grow_object(uint32_t object, uint64_t size) {
  Object& o = s.objects[object];
  assert(size > o.size);
  backing_file_write(object, o.size, size, nullptr);
  o.size = size;
}

// blkdev_fallocate (block/fops.c), alike in 6.1, 6.12 and 6.18 for what vfs lets
// through: a start at or past the end is EINVAL, a range past it is cut with
// KEEP_SIZE and EINVAL without, and it must be whole logical blocks; then only
// ZERO_RANGE (write-zeroes that may fall back to writing zeroed pages) and
// PUNCH_HOLE|KEEP_SIZE (write-zeroes without fallback: no write-zeroes limit is
// EOPNOTSUPP) do anything, any other mode is EOPNOTSUPP. The cache truncation
// (truncate_bdev_range) comes before the read-only check (EPERM).
Outcome Machine::fallocate_device(const Desc& fd, Device& dev, uint64_t start, uint64_t len,
                                  uint8_t mode) {
  const uint64_t size_bytes = arith::device_bytes(dev.capacity);
  if (start >= size_bytes) return Outcome::error(EINVAL);
  uint64_t end = start + len;
  if (end > size_bytes) {
    if (!(mode & kFallocKeepSize)) return Outcome::error(EINVAL);
    end = size_bytes;
  }
  if ((start | (end - start)) % dev.block_size != 0) return Outcome::error(EINVAL);
  const bool zero_range = (mode & ~kFallocKeepSize) == kFallocZeroRange;
  const bool punch = mode == (kFallocPunchHole | kFallocKeepSize);
  if (!zero_range && !punch) return Outcome::error(EOPNOTSUPP);
  if (const int e = truncate_bdev_range(fd, dev, start, end)) return Outcome::error(e);
  if (bdev_read_only(dev)) return Outcome::error(EPERM);
  if (punch && dev.discard_max_sectors == 0) return Outcome::error(EOPNOTSUPP);
  return fallocate_request(dev, start, end,
                           zero_range ? BackingZeroing::ZeroRange : BackingZeroing::Punch);
}

}  // namespace loopcheck::model
