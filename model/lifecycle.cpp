// Device table, file descriptions, open/close, last close and teardown, page-cache
// writeback, and the backing-file facts (size, capacity, direct-I/O feasibility).
#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>

#include "model/arith.h"
#include "model/machine.h"

namespace loopcheck::model {

// ---- lookups -----------------------------------------------------------------------

Desc* Machine::desc_by_fd(uint64_t fd) {
  if (fd < kFirstFd || fd > 0xffffffffu) return nullptr;
  for (Desc& d : s.descs)
    if (d.kind != DescKind::None && d.fd == fd) return &d;
  return nullptr;
}

Device* Machine::device(uint32_t index) {
  for (int i = 0; i < s.device_count; ++i)
    if (s.devices[i].index == index) return &s.devices[i];
  return nullptr;
}

// The block layer's open count: open file descriptions of the device, including
// those kept alive only as another loop device's backing file.
uint32_t Machine::openers(uint32_t index) const {
  uint32_t n = 0;
  for (const Desc& d : s.descs)
    if (d.kind == DescKind::Loop && d.device == index) ++n;
  return n;
}

bool Machine::held_exclusively_by_other(uint32_t index, const Desc* except) const {
  for (const Desc& d : s.descs)
    if (&d != except && d.kind == DescKind::Loop && d.device == index && (d.open_flags & kOpenExcl))
      return true;
  return false;
}

// fls(max_part): each device gets 2^part_shift minors.
uint32_t Machine::part_shift() const {
  return env.max_part == 0 ? 0 : static_cast<uint32_t>(std::bit_width(env.max_part));
}

// ---- device table --------------------------------------------------------------------

Device* Machine::create_device(uint32_t index) {
  assert(device(index) == nullptr);
  if (s.device_count >= kMaxDevices) return nullptr;  // model bound: ENOMEM (docs/model.md)
  int at = 0;
  while (at < s.device_count && s.devices[at].index < index) ++at;
  for (int i = s.device_count; i > at; --i) s.devices[i] = s.devices[i - 1];
  s.devices[at] = Device{};
  s.devices[at].exists = 1;
  s.devices[at].index = index;
  s.devices[at].rotational = p.created_rotational ? 1 : 0;
  ++s.device_count;
  send_uevent(s.devices[at], UeventAction::Add);  // add_disk
  return &s.devices[at];
}

void Machine::remove_device(uint32_t index) {
  int at = 0;
  while (at < s.device_count && s.devices[at].index != index) ++at;
  assert(at < s.device_count);
  send_partition_removes(s.devices[at]);  // del_gendisk
  send_uevent(s.devices[at], UeventAction::Remove);
  for (int i = at; i + 1 < s.device_count; ++i) s.devices[i] = s.devices[i + 1];
  --s.device_count;
  s.devices[s.device_count] = Device{};
}

// ---- open / close ----------------------------------------------------------------------

namespace {
// set_init_blocksize(): the soft block size chosen when the first opener arrives:
// the smallest power of two >= the logical block size, up to a page, that still
// divides the device size.
uint32_t init_soft_block_size(const Device& dev) {
  uint64_t size = arith::device_bytes(dev.capacity);
  uint32_t bsize = dev.block_size;
  while (bsize < kPageSize) {
    if (size & bsize) break;
    bsize <<= 1;
  }
  return bsize;
}
}  // namespace

// The loop-device part of open(): blkdev_open, the driver's lo_open, and what the
// first opener and a pending rescan do. Fills `d`; an errno on failure.
// The checks an open of an existing device passes before it counts as an opener
// (blkdev_get_whole: the claim, lo_open; bd_openers++ comes after them).
int Machine::open_loop_refusal(const Op& op) {
  const uint64_t index = op.subject.lit;
  if (index > 0xffffffffu || (index << part_shift()) >= (1u << kMinorBits))
    return ENXIO;  // no such minor can exist
  const Device* dev = device(static_cast<uint32_t>(index));
  // Profile::missing_device_open_errno: a port without the legacy autoload.
  if (!dev && p.missing_device_open_errno) return p.missing_device_open_errno;
  if ((op.open_flags & kOpenExcl) && dev && held_exclusively_by_other(dev->index, nullptr))
    return EBUSY;  // bd_prepare_to_claim precedes the driver's open
  if (dev && p.deferred_detach && dev->state == DevState::Rundown) return ENXIO;  // lo_open (6.11+)
  if (dev && dev->state == DevState::Deleting) return ENXIO;  // lo_open: Lo_deleting
  return 0;
}

int Machine::open_loop(const Op& op, Desc& d) {
  if (!open_checked) {
    if (const int e = open_loop_refusal(op)) return e;
  }
  const uint64_t index = op.subject.lit;
  Device* dev = device(static_cast<uint32_t>(index));
  if (!dev) {
    // Legacy autoload (CONFIG_BLOCK_LEGACY_AUTOLOAD): the open creates the device.
    dev = create_device(static_cast<uint32_t>(index));
    if (!dev) return ENOMEM;
  }
  if (openers(dev->index) == 0) dev->soft_block_size = init_soft_block_size(*dev);
  if (dev->rescan_on_open) {
    // bdev_disk_changed (Profile::bind_rescans_at_next_open): its writeback
    // errors are recorded, not returned.
    dev->rescan_on_open = 0;
    flush_dirty(*dev);
    drop_cache(*dev);
    if ((dev->flags & kLoPartscan) && !partition_open(*dev)) scan_partitions(*dev);
  }
  d.kind = DescKind::Loop;
  d.device = dev->index;
  // blkdev_open: filemap_sample_wb_err() gives 0 while the newest error is
  // unseen, so this opener's fsync still reports it (probe f1: a fd opened
  // after a failed BLKFLSBUF writeback gets EIO; f4: one opened after an
  // fsync reported the error gets 0).
  d.wb_err_sample = dev->wb_err_seen ? dev->wb_err : 0;
  d.readahead_raised = dev->readahead_raised;  // file_ra_state_init
  return 0;
}

Outcome Machine::open(const Op& op) {
  int slot = -1;
  for (int i = 0; i < kMaxDescs; ++i)
    if (s.descs[i].kind == DescKind::None) {
      slot = i;
      break;
    }
  if (slot < 0) return Outcome::error(EMFILE);  // model bound (docs/model.md)

  Desc d{};
  d.access = op.access;
  d.open_flags = op.open_flags;
  const bool direct = (op.open_flags & kOpenDirect) != 0;
  switch (op.node) {
    case Node::LoopControl:
      // A misc character device has no direct-I/O support: do_dentry_open refuses.
      if (direct) return Outcome::error(EINVAL);
      d.kind = DescKind::LoopControl;
      break;
    case Node::Loop:
      if (op.part != 0) {
        bool unpredicted = false;
        const int e = open_partition(op, d, &unpredicted);
        if (e) {
          Outcome o = Outcome::error(e);
          o.any = unpredicted;
          o.data_rule = unpredicted ? EnvelopeRule::PartitionFd : EnvelopeRule::None;
          return o;
        }
        break;
      }
      if (const int e = open_loop(op, d)) return Outcome::error(e);
      break;
    case Node::File:
    case Node::Dir: {
      if (op.object >= s.object_count) return Outcome::error(ENOENT);
      const Object& obj = s.objects[op.object];
      const bool want_dir = op.node == Node::Dir;
      if (want_dir != (obj.kind == ObjKind::Dir))
        return Outcome::error(want_dir ? ENOTDIR : EISDIR);
      if (want_dir && op.access != Access::Ro) return Outcome::error(EISDIR);
      if (direct && env.dio_align == 0) return Outcome::error(EINVAL);
      d.kind = want_dir ? DescKind::Dir : DescKind::File;
      d.object = op.object;
      break;
    }
  }
  // Lowest free fd number, as the kernel hands them out.
  uint32_t fd = kFirstFd;
  for (bool taken = true; taken; ++fd) {
    taken = false;
    for (const Desc& x : s.descs)
      if (x.kind != DescKind::None && x.fd == fd) taken = true;
    if (!taken) break;
  }
  d.fd = fd;
  s.descs[slot] = d;
  return Outcome::ok(fd, ValueRole::Fd);
}

Outcome Machine::close(const Op& op) {
  Desc* d = desc_by_fd(op.subject.lit);
  if (!d) return Outcome::error(EBADF);
  d->fd = 0;
  release_desc(desc_index(*d));
  return Outcome::ok(0);
}

// Frees the description once neither an fd nor a bound device refers to it; for a
// loop device that may be its last close (and so cascade down a stack of devices).
void Machine::release_desc(int index) {
  Desc& d = s.descs[index];
  if (d.fd != 0 || d.holders != 0) return;
  const bool was_loop = d.kind == DescKind::Loop;
  const uint32_t dev_index = d.device;
  d = Desc{};
  if (was_loop && openers(dev_index) == 0) last_close(dev_index);
}

// blkdev_put of the last opener: the mapping is written back and dropped (so
// writeback happens while a Bound device can still serve it), then lo_release
// decides whether to tear down.
void Machine::last_close(uint32_t index) {
  Device* dev = device(index);
  assert(dev);
  flush_dirty(*dev);
  if (dev->orphan_dirty && dev->state == DevState::Bound) {
    // 6.1: pages that survived a synchronous detach are written to whatever is bound
    // now; we do not know which of them the kernel kept.
    const Desc& b = s.descs[dev->backing_desc];
    if (b.kind == DescKind::File) s.objects[b.object].data.unknown = 1;
    if (b.kind == DescKind::Loop) device(b.device)->dirty.unknown = 1;
  }
  dev->orphan_dirty = 0;
  drop_cache(*dev);
  dev->soft_block_size = 0;
  const bool autoclear = (dev->flags & kLoAutoclear) != 0;
  if ((dev->state == DevState::Bound && autoclear) || dev->state == DevState::Rundown)
    teardown_or_defer(*dev, Pending::ReleaseTeardown);
}

void Machine::teardown_or_defer(Device& dev, Pending kind) {
  if (!split || deferred_device != UINT32_MAX) {
    teardown(dev);  // a cascade inside the pending work runs with it
    return;
  }
  dev.state = DevState::Rundown;
  dev.pending = kind;
  deferred_device = dev.index;
}

void Machine::teardown(Device& dev) {
  assert(dev.state != DevState::Unbound);
  if (dev.dirty.count > 0 || dev.dirty.unknown) {
    // Only the 6.1 synchronous LOOP_CLR_FD gets here with dirty pages: nothing wrote
    // them back, and invalidate_disk() keeps dirty pages.
    assert(!p.deferred_detach);
    if (p.dirty_pages_lost_on_sync_detach) dev.orphan_dirty = 1;
    dev.dirty = ExtentList{};
  }
  const int backing = dev.backing_desc;
  dev.backing_desc = kNoDesc;
  dev.state = DevState::Unbound;
  dev.rescan_on_open = 0;  // what a detach leaves for the next open is not settled
  dev.offset = 0;
  dev.min_dio_bytes = 0;
  dev.sizelimit = 0;
  dev.name = Name64{};
  dev.block_size = 512;
  dev.capacity = 0;
  dev.flags = 0;
  dev.dio = 0;
  // "let user-space know about this change", disk_force_media_change, then
  // bdev_disk_changed of a PARTSCAN device drops the partitions (none exist
  // otherwise; the capacity is 0, so none come back).
  send_uevent(dev, UeventAction::Change);
  send_uevent(dev, UeventAction::Change, 0, UeventDetail::MediaChange);
  send_partition_removes(dev);
  dev.parts = Partitions{};
  if (p.write_cache_cleared_on_teardown) dev.write_cache = 0;
  forget_cache(dev);  // invalidate_bdev drops the clean pages
  dev.cache_stale = 0;
  backing_changed(DescKind::Loop, dev.index, nullptr);  // stacked devices now read an EOF
  // A writeback error not yet reported does not outlive the binding: after a
  // teardown and a rebind, fsync returns 0 (probe f3 on 6.18.44: BLKFLSBUF
  // failed, LOOP_CLR_FD, last close, reopen, LOOP_SET_FD, fsync → 0;
  // linux-6.18/cached_folios_and_lost_writeback_errors.trace).
  dev.wb_err = 0;
  dev.wb_err_seen = 0;
  for (Desc& d : s.descs)
    if (d.kind == DescKind::Loop && d.device == dev.index) d.wb_err_sample = 0;
  // disk_ro and bdev_ro_policy survive teardown (the sticky ro bit).
  assert(backing != kNoDesc && s.descs[backing].holders > 0);
  --s.descs[backing].holders;
  release_desc(backing);
}

// Dirty bytes past the capacity get no bio; their pages keep them and serve them
// once the device grows again (6.18.44: fuzz smoke, a read after LOOP_SET_CAPACITY
// to 0 and back to 512 returned the written bytes). Returns the bytes inside.
ExtentList Machine::hold_past_capacity(Device& dev, const ExtentList& dirty) {
  // A block straddling the capacity still gets its (refused) bio.
  const uint64_t bio_end = written_back_until(dev);
  ExtentList in_device = dirty, past_end = dirty;
  extents_cut_from(in_device, bio_end);
  extents_erase(past_end, 0, bio_end);
  for (int i = 0; i < past_end.count; ++i) keep_held(dev, past_end.e[i]);
  write_block_straddling_capacity(dev, past_end);
  return in_device;
}

// 6.1 (no unaligned_bios_refused): a dirty block straddling the capacity gets its
// bio, cut at the capacity (guard_bio_eod) and served, so the block's bytes before
// the capacity reach the backing file even when only bytes past it were dirty;
// the file grows to there (6.1.0-56 in QEMU: 1 KiB blocks, a 1-byte write at 512,
// the file cut to 512 and LOOP_SET_CAPACITY, then to 0: LOOP_SET_BLOCK_SIZE's sync
// wrote 512 bytes back, and a DIO read at 0 returned them; fuzz smoke,
// linux-6.1/writeback_of_block_straddling_capacity_grows_file.trace).
void Machine::write_block_straddling_capacity(Device& dev, const ExtentList& past_end) {
  if (p.unaligned_bios_refused || dev.state != DevState::Bound) return;
  const uint64_t cap = arith::device_bytes(dev.capacity);
  const uint64_t blk = dev.soft_block_size ? dev.soft_block_size : dev.block_size;
  const uint64_t block_start = cap / blk * blk;
  if (block_start == cap) return;
  for (int i = 0; i < past_end.count; ++i)
    if (past_end.e[i].start < block_start + blk) return extend_backing_unknown(dev, cap);
}

// Write dirty device pages to the backing file. Requests only succeed on a Bound
// device (loop_queue_rq refuses others with EIO): otherwise the data is lost.
bool Machine::flush_dirty(Device& dev) {
  if (dev.dirty.count == 0 && !dev.dirty.unknown) return true;
  const ExtentList dirty = dev.dirty;
  dev.dirty = ExtentList{};
  if (dev.state != DevState::Bound) {
    if (dev.state == DevState::Rundown) keep_rundown_pages(dev, dirty);
    note_wb_error(dev);
    return false;
  }
  // 6.15+ allows logical blocks larger than a page, but the device's page cache
  // keeps the folio size chosen at its first open: a 4 KiB folio written back to
  // an 8 KiB-block queue is an unaligned bio, refused (EIO), and the data is
  // lost. Observed on 6.18 (docs/semantics.md §11.9).
  // The same with a soft block size below the logical one: each buffer head
  // is a request smaller than a block (probe c1 on 6.18.44: fsync → EIO).
  // The refused pages stay cached, clean, holding the written bytes the backing
  // file lacks: `held` serves them (a read gets them back, probe c1).
  // 6.1 with an O_DIRECT backing file at a misaligned offset (loop DIO off): every
  // lo_write_bvec is a misaligned direct write, EINVAL from ext4, nothing written;
  // the pages stay up to date (end_buffer_async_write clears only the buffers'
  // flag) until something drops the cache (probe p1 on 6.1.0-56: fsync → EIO, the
  // written bytes read back, the file keeps its zeros, BLKFLSBUF drops them).
  // Dirty pages wholly past the capacity (shrunk by LOOP_SET_CAPACITY) are
  // dropped with no bio (block_write_full_folio: a folio past i_size): 6.18.44,
  // gen-7601-0645: with 8 KiB blocks, after the capacity went to 0, fsync → 0.
  const ExtentList in_device = hold_past_capacity(dev, dirty);
  if (in_device.count == 0 && !dirty.unknown) return true;
  if (dev.block_size > std::max<uint64_t>(kPageSize, dev.soft_block_size) ||
      soft_blocks_below_logical(dev) || backing_writes_refused(dev)) {
    for (int i = 0; i < in_device.count; ++i) extents_write_run(dev.held, in_device.e[i]);
    dev.cache_stale = 1;
    if (dirty.unknown || dev.held.unknown) mark_all_stale(dev);
    note_wb_error(dev);
    return false;
  }
  const uint64_t cap = arith::device_bytes(dev.capacity);
  // Writeback goes in whole blocks of the soft block size (buffer heads): a partly
  // dirty block also writes what was read into it. Inside the backing file that is
  // what the file holds; a block reaching past its EOF extends it, with bytes the
  // model does not know (zeros, or the repeated tail of an unaligned EOF).
  const uint64_t blk = dev.soft_block_size ? dev.soft_block_size : dev.block_size;
  bool ok = true;
  for (int i = 0; i < dirty.count; ++i) {
    const Extent& x = dirty.e[i];
    uint64_t end = std::min(x.end, written_back_until(dev));  // beyond is held
    if (x.start < end && keep_refused_last_block(dev, x, x.start, &end)) ok = false;
    const uint64_t eof_before = x.start < end ? backing_size(dev) : 0;
    if (x.start < end && !write_back_run(dev, x, x.start, end)) {
      ok = false;
      keep_refused_pages(dev, x);
      continue;  // refused: nothing of the block reached the backing
    }
    if (x.start < end && x.start % blk != 0)
      mark_block_head_past_eof_unknown(dev, x.start / blk * blk, x.start, eof_before);
    const uint64_t block_end = std::min(cap, (end + blk - 1) / blk * blk);
    if (x.start < end && block_end > end) extend_backing_unknown(dev, block_end);
    if (x.start < end) allocate_written_back(dev, x.start / blk * blk, block_end);
    // A partly dirty block read in before the backing file changed writes the old
    // bytes back over the new ones (6.1.192 in QEMU). Not when the lower device
    // refused the block (6.18.44: a DIO upper device's 4 KiB block over a lower
    // device with 8 KiB blocks, EINVAL; the lower's later O_SYNC write → 4478, no
    // writeback error of its own; gen-7704-1960).
    if (x.start < end && dev.cache_stale && (x.start % blk != 0 || end % blk != 0))
      mark_block_rest_unknown(dev, x.start / blk * blk, block_end, dirty);
  }
  if (dirty.unknown) mark_backing_unknown(dev);
  if (!ok) note_wb_error(dev);
  return ok;
}

// Writes back dirty run `x`'s bytes [a, z): false when the backing refused them.
bool Machine::write_back_run(Device& dev, const Extent& x, uint64_t a, uint64_t z) {
  return !dio_writeback_refused_by_lower(dev, a, z) &&
         write_backing(dev, a, z, x.origin, x.seed, BackingWrite::Writeback, x.reserved) == 0;
}

// A writeback a stacked lower loop device refused (read-only, or past its end)
// leaves the pages in the cache, up to date, holding the written bytes (the
// buffer-head and iomap completions mark the error and keep the folio): a read
// gets them back. 6.1.0-56, 6.12.117, 6.18.44: a 1-byte write through an upper
// device over a lower one with BLKROSET 1, fsync EIO, then a 64 KiB read of the
// upper returns the byte (finding e8a26c01).
// A DIO-mode device writes its dirty run [a, z) back as O_DIRECT requests of its
// lower loop device, in whole soft blocks (buffer heads, merged in the plug): the
// lower's blkdev_direct_IO refuses one that is not whole lower blocks (EINVAL,
// BLK_STS_INVAL: a writeback error). 6.18.44: a 1-byte write to a DIO upper device,
// the lower's blocks then grown to 8 KiB, the upper's LOOP_SET_BLOCK_SIZE →
// fsync EIO, the byte lost; the lower keeps no error of its own (gen-7704-1960).
bool Machine::dio_writeback_refused_by_lower(const Device& dev, uint64_t a, uint64_t z) {
  const Device* lower = lower_device(dev);
  if (!dev.dio || lower == nullptr) return false;
  const uint64_t blk = dev.soft_block_size ? dev.soft_block_size : dev.block_size;
  const uint64_t cap = arith::device_bytes(dev.capacity);
  const uint64_t ra = a / blk * blk, rz = std::min(cap, (z + blk - 1) / blk * blk);
  return lower_refuses_misaligned_direct_write(*lower, arith::backing_byte(ra, dev.offset),
                                               rz - ra);
}

void Machine::keep_refused_pages(Device& dev, const Extent& x) {
  if (s.descs[dev.backing_desc].kind == DescKind::Loop) keep_held(dev, x);
}

// 6.12, 6.18 (unaligned_bios_refused): a capacity that is not a whole number of
// logical blocks. The buffer straddling the end is a bio guard_bio_eod cuts to
// less than a block, refused: its bytes stay cached, the file never gets them
// (6.12.117, 6.18.44: fsync → EIO, the device reads the written bytes back, the
// file reads zeros; linux-6.18/cached_partial_last_block_serves.trace).
uint64_t Machine::refused_writeback_from(const Device& dev) const {
  const uint64_t cap = arith::device_bytes(dev.capacity);
  if (!p.unaligned_bios_refused || cap % dev.block_size == 0) return cap;
  return cap / dev.block_size * dev.block_size;
}

// Where writeback sends bios up to: the capacity, or with unaligned_bios_refused
// the end of the logical block straddling it (6.18.44: after a 1-byte write at
// 512 of a 1 KiB-block device cut to 512 bytes, fsync → EIO; fuzz smoke).
uint64_t Machine::written_back_until(const Device& dev) const {
  const uint64_t cap = arith::device_bytes(dev.capacity);
  if (refused_writeback_from(dev) == cap) return cap;
  return (cap + dev.block_size - 1) / dev.block_size * dev.block_size;
}

// Rundown refuses every request: the pages stay cached, up to date, holding the
// written bytes (6.18.44, 6.12.117: a page written and fsynced (EIO) in Rundown
// read back through a device stacked on it; fuzz smoke,
// linux-6.18/rundown_refused_writeback_pages_serve_upper.trace).
void Machine::keep_rundown_pages(Device& dev, const ExtentList& dirty) {
  for (int i = 0; i < dirty.count; ++i) keep_held(dev, dirty.e[i]);
  if (dirty.unknown) mark_all_stale(dev);
}

// A refused writeback's bytes: the pages stay up to date, holding what the
// backing lacks (`held` serves them).
void Machine::keep_held(Device& dev, const Extent& x) {
  extents_write_run(dev.held, x);
  dev.cache_stale = 1;
  if (dev.held.unknown) mark_all_stale(dev);
}

// mapping_set_error(): a failed writeback records EIO in the mapping's errseq,
// whoever started the writeback (fsync, BLKFLSBUF, a last close, O_SYNC).
void Machine::note_wb_error(Device& dev) {
  dev.wb_err = static_cast<uint8_t>(dev.wb_err == 255 ? 1 : dev.wb_err + 1);
  dev.wb_err_seen = 0;
}

// file_check_and_advance_wb_err(), run by every fsync of /dev/loopN (and by an
// O_SYNC write's generic_write_sync) after its writeback: EIO when the mapping
// recorded an error since this fd last looked, reported once per fd. BLKFLSBUF
// writes back without looking, so the next fsync of every fd reports its error
// (probe f1 on 6.18.44; common/writeback_error_reported_per_fd.trace).
bool Machine::wb_error_reported(Desc& fd, Device& dev) {
  if (fd.wb_err_sample == dev.wb_err) return false;
  fd.wb_err_sample = dev.wb_err;
  dev.wb_err_seen = 1;
  return true;
}

bool Machine::flush_dirty_range(Device& dev, uint64_t a, uint64_t z) {
  ExtentList in_range = dev.dirty;
  extents_cut_from(in_range, z);
  extents_erase(in_range, 0, a);
  if (in_range.count == 0) return true;
  // Write back exactly those extents: the rest of the device stays dirty.
  ExtentList rest = dev.dirty;
  extents_erase(rest, a, z);
  const bool unknown = dev.dirty.unknown;
  dev.dirty = in_range;
  dev.dirty.unknown = 0;
  const bool ok = flush_dirty(dev);
  dev.dirty = rest;
  dev.dirty.unknown = unknown;
  return ok;
}

void Machine::drop_cache(Device& dev) {
  assert(dev.dirty.count == 0);
  dev.cache_populated = 0;
  dev.cache_lo = dev.cache_hi = 0;
  dev.cache_stale = 0;
  dev.refused_reads_only = 1;
  dev.refused_page = kNoPage;  // a failed folio is clean: invalidate_mapping_pages takes it
  forget_cached_bytes(dev);
}

// ---- backing-file facts -------------------------------------------------------------------

void Machine::mark_backing_unknown(Device& dev) {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind == DescKind::File) s.objects[b.object].data.unknown = 1;
  if (b.kind == DescKind::File) s.objects[b.object].alloc_unknown = 1;
  // A lower device that is no longer bound has no cache to hold the bytes.
  if (b.kind == DescKind::Loop && has_backing(device(b.device)->state))
    device(b.device)->dirty.unknown = 1;
}

