// The loop device's partitions: scans (bdev_disk_changed), partition opens and
// releases (blkdev_get_part / blkdev_put_part), BLKRRPART (disk_scan_partitions),
// and a partition's sysfs (docs/partitions.md).
#include <sys/uio.h>

#include <cassert>
#include <cerrno>

#include "inproc/loop_device.h"

namespace loopcheck::inproc {

bool LoopDevice::partition_open_locked() const {
  for (int n : part_openers_)
    if (n > 0) return true;
  return false;
}

// Drops every partition and, on a bound disk with a capacity and a parser,
// reads the table sector at the device's offset from the backing file (the
// cache was just written back and dropped, so the file holds what a read
// through the device would give).
int LoopDevice::scan_partitions() {
  std::lock_guard lock(lo_mutex_);
  if (partition_open_locked()) return -EBUSY;
  drop_partitions_locked();
  disk_.set_rescan_at_next_open(false);  // GD_NEED_PART_SCAN is cleared
  if (!config_.msdos_partitions || disk_.capacity_sectors() == 0 || backing_ == nullptr) return 0;
  std::array<uint8_t, 512> sector{};
  iovec iov{sector.data(), sector.size()};
  if (backing_->backing_io(ReqOp::Read, &iov, 1, lo_offset_, IoMode::Buffered) != 512)
    return 0;  // an unreadable table: no partitions
  bool table = false;
  parts_ = parse_mbr(sector, disk_.capacity_sectors(), disk_.logical_block_size(), &table);
  if (!table) return 0;
  // blk_add_partitions: "the media / partition table may have changed", then
  // add_partition in slot order.
  disk_uevent(UeventAction::Change);
  for (int k = 1; k <= kMaxPartitions; ++k)
    if (parts_[static_cast<size_t>(k - 1)].present) partition_uevent(UeventAction::Add, k);
  return 0;
}

void LoopDevice::rescan_partitions() {
  reread_partitions();
  (void)scan_partitions();
}

int LoopDevice::open_partition(const OpenFile* file, int part) {
  assert(part >= 1 && part <= kMaxPartitions);
  const size_t k = static_cast<size_t>(part - 1);
  {
    std::lock_guard lock(lo_mutex_);
    if (!parts_[k].present) return -ENOENT;  // no /dev/loopNpK
    if (file->opened_excl() && (disk_.held_exclusively() || part_holder_[k] != nullptr))
      return -EBUSY;
  }
  if (int err = open_whole(nullptr); err != 0) return err;
  {
    std::lock_guard lock(lo_mutex_);
    if (parts_[k].present) {
      ++part_openers_[k];
      if (file->opened_excl()) {
        part_holder_[k] = file;
        disk_.note_partition_claim(true);
      }
      return 0;
    }
  }
  release_whole(nullptr);  // a rescan at the whole disk's open took it away
  return -ENXIO;
}

void LoopDevice::release_partition(const OpenFile* file, int part) {
  const size_t k = static_cast<size_t>(part - 1);
  {
    std::lock_guard lock(lo_mutex_);
    assert(part_openers_[k] > 0);
    --part_openers_[k];
    if (part_holder_[k] == file) {
      part_holder_[k] = nullptr;
      disk_.note_partition_claim(false);
    }
  }
  release_whole(nullptr);
}

PartitionSlot LoopDevice::partition(int part) const {
  std::lock_guard lock(lo_mutex_);
  return parts_[static_cast<size_t>(part - 1)];
}

bool LoopDevice::partition_read_only(int part) const {
  std::lock_guard lock(lo_mutex_);
  return part_ro_[static_cast<size_t>(part - 1)] || disk_.read_only();
}

void LoopDevice::set_partition_read_only(int part, bool ro) {
  std::lock_guard lock(lo_mutex_);
  part_ro_[static_cast<size_t>(part - 1)] = ro;
}

int LoopDevice::partition_sysfs_show(int part, std::string_view attr, std::string& out) const {
  const PartitionSlot slot = partition(part);
  if (!slot.present) return -ENOENT;
  auto num = [&](uint64_t v) {
    out = std::to_string(v) + "\n";
    return 0;
  };
  if (attr == "size") return num(slot.size_sectors);
  if (attr == "start") return num(slot.start_sectors);
  if (attr == "partition") return num(static_cast<uint64_t>(part));
  if (attr == "ro") return num(partition_read_only(part) ? 1 : 0);
  return -ENOENT;
}

// blkdev_common_ioctl's BLKRRPART, then disk_scan_partitions: a caller that is
// not the disk's exclusive holder must be able to claim it.
long LoopDevice::reread_partition_table(const OpenFile& file, int part) {
  if (!config_.cap_sys_admin) return -EACCES;
  if (part != 0) return -EINVAL;
  if (!(lo_flags_.load() & LO_FLAGS_PARTSCAN) && config_.max_part == 0) return -EINVAL;
  {
    std::lock_guard lock(lo_mutex_);
    if (partition_open_locked()) return -EBUSY;
  }
  if (disk_.claimed_by_other(file.opened_excl() ? &file : nullptr)) return -EBUSY;
  reread_partitions();
  return scan_partitions();
}

}  // namespace loopcheck::inproc
