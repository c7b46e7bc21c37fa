// BLKDISCARD, BLKZEROOUT and fallocate as block/ioctl.c and block/fops.c answer them for a
// loop device: the
// range checks in each kernel's order, the truncation of the page cache over the
// range (truncate_bdev_range: dirty pages are dropped, not written back), then one
// request to the driver (docs/semantics.md §3.6).
#include <linux/falloc.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "inproc/block_device.h"
#include "inproc/uapi.h"
#include "inproc/user_copy.h"

namespace loopcheck::inproc {

namespace {

// The uint64_t[2] {start, len} the ioctl copies from the caller.
struct ByteRange {
  uint64_t start = 0;
  uint64_t len = 0;
};

// copy_from_user of the range: false when `user` cannot be read (EFAULT).
bool copy_range(const void* user, ByteRange* range) {
  uint64_t words[2];
  if (!copy_from_user(words, user, sizeof words)) return false;
  *range = {words[0], words[1]};
  return true;
}

}  // namespace

long BlockDevice::discard_or_zero_range(ReqOp op, const void* user, BdevCaller caller) {
  if (op == ReqOp::WriteZeroes) return zero_range(user, caller);
  return discard_range_validated_first_.load() ? discard_validated_first(user, caller)
                                               : discard_truncating_first(user, caller);
}

// 6.12+: the range is copied and checked whole (blk_validate_byte_range) before
// the cache is touched.
long BlockDevice::discard_validated_first(const void* user, BdevCaller caller) {
  ByteRange r;
  if (!copy_range(user, &r)) return -EFAULT;
  if (discard_max_sectors() == 0) return -EOPNOTSUPP;
  if (!caller.writable) return -EBADF;
  if (read_only()) return -EPERM;
  const uint64_t end = r.start + r.len;
  const uint64_t dev_bytes = capacity_sectors() * kSectorSize;
  if ((r.start | r.len) % logical_block_size() != 0 || r.len == 0 || end < r.start ||
      end > dev_bytes)
    return -EINVAL;
  if (const int e = truncate_bdev_range(r.start, end - 1, caller.excl)) return e;
  return submit_range(ReqOp::Discard, r.start, r.len);
}

// 6.1: 512-byte alignment and the end are checked before the truncation
// (truncate_bdev_range(start, start + len - 1): a zero length at 0 is the whole
// mapping), read-only, the block size and a zero length after it.
long BlockDevice::discard_truncating_first(const void* user, BdevCaller caller) {
  if (!caller.writable) return -EBADF;
  if (discard_max_sectors() == 0) return -EOPNOTSUPP;
  ByteRange r;
  if (!copy_range(user, &r)) return -EFAULT;
  const uint64_t end = r.start + r.len;
  const uint64_t dev_bytes = capacity_sectors() * kSectorSize;
  if ((r.start | r.len) % kSectorSize != 0 || end < r.start || end > dev_bytes) return -EINVAL;
  // truncate_bdev_range(start, start + len - 1): {0, 0} is the whole mapping.
  if (const int e = truncate_bdev_range(r.start, end - 1, caller.excl)) return e;
  if (read_only()) return -EPERM;
  if ((r.start | r.len) % logical_block_size() != 0 || r.len == 0) return -EINVAL;
  return submit_range(ReqOp::Discard, r.start, r.len);
}

// Every release: blk_ioctl_zeroout checks 512-byte alignment and the last byte,
// truncates, and blkdev_issue_zeroout checks the block size, then read-only.
long BlockDevice::zero_range(const void* user, BdevCaller caller) {
  if (!caller.writable) return -EBADF;
  ByteRange r;
  if (!copy_range(user, &r)) return -EFAULT;
  const uint64_t last = r.start + r.len - 1;
  const uint64_t dev_bytes = capacity_sectors() * kSectorSize;
  if ((r.start | r.len) % kSectorSize != 0 || last >= dev_bytes || last < r.start) return -EINVAL;
  if (const int e = truncate_bdev_range(r.start, last, caller.excl)) return e;
  if ((r.start | r.len) % logical_block_size() != 0) return -EINVAL;
  if (read_only()) return -EPERM;
  return submit_range(ReqOp::WriteZeroes, r.start, r.len);
}

long BlockDevice::submit_range(ReqOp op, uint64_t start, uint64_t len, bool may_unmap) {
  Completion c;
  const int st =
      queue_.submit_and_wait(Bio{op, start >> kSectorShift, nullptr, len, &c, may_unmap});
  return st == 0 ? 0 : (st == -EOPNOTSUPP ? -EOPNOTSUPP : -EIO);
}

// blkdev_fallocate (block/fops.c, after vfs_fallocate's checks; loop stacked on
// this device passes FALLOC_FL_KEEP_SIZE): a start past the end is EINVAL, a range
// running past it is cut with KEEP_SIZE (EINVAL without), and it must be whole
// logical blocks. Only two modes do anything; each truncates the cache over the
// range first, then: ZERO_RANGE issues write-zeroes that may fall back to writing
// zeroed pages; PUNCH_HOLE|KEEP_SIZE issues write-zeroes without a fallback
// (BLKDEV_ZERO_NOFALLBACK: no write-zeroes limit is EOPNOTSUPP). (6.1's third,
// PUNCH_HOLE|KEEP_SIZE|NO_HIDE_STALE, is refused by vfs_fallocate before it.) A
// read-only device is EPERM after the truncation.
// The driver sees a write-zeroes request for both zeroing modes; ZERO_RANGE's
// carries REQ_NOUNMAP, so loop zero-ranges the backing file, and PUNCH_HOLE's does
// not, so loop punches it: both read back zeros, only the allocation differs
// (`allocated file`, common/allocation_after_discard_and_zeroout.trace).
int BlockDevice::fallocate_range(int mode, int64_t start, int64_t len, bool caller_excl) {
  const int64_t size = static_cast<int64_t>(capacity_sectors() * kSectorSize);
  if (start >= size) return -EINVAL;
  if (start + len > size) {
    if (!(mode & FALLOC_FL_KEEP_SIZE)) return -EINVAL;
    len = size - start;
  }
  if ((static_cast<uint64_t>(start) | static_cast<uint64_t>(len)) % logical_block_size() != 0)
    return -EINVAL;
  const uint64_t a = static_cast<uint64_t>(start), n = static_cast<uint64_t>(len);
  const bool zero_range = (mode & ~FALLOC_FL_KEEP_SIZE) == FALLOC_FL_ZERO_RANGE;
  if (!zero_range && mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  if (const int e = truncate_bdev_range(a, a + n - 1, caller_excl)) return e;
  if (read_only()) return -EPERM;
  if (!zero_range && discard_max_sectors() == 0) return -EOPNOTSUPP;
  return static_cast<int>(submit_range(ReqOp::WriteZeroes, a, n, /*may_unmap=*/!zero_range));
}

// truncate_bdev_range over bytes [start, last] (last = UINT64_MAX: the whole
// mapping). A caller without O_EXCL claims the device for the moment; when
// another opener holds it, the pages are invalidated instead (model/discard.cpp).
int BlockDevice::truncate_bdev_range(uint64_t start, uint64_t last, bool caller_excl) {
  if (!caller_excl && claimed_by_other(nullptr))
    return invalidate_pages(start / kPageSize, last / kPageSize);
  if (last == UINT64_MAX) {
    std::lock_guard lock(cache_mu_);
    drop_range_locked(0, UINT64_MAX);
    return 0;
  }
  truncate_range(start, last + 1);
  return 0;
}

// invalidate_inode_pages2_range over pages [first_page, last_page]: clean pages
// leave the cache whole, dirty ones stay: EBUSY.
int BlockDevice::invalidate_pages(uint64_t first_page, uint64_t last_page) {
  std::lock_guard lock(cache_mu_);
  std::vector<uint64_t> dirty;
  pages_.for_each(first_page, last_page, [&](uint64_t index, const CachedPage& page) {
    if (page.dirty != 0) dirty.push_back(index);
  });
  uint64_t from = first_page;
  for (const uint64_t index : dirty) {
    if (index > from) drop_range_locked(from, index - 1);
    from = index + 1;
  }
  if (from <= last_page) drop_range_locked(from, last_page);
  return dirty.empty() ? 0 : -EBUSY;
}

// Bytes [start, end) of the cache: whole pages go, dirty or not; a page the range
// cuts holds zeros there and keeps its other bytes, and only its buffers wholly
// inside the range are cleaned (block_invalidate_folio): a dirty buffer the range
// cuts is written back later with its zeros.
void BlockDevice::truncate_range(uint64_t start, uint64_t end) {
  if (start >= end) return;
  std::lock_guard lock(cache_mu_);
  const uint64_t first_whole = (start + kPageSize - 1) / kPageSize;
  const uint64_t end_whole = end / kPageSize;  // exclusive
  if (first_whole < end_whole) drop_range_locked(first_whole, end_whole - 1);
  for (const uint64_t index : {uint64_t{start / kPageSize}, uint64_t{(end - 1) / kPageSize}}) {
    if (index >= first_whole && index < end_whole) continue;
    CachedPage* page = pages_.find(index);
    if (page == nullptr) continue;
    const uint64_t base = index * kPageSize;
    const uint64_t from = std::max(start, base) - base, to = std::min(end, base + kPageSize) - base;
    std::memset(page->data + from, 0, to - from);
    const uint64_t buffer = soft_block_size_.load();
    const uint64_t clean_from = (from + buffer - 1) / buffer * buffer,
                   clean_to = to / buffer * buffer;
    if (clean_from < clean_to)
      page->dirty &= static_cast<SectorMask>(~sectors_of(clean_from, clean_to));
  }
}

}  // namespace loopcheck::inproc