// Only the bytes of the written-back block [a, z) that no dirty extent covers are
// old ones the model does not know: the file's other blocks keep what the model
// knows of them, their allocation too (6.1.0-56, 6.12.117, 6.18.44: after such a
// writeback past a cut EOF and a cut to 1 byte, a DIO device's 512-byte write
// reads its 1 KiB block over the hole that file block 0 still is → 512; fuzz_inproc
// seed 3, common/writeback_of_stale_block_leaves_other_blocks_known.trace).
// The whole soft blocks [a, z) of device bytes went to the backing file, clean
// buffers too: every file block under them is allocated (6.1.0-56: a one-byte
// write at 0 with offset 1, written back, allocates file blocks 0 and 1; fuzz_inproc
// seed 1, common/allocation_after_writeback_of_a_block.trace).
void Machine::allocate_written_back(Device& dev, uint64_t a, uint64_t z) {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File || a >= z) return;
  allocate_blocks(s.objects[b.object], arith::backing_byte(a, dev.offset),
                  arith::backing_byte(z, dev.offset));
}

void Machine::mark_block_rest_unknown(Device& dev, uint64_t a, uint64_t z,
                                      const ExtentList& dirty) {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File || dirty.unknown) {
    mark_backing_unknown(dev);
    return;
  }
  Object& o = s.objects[b.object];
  uint64_t pos = a;
  for (int i = 0; i <= dirty.count && pos < z; ++i) {
    const uint64_t gap_end = i < dirty.count ? std::min(z, std::max(pos, dirty.e[i].start)) : z;
    const uint64_t fa = arith::backing_byte(pos, dev.offset);
    const uint64_t fz = std::min(o.size, arith::backing_byte(gap_end, dev.offset));
    if (fa < fz) extents_write_unknown(o.data, fa, fz);
    if (i < dirty.count) pos = std::max(pos, dirty.e[i].end);
  }
}

