// Partitions of a loop device: the MBR tables files are declared with, the scans
// that read them, partition devices as opened fds, their sysfs and ioctls.
//
// A scan is bdev_disk_changed: refused (EBUSY) while a partition is open, else
// it drops every partition and, on a disk with a capacity, runs the parsers
// (check_partition) over the table sector read through the loop device. Scans
// happen at a bind with LO_FLAGS_PARTSCAN (or max_part > 0), when
// LOOP_SET_STATUS turns PARTSCAN on, at LOOP_CHANGE_FD of a PARTSCAN device
// (loop_reread_partitions), on BLKRRPART, and on 6.1 at the next open after a
// bind (GD_NEED_PART_SCAN). A detach of a PARTSCAN device drops them
// (__loop_clr_fd). Without CONFIG_MSDOS_PARTITION (@env msdos_partitions=0,
// this project's hosts) no parser reads the table and no partition appears.
//
// What the model does not follow yet is an envelope (EnvelopeRule::PartitionFd,
// any outcome, shown as unchecked): I/O through a partition (its own page
// cache), and the block ioctls that act on a partition's data.
#include <algorithm>
#include <cassert>
#include <cerrno>

#include "model/machine.h"
#include "trace/partition_table.h"
#include "trace/pattern.h"

namespace loopcheck::model {

namespace {

// What the scan reads in a device's table sector.
// The byte of `o` at `pos`, where no unknown run lies.
uint8_t known_byte(const Object& o, uint64_t pos) {
  for (int i = 0; i < o.data.count; ++i) {
    const Extent& x = o.data.e[i];
    if (pos < x.start || pos >= x.end) continue;
    if (x.reserved) return static_cast<uint8_t>(x.reserved - 1);  // a fill run
    return pattern_byte(x.seed, pos - x.origin);
  }
  return pos < o.fill_end ? o.fill : 0;
}

bool declared_table_whole(const Object& o) {
  if (o.mbr_count == 0) return false;
  for (int i = 0; i < o.data.count; ++i) {
    const Extent& x = o.data.e[i];
    if (x.reserved == kTableRun) return x.start == 0 && x.end == kMbrBytes;
  }
  return false;
}

Outcome any_outcome(Outcome o) {
  o.any = true;
  o.data_known = false;
  o.data_rule = EnvelopeRule::PartitionFd;
  return o;
}

}  // namespace

void place_mbr(Object& o, const PartitionTable& mbr) {
  assert(mbr.count <= kMaxPartitions);
  if (mbr.count == 0) return;
  o.mbr_count = mbr.count;
  o.mbr = mbr.entry;
  extents_write_run(o.data, Extent{0, kMbrBytes, 0, 0, kTableRun});
  allocate_blocks(o, 0, kMbrBytes);  // the targets write the sector
}

bool Machine::partition_open(const Device& dev) const {
  return std::any_of(s.descs.begin(), s.descs.end(), [&](const Desc& d) {
    return d.kind == DescKind::Loop && d.device == dev.index && d.part != 0;
  });
}

// The sector msdos_partition() reads: device bytes [0, 512), the backing file's
// bytes at the offset (the cache was written back and dropped just before).
// What the model cannot tell: a stacked backing, loop direct I/O, blocks larger
// than the cache's folios, bytes it does not know, or a 0x55 0xAA signature in
// written bytes (a table nobody declared).
TableSector Machine::table_sector(const Device& dev) const {
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File || dev.dio || blocks_outgrow_cache(dev)) return TableSector::Unknown;
  // A write-only backing fails the read: 6.1 finds no table, 6.12+ return the
  // scan's EIO from BLKRRPART (BLK_OPEN_STRICT_SCAN); not followed.
  if (b.access == Access::Wo) return TableSector::Unknown;
  const Object& o = s.objects[b.object];
  if (o.data.unknown) return TableSector::Unknown;
  const uint64_t a = dev.offset, z = dev.offset + kMbrBytes;
  if (a == 0 && declared_table_whole(o)) return TableSector::Declared;
  for (int i = 0; i < o.data.count; ++i) {
    const Extent& x = o.data.e[i];
    if (x.start < z && x.end > a && unknown_bytes(x)) return TableSector::Unknown;
  }
  const bool signature =
      known_byte(o, a + kMbrSignatureAt) == 0x55 && known_byte(o, a + kMbrSignatureAt + 1) == 0xaa;
  return signature ? TableSector::Unknown : TableSector::NoTable;
}

