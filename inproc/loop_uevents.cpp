// The uevents of a loop disk and its partitions (kobject_uevent), written from
// drivers/block/loop.c, block/genhd.c and block/partitions/core.c: who sends
// what is in the callers (configure, change_fd, set_status, set_capacity,
// teardown, scan_partitions, loop_control); the rules of sending are here.
#include <cassert>

#include "inproc/loop_device.h"

namespace loopcheck::inproc {

void LoopDevice::disk_uevent(UeventAction action, UeventDetail detail) {
  if (uevents_suppressed_.load())
    return;  // kobject_uevent_env: "uevent_suppress caused the event to drop"
  uevents_.send(Uevent{action, detail, 0, 0, static_cast<uint32_t>(number_)});
}

void LoopDevice::partition_uevent(UeventAction action, int part) {
  assert(part >= 1 && part <= kMaxPartitions);
  // add_partition: "suppress uevent if the disk suppresses it"; a partition's
  // device_del looks only at its own kobject.
  if (action == UeventAction::Add && uevents_suppressed_.load()) return;
  uevents_.send(Uevent{action, UeventDetail::None, static_cast<uint8_t>(part), 0,
                       static_cast<uint32_t>(number_)});
}

void LoopDevice::set_size_and_notify(uint64_t capacity_sectors) {
  const uint64_t old = disk_.capacity_sectors();
  disk_.set_capacity(capacity_sectors);
  const bool resize = old != capacity_sectors && old != 0 && capacity_sectors != 0;
  disk_uevent(UeventAction::Change, resize ? UeventDetail::Resize : UeventDetail::None);
}

void LoopDevice::drop_partitions_locked() {
  for (int k = 1; k <= kMaxPartitions; ++k)
    if (parts_[static_cast<size_t>(k - 1)].present) partition_uevent(UeventAction::Remove, k);
  parts_ = PartitionSlots{};
  part_ro_ = {};
}

void LoopDevice::announce_added() {
  disk_uevent(UeventAction::Add);
}

void LoopDevice::announce_removed() {
  std::lock_guard lock(lo_mutex_);
  drop_partitions_locked();
  disk_uevent(UeventAction::Remove);
}

}  // namespace loopcheck::inproc