// The clean head [a, z) of a written-back block goes to the file with it. Where it
// lay past the file's EOF, its bytes are what the block's read-in put there: the
// repeated sub-sector tail of an unaligned EOF, which the model does not know
// (6.18.44, 6.12.117: a 4 KiB block read over a file cut to 1000 bytes at offset
// 512, then written back: file bytes [1000, 1024) are not zeros; fuzz_inproc seed
// 4, common/writeback_of_block_read_past_unaligned_eof.trace). 6.1's zero-filled
// read-in puts zeros there, as the model's file already reads.
void Machine::mark_block_head_past_eof_unknown(Device& dev, uint64_t a, uint64_t z,
                                               uint64_t eof_before) {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File || dev.cached_past_eof == kPastEofZeros) return;
  Object& o = s.objects[b.object];
  const uint64_t fa = std::max(eof_before, arith::backing_byte(a, dev.offset));
  const uint64_t fz = arith::backing_byte(z, dev.offset);
  if (fa < fz) extents_write_unknown(o.data, fa, fz);
}

void Machine::backing_maybe_written(Device& dev, uint64_t a, uint64_t z) {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind == DescKind::Loop) {
    device(b.device)->dirty.unknown = 1;
    return;
  }
  Object& o = s.objects[b.object];
  const uint64_t fa = arith::backing_byte(a, dev.offset), fz = arith::backing_byte(z, dev.offset);
  // Other devices' cached pages keep the old bytes (backing_file_write first).
  if (fa < o.size) backing_file_write(b.object, fa, std::min(fz, o.size), &dev);
  if (fa < o.size) extents_write_unknown(o.data, fa, std::min(fz, o.size));
  if (fz > o.size) o.data.unknown = 1;  // a write past the EOF would also grow the file
}

