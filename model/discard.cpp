// BLKDISCARD, BLKZEROOUT and BLKSECDISCARD on a loop device (docs/semantics.md §3.6): the block
// layer's checks in each kernel's order, the truncation of the device's page cache
// over the range (truncate_bdev_range: dirty pages are dropped, not written), and
// the driver's fallocate of the backing file (lo_fallocate: FALLOC_FL_PUNCH_HOLE
// for a discard, FALLOC_FL_ZERO_RANGE for write-zeroes, both FALLOC_FL_KEEP_SIZE).
// Probed on 6.1.0-56 and 6.12.117 in QEMU and on 6.18.44 (common/discard_*.trace).
#include <algorithm>
#include <cerrno>

#include "model/content.h"
#include "model/machine.h"

namespace loopcheck::model {

namespace {

// The uint64_t[2] {start, len} the ioctl copies from the caller.
struct ByteRange {
  uint64_t start = 0;
  uint64_t len = 0;
};

ByteRange range_of(const Op& op) {
  return {op.offset.lit, op.arg.lit};
}

bool writable(const Desc& fd) {
  return fd.access != Access::Ro;  // FMODE_WRITE
}

// `UINT_MAX >> 9` sectors over a file whose filesystem has fallocate; granularity
// the filesystem's block (4 KiB on the filesystems traces run on).
constexpr uint32_t kFileDiscardMaxSectors = 0xffffffffu >> 9;
constexpr uint32_t kFileDiscardGranularity = 4096;

}  // namespace

// 6.12+ (Profile::discard_range_validated_first): everything is checked before the
// cache is touched (blk_validate_byte_range: the logical block size, a zero length,
// the end); then the cache over the range goes and the request is sent.
Outcome Machine::discard_validated_first(const Desc& fd, Device& dev, const Op& op) {
  if (pointer_faults(op.arg_kind)) return Outcome::error(EFAULT);  // copy_from_user first
  if (dev.discard_max_sectors == 0) return Outcome::error(EOPNOTSUPP);
  if (!writable(fd)) return Outcome::error(EBADF);
  if (bdev_read_only(dev)) return Outcome::error(EPERM);
  const ByteRange r = range_of(op);
  const uint64_t end = r.start + r.len;
  if ((r.start | r.len) % dev.block_size != 0 || r.len == 0 || end < r.start ||
      end > arith::device_bytes(dev.capacity))
    return Outcome::error(EINVAL);
  if (const int e = truncate_bdev_range(fd, dev, r.start, end)) return Outcome::error(e);
  return fallocate_request(dev, r.start, end, BackingZeroing::Punch);
}

// 6.1: EBADF, EOPNOTSUPP and EFAULT, then 512-byte alignment and the end, then the
// cache truncation (truncate_bdev_range(start, start + len - 1): a zero length at 0
// asks for the whole mapping), and only then blkdev_issue_discard's own checks:
// EPERM, the logical block size, a zero length (6.1.0-56 in QEMU: BLKDISCARD {0, 0}
// → EINVAL, the dirty page written before it lost; after LOOP_SET_BLOCK_SIZE 4096,
// {20480, 512} → EINVAL, the dirty page over it lost).
Outcome Machine::discard_truncating_first(const Desc& fd, Device& dev, const Op& op) {
  if (!writable(fd)) return Outcome::error(EBADF);
  if (dev.discard_max_sectors == 0) return Outcome::error(EOPNOTSUPP);
  if (pointer_faults(op.arg_kind)) return Outcome::error(EFAULT);
  const ByteRange r = range_of(op);
  const uint64_t end = r.start + r.len;
  if ((r.start | r.len) % kSectorSize != 0 || end < r.start ||
      end > arith::device_bytes(dev.capacity))
    return Outcome::error(EINVAL);
  // truncate_bdev_range(start, start + len - 1): {0, 0} asks for the whole mapping.
  const uint64_t cut_end = r.len == 0 && r.start == 0 ? kWholeMapping : end;
  if (const int e = truncate_bdev_range(fd, dev, r.start, cut_end)) return Outcome::error(e);
  if (bdev_read_only(dev)) return Outcome::error(EPERM);
  if ((r.start | r.len) % dev.block_size != 0 || r.len == 0) return Outcome::error(EINVAL);
  return fallocate_request(dev, r.start, end, BackingZeroing::Punch);
}

// A device never bound in the trace whose limits an earlier bind may have set:
// EOPNOTSUPP if none did, else what the checks after that one give. It has no
// capacity, so those never reach a request (asserted: a bind sets the limits).
Outcome Machine::discard_with_unknown_limits(const Desc& fd, Device& dev, const Op& op) {
  assert(!has_backing(dev.state));
  dev.discard_max_sectors = kFileDiscardMaxSectors;
  Outcome o = p.discard_range_validated_first ? discard_validated_first(fd, dev, op)
                                              : discard_truncating_first(fd, dev, op);
  dev.discard_max_sectors = kDiscardLimitsUnknown;
  assert(o.kind == Outcome::Kind::Error);
  // The errors blkdev_common_ioctl finds before the limit: 6.12+ the copy, 6.1 the mode.
  const int before = p.discard_range_validated_first ? EFAULT : EBADF;
  if (o.err != before && o.err != EOPNOTSUPP) {
    o.also_err = EOPNOTSUPP;
    o.err_rule = EnvelopeRule::DiscardLimitsUnknown;
  }
  return o;
}

// The same on every profile: blk_ioctl_zeroout checks 512-byte alignment and the
// end (end = start + len - 1, so a zero length fails), truncates the cache, and
// blkdev_issue_zeroout then checks the logical block size and EPERM (6.1.0-56,
// 6.12.117, 6.18.44: after LOOP_SET_BLOCK_SIZE 4096, {20480, 512} → EINVAL, and
// the dirty page over it is lost).
Outcome Machine::zeroout(const Desc& fd, Device& dev, const Op& op) {
  if (!writable(fd)) return Outcome::error(EBADF);
  if (pointer_faults(op.arg_kind)) return Outcome::error(EFAULT);
  const ByteRange r = range_of(op);
  const uint64_t last = r.start + r.len - 1;
  if ((r.start | r.len) % kSectorSize != 0 || last >= arith::device_bytes(dev.capacity) ||
      last < r.start)
    return Outcome::error(EINVAL);
  if (const int e = truncate_bdev_range(fd, dev, r.start, last + 1)) return Outcome::error(e);
  if ((r.start | r.len) % dev.block_size != 0) return Outcome::error(EINVAL);
  if (bdev_read_only(dev)) return Outcome::error(EPERM);
  // A bound device over a file always has a write-zeroes limit: the request goes
  // to lo_fallocate (without one, zeroed pages would be written: the same bytes).
  return fallocate_request(dev, r.start, last + 1, BackingZeroing::ZeroRange);
}

// The discard or write-zeroes request for device bytes [a, z). loop_queue_rq
// refuses it unless the device is Bound (BLK_STS_IOERR). Over a file both punch
// and zero-range leave zeros; over a lower loop device the request becomes the
// lower device's own fallocate (blkdev_fallocate: its alignment, its size, its
// cache), which the model does not follow: the outcome may be EIO, the bytes of
// both devices are unknown.
Outcome Machine::fallocate_request(Device& dev, uint64_t a, uint64_t z, BackingZeroing how) {
  if (dev.state != DevState::Bound) return Outcome::error(EIO);
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind == DescKind::File) {
    zero_backing_range(dev, a, z, how);
    backing_changed(DescKind::Loop, dev.index, nullptr);  // devices stacked on this one
    return Outcome::ok(0);
  }
  mark_backing_unknown(dev);
  // The lower device's own fallocate reaches the file at the bottom of the stack,
  // which the model does not follow: it punches or zeroes bytes there too
  // (gen --seed 11 trace 193, on inproc and the host: a read of the lower device
  // after a discard through the upper one found zeros where the file had 0xe1).
  for (Device* lower = lower_device(dev); lower != nullptr && lower->backing_desc != kNoDesc;
       lower = lower_device(*lower)) {
    const Desc& lb = s.descs[lower->backing_desc];
    if (lb.kind != DescKind::File) continue;
    s.objects[lb.object].data.unknown = 1;
    s.objects[lb.object].alloc_unknown = 1;
  }
  backing_changed(DescKind::Loop, b.device, &dev);
  backing_changed(DescKind::Loop, dev.index, nullptr);
  Outcome o = Outcome::ok(0);
  o.also_err = EIO;
  o.err_rule = EnvelopeRule::StackedFallocate;
  return o;
}