// bdev_disk_changed's drop and blk_add_partitions' add. msdos_partition reads
// each slot's START and SIZE in units of the logical block size (its
// sector_size = queue_logical_block_size / 512) and skips an empty slot;
// blk_add_partition skips a partition starting at or past the capacity ("start
// beyond EOD") and cuts one reaching past it ("extends beyond EOD, truncated").
void Machine::scan_partitions(Device& dev) {
  assert(!partition_open(dev));
  send_partition_removes(dev);
  dev.parts = Partitions{};
  dev.rescan_on_open = 0;  // bdev_disk_changed clears GD_NEED_PART_SCAN
  if (!env.msdos_partitions || dev.capacity == 0 || !has_backing(dev.state)) return;
  const TableSector sector = table_sector(dev);
  if (sector == TableSector::Unknown) {
    dev.parts.unknown = 1;
    uevents_not_followed();  // whether a parser took it, and what it found
  }
  if (sector != TableSector::Declared) return;
  // blk_add_partitions: "tell userspace that the media / partition table may
  // have changed", then add_partition in slot order.
  send_uevent(dev, UeventAction::Change);
  const Object& o = s.objects[s.descs[dev.backing_desc].object];
  const uint64_t units = dev.block_size / kSectorSize;
  for (uint8_t k = 0; k < o.mbr_count; ++k) {
    const PartitionEntry& e = o.mbr[k];
    if (e.size == 0) continue;
    const uint64_t start = e.start * units;
    if (start >= dev.capacity) continue;
    dev.parts.start_sectors[k] = start;
    dev.parts.size_sectors[k] = std::min(e.size * units, dev.capacity - start);
    dev.parts.present |= static_cast<uint8_t>(1u << k);
    send_uevent(dev, UeventAction::Add, static_cast<uint8_t>(k + 1));
  }
}

// BLKRRPART: blkdev_common_ioctl (CAP_SYS_ADMIN, not on a partition), then
// disk_scan_partitions (a disk without partition scanning, an open partition).
Outcome Machine::reread_partition_table(Desc& fd, Device& dev) {
  if (!env.cap_sys_admin) return Outcome::error(EACCES);
  if (fd.part != 0) return Outcome::error(EINVAL);
  if (!(dev.flags & kLoPartscan) && env.max_part == 0) return Outcome::error(EINVAL);
  if (partition_open(dev)) return Outcome::error(EBUSY);
  if (held_exclusively_by_other(dev.index, &fd)) return Outcome::error(EBUSY);
  reread_partitions(dev);
  return Outcome::ok(0);
}

// `open loop N part K`: the node /dev/loopNpK exists while the partition does;
// the open then opens the whole disk first (blkdev_get_part → blkdev_get_whole),
// so the driver's refusals and the disk's claims apply to it.
int Machine::open_partition(const Op& op, Desc& d, bool* unpredicted) {
  if (op.subject.lit > 0xffffffffu) return ENOENT;
  Device* dev = device(static_cast<uint32_t>(op.subject.lit));
  if (!dev) return ENOENT;
  if (dev->parts.unknown) {
    *unpredicted = true;  // the target's outcome settles whether it exists
    if (!observed || observed->kind != Outcome::Kind::Value) return ENOENT;
  } else if (!dev->parts.has(op.part)) {
    return ENOENT;
  }
  if (op.open_flags & kOpenExcl) {
    for (const Desc& x : s.descs)
      if (x.kind == DescKind::Loop && x.device == dev->index && (x.open_flags & kOpenExcl) &&
          (x.part == 0 || x.part == op.part))
        return EBUSY;
  }
  if (p.deferred_detach && dev->state == DevState::Rundown) return ENXIO;
  if (dev->state == DevState::Deleting) return ENXIO;
  Op whole = op;
  whole.part = 0;
  whole.open_flags &= static_cast<uint8_t>(~kOpenExcl);  // the claim was the partition's
  const bool was_checked = open_checked;
  open_checked = true;
  const int err = open_loop(whole, d);
  open_checked = was_checked;
  // blkdev_get_part after the whole disk's open: 6.1's rescan there may have
  // taken the partition away (its bdev then has no sectors: ENXIO).
  if (err == 0 && !dev->parts.unknown && !dev->parts.has(op.part)) return ENXIO;
  d.part = op.part;
  return err;
}

Outcome Machine::partition_sysfs(const Device& dev, const Op& op) const {
  if (dev.parts.unknown) return any_outcome(Outcome::error(ENOENT));
  if (!dev.parts.has(op.part)) return Outcome::error(ENOENT);
  const size_t k = op.part - 1u;
  switch (op.attr) {
    case SysAttr::Size:
      return number_text(dev.parts.size_sectors[k]);
    case SysAttr::PartStart:
      return number_text(dev.parts.start_sectors[k]);
    case SysAttr::PartPartition:
      return number_text(op.part);
    case SysAttr::Ro:
      return text_outcome(partition_read_only(dev, op.part) ? "1" : "0");
    default:
      assert(false);  // the validator keeps disk attributes off partitions
      return Outcome::error(ENOENT);
  }
}