void Machine::extend_backing_unknown(Device& dev, uint64_t dev_end) {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File) return;  // a lower device does not grow
  Object& o = s.objects[b.object];
  const uint64_t file_end = arith::backing_byte(dev_end, dev.offset);
  if (file_end <= o.size) return;
  // Only the bytes past the old EOF are unknown (zeros, or the repeated tail of
  // an unaligned EOF); the ones before keep what the model knows of them
  // (dio_backing_eof_hole_vs_data.trace reads the written 512 bytes back).
  extents_write_unknown(o.data, o.size, file_end);
  allocate_blocks(o, o.size, file_end);  // the written-back block
  o.size = file_end;
  backing_changed(DescKind::File, b.object, &dev);
}

bool Machine::backing_range_in_hole(const Device& dev, uint64_t a, uint64_t z) const {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File) return false;
  return object_range_in_hole(s.objects[b.object], a, z);
}

bool Machine::object_range_in_hole(const Object& o, uint64_t a, uint64_t z) {
  // Allocation is per filesystem block: 4 KiB on the filesystems traces run on.
  a = a / kPageSize * kPageSize;
  z = (z + kPageSize - 1) / kPageSize * kPageSize;
  if (o.data.unknown || (o.fill != 0 && a < o.fill_end)) return false;
  if (o.kept_block && a < o.kept_block * kPageSize && z > (o.kept_block - 1) * kPageSize)
    return false;
  for (int i = 0; i < o.data.count; ++i)
    if (o.data.e[i].start < z && o.data.e[i].end > a) return false;
  return true;
}