// truncate_bdev_range (block/bdev.c, alike in 6.1, 6.12 and 6.18) over device bytes
// [a, z), z = kWholeMapping for all of it. Through an fd not opened O_EXCL it
// claims the device for the moment; when another opener holds it exclusively the
// claim fails and the pages are invalidated instead: clean ones leave the cache
// whole (a page the range only cuts too), dirty ones stay and the call is EBUSY
// (a block device has no launder_folio and its dirty buffers cannot be released),
// so the caller sends no request (6.18.44: BLKDISCARD, BLKZEROOUT and fallocate
// beside an O_EXCL opener, common/discard_beside_an_exclusive_opener.trace).
int Machine::truncate_bdev_range(const Desc& fd, Device& dev, uint64_t a, uint64_t z) {
  const bool claims = (fd.open_flags & kOpenExcl) == 0;
  if (claims && held_exclusively_by_other(dev.index, &fd)) {
    // An empty range (6.1's BLKDISCARD {start, 0}: lend < lstart) touches no page.
    if (z != kWholeMapping && z <= a) return 0;
    const uint64_t last_page = (z == kWholeMapping ? z : z - 1) / kPageSize;
    return invalidate_pages(dev, a / kPageSize, last_page);
  }
  if (z == kWholeMapping) {
    dev.dirty = ExtentList{};  // truncated, not written back
    drop_cache(dev);
    return 0;
  }
  truncate_cache_range(dev, a, z);
  return 0;
}