// bdev_read_only of a partition: its own BLKROSET policy, or the disk's
// (get_disk_ro: the whole disk's policy and set_disk_ro).
bool Machine::partition_read_only(const Device& dev, uint8_t part) const {
  return ((dev.parts.ro_policy >> (part - 1)) & 1) || bdev_read_only(dev);
}

// An ioctl on a partition fd. The loop driver's own requests reach lo_ioctl with
// the partition's bdev and act on the loop device as through the disk; the
// block layer answers the geometry ones for the partition.
Outcome Machine::partition_ioctl(Desc& fd, const Op& op) {
  Device& dev = *device(fd.device);
  const size_t k = fd.part - 1u;
  const bool null_arg = op.arg_kind == ArgKind::Null;
  auto put = [&](uint64_t v) {
    return null_arg ? Outcome::error(EFAULT) : Outcome::ok(static_cast<int64_t>(v));
  };
  switch (op.req) {
    case Req::BlkGetSize64:
      return put(dev.parts.size_sectors[k] * kSectorSize);
    case Req::BlkGetSize:
      return put(dev.parts.size_sectors[k]);
    case Req::BlkSszGet:
    case Req::BlkPbszGet:
      return put(dev.block_size);
    case Req::BlkRoGet:
      return put(partition_read_only(dev, fd.part) ? 1 : 0);
    case Req::BlkRoSet:
      if (!env.cap_sys_admin) return Outcome::error(EACCES);
      if (null_arg) return Outcome::error(EFAULT);
      if (static_cast<int32_t>(op.arg.lit) != 0)
        dev.parts.ro_policy |= static_cast<uint8_t>(1u << k);
      else
        dev.parts.ro_policy &= static_cast<uint8_t>(~(1u << k));
      return Outcome::ok(0);
    case Req::BlkRrPart:
      return reread_partition_table(fd, dev);
    case Req::BlkDiscard:
    case Req::BlkZeroout:
    case Req::BlkSecDiscard:
      partition_maybe_written(dev, fd.part, op.offset.lit, op.arg.lit);
      return any_outcome(Outcome::ok(0));
    case Req::BlkBszGet:
    case Req::BlkFlsBuf:
      return any_outcome(Outcome::ok(0));
    default:
      return loop_ioctl(fd, op);
  }
}

// pread, pwrite, fsync and fallocate on a partition fd: the partition's own page
// cache is not modelled; a write may reach the backing file (now or at its
// writeback) over the partition's range.
Outcome Machine::partition_io(Desc& fd, const Op& op) {
  Device& dev = *device(fd.device);
  if (op.kind == OpKind::Pwrite || op.kind == OpKind::Fallocate)
    partition_maybe_written(dev, fd.part, op.offset.lit, op.length);
  return any_outcome(Outcome::ok(0));
}

// Bytes [off, off + len) of partition `part` may have been written: the backing
// file's bytes there are no longer known, and the disk's cache — a page cache of
// its own — may hold other bytes for them than the file does.
void Machine::partition_maybe_written(Device& dev, uint8_t part, uint64_t off, uint64_t len) {
  const size_t k = part - 1u;
  const uint64_t size = dev.parts.size_sectors[k] * kSectorSize;
  if (!has_backing(dev.state) || off >= size || len == 0) return;
  const uint64_t a = dev.parts.start_sectors[k] * kSectorSize + off;
  const uint64_t z = a + std::min(len, size - off);
  extents_erase(dev.dirty, a, z);  // its own writeback may come before or after
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind != DescKind::File) return mark_backing_unknown(dev);
  Object& o = s.objects[b.object];
  const uint64_t fa = arith::backing_byte(a, dev.offset);
  const uint64_t fz = std::min(o.size, arith::backing_byte(z, dev.offset));
  if (fa >= fz) return;
  backing_file_write(b.object, fa, fz, nullptr);  // the disk's cached pages too
  extents_write_unknown(o.data, fa, fz);
  o.alloc_unknown = 1;
}

// A partition fd as a backing file (LOOP_SET_FD, LOOP_CONFIGURE, LOOP_CHANGE_FD):
// the kernel binds it (its major, 259, is not the loop driver's, so the stacking
// checks do not see a loop device), but the model's stacks are whole loop devices:
// it does not follow such a binding. Any outcome, and the model's state stays as
// it was (docs/partitions.md, "Not modelled"); the generators never do this.
Outcome Machine::partition_backing() {
  return any_outcome(Outcome::error(EINVAL));
}

}  // namespace loopcheck::model