bool Machine::backing_tail_in_hole(const Device& dev) const {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File) return false;
  const uint64_t size = s.objects[b.object].size;
  return backing_range_in_hole(dev, size, size + 1);
}

bool Machine::backing_odirect_misaligned(const Device& dev, uint64_t pos, uint64_t len) const {
  if (!p.backing_odirect_honoured_without_dio || dev.dio) return false;
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File || !(b.open_flags & kOpenDirect) || env.dio_align == 0) return false;
  return pos % env.dio_align != 0 || len % env.dio_align != 0;
}

uint64_t Machine::backing_size(const Device& dev) const {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind == DescKind::File) return s.objects[b.object].size;
  for (int i = 0; i < s.device_count; ++i)
    if (s.devices[i].index == b.device) return arith::device_bytes(s.devices[i].capacity);
  assert(false && "backing device vanished");
  return 0;
}

uint64_t Machine::capacity_for(uint64_t bytes, uint64_t offset, uint64_t sizelimit) const {
  return arith::capacity_sectors(bytes, offset, sizelimit);
}

bool Machine::can_odirect(const Desc& b) const {
  return b.kind == DescKind::Loop || env.dio_align != 0;
}

uint32_t Machine::backing_bdev_block_size(const Desc& b) const {
  if (b.kind == DescKind::File) return env.bdev_block_size;
  for (int i = 0; i < s.device_count; ++i)
    if (s.devices[i].index == b.device) return s.devices[i].block_size;
  return 512;
}