// invalidate_inode_pages2_range over pages [first_page, last_page] (indices, as
// the kernel takes them, so the whole mapping needs no byte end past 2^64): EBUSY
// when a dirty page stays.
int Machine::invalidate_pages(Device& dev, uint64_t first_page, uint64_t last_page) {
  const uint64_t pa = first_page * kPageSize;
  const uint64_t pz = last_page >= kWholeMapping / kPageSize ? kWholeMapping / kPageSize * kPageSize
                                                             : (last_page + 1) * kPageSize;
  bool busy = false;
  uint64_t from = pa;
  for (int i = 0; i < dev.dirty.count; ++i) {
    const uint64_t dirty_a = dev.dirty.e[i].start / kPageSize * kPageSize;
    const uint64_t dirty_z = (dev.dirty.e[i].end + kPageSize - 1) / kPageSize * kPageSize;
    if (dirty_z <= from || dirty_a >= pz) continue;
    forget_pages(dev, from, std::max(from, dirty_a));
    busy = true;
    from = std::max(from, dirty_z);
  }
  forget_pages(dev, from, pz);
  return busy ? EBUSY : 0;
}

// Pages [pa, pz) left the cache: they hold nothing the model keeps, and are no
// longer surely cached: of [sure_lo, sure_hi) the larger side stays sure, the
// rest of [cache_lo, cache_hi) is pages readahead may have brought back (a change
// of the backing under them is unpredictable there, not stale bytes; 6.18.44: a
// page read, discarded, the file rewritten, the page read again → the new bytes).
void Machine::forget_pages(Device& dev, uint64_t pa, uint64_t pz) {
  if (pa >= pz) return;
  extents_erase(dev.held, pa, pz);
  if (dev.sure_lo < pz && pa < dev.sure_hi) {
    const uint64_t left = pa > dev.sure_lo ? pa - dev.sure_lo : 0;
    const uint64_t right = dev.sure_hi > pz ? dev.sure_hi - pz : 0;
    if (left >= right)
      dev.sure_hi = std::min(dev.sure_hi, pa);
    else
      dev.sure_lo = std::max(dev.sure_lo, pz);
    if (dev.sure_lo >= dev.sure_hi) dev.sure_lo = dev.sure_hi = 0;
  }
  if (dev.refused_page != kNoPage && dev.refused_page >= pa && dev.refused_page < pz)
    dev.refused_page = kNoPage;  // the failed folio went with its page
}

