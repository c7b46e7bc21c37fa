// The uevents a loop device sends (kobject_uevent on its disk and partitions),
// kept in State::uevents until a `uevents` statement reads them.
//
// What sends which event (drivers/block/loop.c, block/genhd.c,
// block/partitions/core.c of 6.1.192 / 6.12.117 / 6.18; each sequence pinned by
// a corpus trace on the host 6.18.44 and on 6.1.0-56 and 6.12.117 in QEMU,
// docs/uevents.md):
//   add_disk (LOOP_CTL_ADD, GET_FREE, an autoloading open): `add loopN`;
//   del_gendisk (LOOP_CTL_REMOVE): a `remove` per partition, `remove loopN`;
//   a bind (loop_configure): `change` once the events are no longer suppressed,
//     then the PARTSCAN rescan's;
//   LOOP_CHANGE_FD: the rescan's, then `change` — on its errors too, once it
//     got past fget (and, 6.15+, loop_check_backing_file);
//   loop_set_size (LOOP_SET_CAPACITY; LOOP_SET_STATUS changing the offset or
//     the size limit): one `change`, with RESIZE=1 between two non-zero sizes
//     (set_capacity_and_notify);
//   a detach (__loop_clr_fd): `change`, `change` DISK_MEDIA_CHANGE=1, then a
//     `remove` per partition (bdev_disk_changed of a PARTSCAN device);
//   a rescan (bdev_disk_changed): a `remove` per partition, then, if a parser
//     recognised the table, `change` and an `add` per partition found.
// LOOP_SET_BLOCK_SIZE and LOOP_SET_DIRECT_IO send none. Partitions go in
// ascending order. The bdi device's own add/remove are not block events.
#include <cassert>

#include "model/machine.h"

namespace loopcheck::model {

// kobject_uevent_env drops the event of a suppressed kobject; a partition's
// `add` is skipped while its disk is suppressed (add_partition), its `remove`
// never is (device_del of the partition's own kobject).
void Machine::send_uevent(const Device& dev, UeventAction action, uint8_t part,
                          UeventDetail detail) {
  const bool partition_remove = action == UeventAction::Remove && part != 0;
  if (dev.uevents_suppressed && !partition_remove) return;
  // The threads of a concurrent block send theirs in an order no model fixes:
  // none is kept (states that differ only there stay one state).
  if (split) return uevents_not_followed();
  s.uevents.push(Uevent{action, detail, part, 0, dev.index});
}

// loop_set_size → set_capacity_and_notify: no event of its own when the size
// did not change or one side is 0; loop_set_size then sends a plain change.
void Machine::send_size_uevent(const Device& dev, uint64_t old_capacity) {
  const bool resize = old_capacity != dev.capacity && old_capacity != 0 && dev.capacity != 0;
  send_uevent(dev, UeventAction::Change, 0, resize ? UeventDetail::Resize : UeventDetail::None);
}

void Machine::send_partition_removes(const Device& dev) {
  if (dev.parts.unknown) uevents_not_followed();  // which existed is not known
  for (uint8_t k = 1; k <= kMaxPartitions; ++k)
    if (dev.parts.has(k)) send_uevent(dev, UeventAction::Remove, k);
}

void Machine::uevents_not_followed() {
  s.uevents.lost = 1;
}

// `uevents`: what was sent since the last one; nothing is left behind.
Outcome Machine::uevents() {
  Outcome o = Outcome::events(s.uevents);
  if (s.uevents.lost) {
    o.any = true;
    o.data_rule = EnvelopeRule::UeventsNotFollowed;
  }
  s.uevents = UeventList{};
  return o;
}

}  // namespace loopcheck::model