uint32_t Machine::min_dio_align(const Desc& b) const {
  if (b.kind == DescKind::Loop) return backing_bdev_block_size(b);
  if (env.dio_align != 0) return env.dio_align;
  return env.bdev_block_size != 0 ? env.bdev_block_size : 512;
}

bool Machine::dio_possible(const Device& dev, const Desc& b, uint32_t block_size,
                           uint64_t offset) const {
  if (!can_odirect(b)) return false;
  // Under the 6.1 rule a filesystem without a block device gives 0: nothing to check.
  // 6.18 checks against the size it noted at the bind (Device::min_dio_bytes):
  // 6.18.44 turned DIO on for a device at offset 4096 over a lower loop device
  // whose blocks grew from 2048 to 8192 after the bind
  // (linux-6.18/dio_min_size_noted_at_bind.trace).
  const uint32_t align = p.dio_rule == DioRule::BackingBdev ? backing_bdev_block_size(b)
                         : dev.min_dio_bytes != 0           ? dev.min_dio_bytes
                                                            : min_dio_align(b);
  return arith::dio_alignment_ok<uint64_t>(block_size, offset, align);
}

uint32_t Machine::max_block_size() const {
  return static_cast<uint32_t>(arith::max_block_size(p.large_block_sizes, env.thp));
}

arith::BlockSizeRule Machine::block_size_rule() const {
  return arith::block_size_rule(p, env.thp);
}

bool Machine::valid_block_size(uint64_t bs, uint32_t max) {
  return arith::valid_block_size(bs, max);
}

}  // namespace loopcheck::model