// truncate_bdev_range's truncation over device bytes [a, z) (512-byte aligned): whole pages
// inside leave the cache, dirty or not; in a page the range cuts the bytes inside
// read zero, and only the buffers wholly inside lose their dirty state
// (block_invalidate_folio). A dirty buffer the range cuts stays dirty and is
// written back with its zeros: they become a dirty fill run (6.1.0-56, 6.12.117,
// 6.18.44: a 1-byte write, BLKDISCARD {0, 512} with 4 KiB buffers, the file cut
// to 0, then a writeback grew it to 4 KiB; fuzz_inproc seed 2,
// common/discard_cutting_a_dirty_buffer_keeps_it_dirty.trace).
// Where the request that follows fails, the backing keeps its bytes, so the
// zeros are the cache's own: held where the page is surely cached, unknown where
// it may be.
void Machine::truncate_cache_range(Device& dev, uint64_t a, uint64_t z) {
  if (a >= z) return;
  const uint64_t buffer = dev.soft_block_size ? dev.soft_block_size : dev.block_size;
  const uint64_t whole_a = (a + buffer - 1) / buffer * buffer, whole_z = z / buffer * buffer;
  const ByteRange cut_buffers[2] = {{a / buffer * buffer, a % buffer ? buffer : 0},
                                    {whole_z, z % buffer && whole_z >= whole_a ? buffer : 0}};
  ExtentList zeros;  // the range's bytes in dirty buffers it cuts
  for (const ByteRange& cut : cut_buffers)
    if (cut.len != 0 && extents_overlap(dev.dirty, cut.start, cut.start + cut.len))
      extents_write_fill(zeros, std::max(a, cut.start), std::min(z, cut.start + cut.len), 0);
  extents_erase(dev.dirty, a, z);
  for (int i = 0; i < zeros.count; ++i) extents_write_run(dev.dirty, zeros.e[i]);
  extents_erase(dev.held, a, z);
  if (dev.refused_page != kNoPage && dev.refused_page >= a / kPageSize * kPageSize &&
      dev.refused_page < z)
    dev.refused_page = kNoPage;  // the failed folio went with its page
  forget_pages(dev, (a + kPageSize - 1) / kPageSize * kPageSize, z / kPageSize * kPageSize);
  hold_zeros_in_cut_pages(dev, a, z);
}

// The bytes of [a, z) in the pages it cuts read zero from the cache.
void Machine::hold_zeros_in_cut_pages(Device& dev, uint64_t a, uint64_t z) {
  const uint64_t head_page = a / kPageSize * kPageSize;
  const uint64_t tail_page = (z - 1) / kPageSize * kPageSize;
  const bool tail_cut = z % kPageSize != 0 && (tail_page > head_page || a % kPageSize == 0);
  const ByteRange cuts[2] = {{a, a % kPageSize ? std::min(z, head_page + kPageSize) - a : 0},
                             {tail_page, tail_cut ? z - tail_page : 0}};
  for (const ByteRange& cut : cuts) {
    if (cut.len == 0) continue;
    const uint64_t page = cut.start / kPageSize * kPageSize;
    if (!may_be_cached(dev, page, page + kPageSize)) continue;
    if (surely_cached(dev, page, page + kPageSize) && !dev.held.unknown) {
      extents_write_fill(dev.held, cut.start, cut.start + cut.len, 0);
      dev.cache_stale = 1;
      if (dev.held.unknown) mark_all_stale(dev);
    } else {
      widen_stale(dev, cut.start, cut.start + cut.len);
    }
  }
}

// The backing file's bytes under device bytes [a, z) read zero now, up to its EOF
// (FALLOC_FL_KEEP_SIZE). ext4 zeroes a partial block in place, so a written one
// stays written and a hole stays a hole (6.1.0-56 in QEMU: BLKDISCARD {0, 512} of a
// sparse file cut to 1 byte later, a DIO read-modify-write over it → 512; fuzz_inproc
// seed 2, common/discard_of_a_hole_leaves_a_hole.trace); whole blocks become holes
// (punched, or unwritten extents, which read as holes do) where no fill lies under
// them: under a fill the model keeps them written. Other devices' caches keep the
// old bytes.
void Machine::zero_backing_range(Device& dev, uint64_t a, uint64_t z, BackingZeroing how) {
  const Desc& b = s.descs[dev.backing_desc];
  const uint64_t fa = arith::backing_byte(a, dev.offset), fz = arith::backing_byte(z, dev.offset);
  zero_file_range(b.object, fa, fz, &dev);
  // lo_fallocate's mode, always with FALLOC_FL_KEEP_SIZE.
  note_fallocation(
      s.objects[b.object], fa, fz,
      kFallocKeepSize | (how == BackingZeroing::Punch ? kFallocPunchHole : kFallocZeroRange));
}

// The blocks a fallocate of file bytes [a, z) allocates or frees (ext4; probed on
// 6.18.44 with FIEMAP: a ZERO_RANGE over a hole leaves unwritten extents, also
// for a block it covers in part; a PUNCH_HOLE frees only whole blocks, and none at
// or past the EOF's block). Blocks past the EOF's, which a KEEP_SIZE ZERO_RANGE
// or plain fallocate would preallocate, are not followed.
void Machine::note_fallocation(Object& o, uint64_t a, uint64_t z, uint8_t mode) {
  const uint64_t eof_block_end = (o.size + kPageSize - 1) / kPageSize * kPageSize;
  if (mode & kFallocPunchHole) {
    if (a < o.size) free_whole_blocks(o, a, std::min(z, eof_block_end));
    return;
  }
  allocate_blocks(o, a, z);
  if (z > eof_block_end) o.alloc_unknown = 1;
}

// File bytes [fa, fz) up to the file's EOF read zero (ext4's punch and zero-range
// alike, from a device's request or a fallocate on the file); `writer`'s own
// cache is not made stale.
void Machine::zero_file_range(uint32_t object, uint64_t fa, uint64_t fz, const Device* writer) {
  Object& o = s.objects[object];
  // ext4 takes whole blocks up to the end of the EOF's block: a range covering
  // that block to its end makes all of it a hole or an unwritten extent, the
  // written bytes before the EOF too (6.18.44, 6.12.117, 6.1.0-56: after a 1-byte
  // write into a file cut to 0, fallocate ZERO_RANGE 0 4096 on a DIO device, then a
  // 512-byte device write, whose 4 KiB block is read over that hole → 512; fuzz_inproc
  // seed 2, common/zero_range_over_the_eof_block_leaves_a_hole.trace).
  const uint64_t reach = std::min(fz, (o.size + kPageSize - 1) / kPageSize * kPageSize);
  fz = std::min(o.size, fz);
  if (fa >= fz) return;
  backing_file_write(object, fa, fz, writer);
  // [fa, whole_a) and [whole_z, fz): the partial blocks at either end; [whole_a,
  // whole_z): whole blocks (empty when the range sits inside one block).
  const uint64_t whole_a = (fa + kPageSize - 1) / kPageSize * kPageSize;
  const uint64_t whole_z = std::max(whole_a, reach / kPageSize * kPageSize);
  const ByteRange parts[2] = {{fa, std::min(whole_a, fz) - fa},
                              {whole_z, fz > whole_z ? fz - whole_z : 0}};
  for (const ByteRange& part : parts)
    if (part.len != 0 && !object_range_in_hole(o, part.start, part.start + part.len))
      extents_write_fill(o.data, part.start, part.start + part.len, 0);
  if (whole_a >= whole_z) return;
  const uint64_t fill_stop = std::clamp(o.fill_end, whole_a, whole_z);
  extents_write_fill(o.data, whole_a, fill_stop, 0);
  extents_erase(o.data, fill_stop, whole_z);
}

// loop_config_discard (6.1) / loop_get_discard_config (6.12+): over a file, the
// fallocate limits; over a lower loop device, its write-zeroes limit (the same
// number as its discard limit) and its granularity. Probed: 4096 and 4294966784
// over ext4 on 6.1.0-56, 6.12.117 and 6.18.44.
void Machine::configure_discard(Device& dev) {
  const Desc& b = s.descs[dev.backing_desc];
  uint32_t max_sectors = kFileDiscardMaxSectors, granularity = kFileDiscardGranularity;
  if (b.kind == DescKind::Loop) {
    const Device* lower = device(b.device);
    max_sectors = lower ? lower->discard_max_sectors : 0;
    granularity = lower ? lower->discard_granularity : 0;
    if (granularity == 0 && lower && !p.discard_limits_at_set_block_size)
      granularity = lower->block_size;  // 6.1: ?: queue_physical_block_size
  }
  // 6.11+ queue limits: blk_validate_limits raises the granularity to the
  // physical block size (host 6.18.44: 8192 after a bind with 8 KiB blocks, 65536
  // after LOOP_SET_BLOCK_SIZE 65536, 4096 again after 512; gen-7-0026/0027,
  // linux-6.18/discard_granularity_follows_large_blocks.trace).
  if (p.discard_limits_at_set_block_size) granularity = std::max(granularity, dev.block_size);
  dev.discard_max_sectors = max_sectors;
  dev.discard_granularity = max_sectors != 0 ? granularity : 0;
}

// BLKSECDISCARD (blk_ioctl_secure_erase, the same in 6.1, 6.12 and 6.18): FMODE_WRITE,
// then the queue's secure-erase limit, which a loop queue never sets, so nothing
// after it (the range, the cache) is ever reached: not even a null pointer.
// Probed on 6.1.0-56, 6.12.117 and 6.18.44 (common/secure_discard_is_not_supported.trace).
Outcome Machine::secure_erase(const Desc& fd) {
  return Outcome::error(writable(fd) ? EOPNOTSUPP : EBADF);
}

}  // namespace loopcheck::model
