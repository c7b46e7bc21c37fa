// ioctl dispatch: /dev/loop-control commands, LOOP_* on a loop device, and the
// generic block ioctls the block layer answers before the loop driver sees them.
// Each handler makes its checks in the kernel's order (docs/semantics.md §3), per profile.
#include <algorithm>
#include <cassert>
#include <cerrno>

#include "model/machine.h"

namespace loopcheck::model {

namespace {

bool is_block_req(Req r) {
  switch (r) {
    case Req::BlkGetSize64:
    case Req::BlkGetSize:
    case Req::BlkSszGet:
    case Req::BlkBszGet:
    case Req::BlkPbszGet:
    case Req::BlkRoGet:
    case Req::BlkRoSet:
    case Req::BlkFlsBuf:
    case Req::BlkDiscard:
    case Req::BlkZeroout:
    case Req::BlkSecDiscard:
    case Req::BlkRrPart:
      return true;
    default:
      return false;
  }
}

// The numeric argument as the unsigned long the kernel receives (0 when absent).
uint64_t number_arg(const Op& op) {
  return op.arg_kind == ArgKind::Number ? op.arg.lit : 0;
}

// What LOOP_CONFIGURE's struct loop_config (or LOOP_SET_FD's fd) carries.
struct ConfigureArgs {
  uint64_t backing_fd = 0;
  uint32_t block_size = 0, flags = 0, key_size = 0, crypt = 0;
  uint64_t offset = 0, sizelimit = 0;
  Name64 name;
};

ConfigureArgs configure_args(const Op& op) {
  ConfigureArgs a;
  if (op.req != Req::LoopConfigure) {
    a.backing_fd = static_cast<uint32_t>(number_arg(op));
    return a;
  }
  const StructFields& f = op.fields;
  a.backing_fd = static_cast<uint32_t>(f.get(Field::Fd));
  a.block_size = static_cast<uint32_t>(f.get(Field::BlockSize));
  a.offset = f.get(Field::Offset);
  a.sizelimit = f.get(Field::Sizelimit);
  a.flags = static_cast<uint32_t>(f.get(Field::Flags));
  a.key_size = static_cast<uint32_t>(f.get(Field::EncryptKeySize));
  a.crypt = static_cast<uint32_t>(f.get(Field::EncryptType));
  a.name = f.name;
  return a;
}

// lo_file_name: at most 63 bytes, cut at the first NUL, NUL-padded.
Name64 stored_name(const Name64& in) {
  Name64 out;
  uint8_t len = std::min<uint8_t>(in.len, kNameSize - 1);
  for (uint8_t i = 0; i < len; ++i) {
    if (in.bytes[i] == '\0') {
      len = i;
      break;
    }
    out.bytes[i] = in.bytes[i];
  }
  out.len = len;
  return out;
}

constexpr uint64_t kFibmapRequest = 1;  // FIBMAP, _IO(0x00, 1)
constexpr uint32_t kConfigureSettableFlags = kLoReadOnly | kLoAutoclear | kLoPartscan | kLoDirectIo;
constexpr uint32_t kMinorMask = (1u << kMinorBits) - 1;

}  // namespace

uint64_t makedev_user(uint32_t major, uint32_t minor) {
  uint64_t d = (uint64_t{major} & 0x00000fffu) << 8;
  d |= (uint64_t{major} & 0xfffff000u) << 32;
  d |= (uint64_t{minor} & 0x000000ffu);
  d |= (uint64_t{minor} & 0xffffff00u) << 12;
  return d;
}

Outcome Machine::ioctl(const Op& op) {
  Desc* fd = desc_by_fd(op.subject.lit);
  if (!fd) return Outcome::error(EBADF);
  switch (fd->kind) {
    case DescKind::LoopControl:
      return control_ioctl(op);
    case DescKind::Loop:
      if (fd->part != 0) return partition_ioctl(*fd, op);
      return is_block_req(op.req) ? block_ioctl(*fd, op) : loop_ioctl(*fd, op);
    case DescKind::File:
      // do_vfs_ioctl's file_ioctl, regular files only: FIBMAP (1) needs
      // CAP_SYS_RAWIO (never dropped here), then get_user of the block number:
      // a raw request's argument is never a valid pointer, so EFAULT (6.1.0-56,
      // 6.12.117 in QEMU, 6.18.44; vm fuzzing of 6.12.117,
      // common/fibmap_on_a_regular_file_reads_its_argument.trace). ext4's own
      // ioctl knows none of the others: ENOTTY.
      if (op.req == Req::Unknown && op.raw_req == kFibmapRequest) return Outcome::error(EFAULT);
      return Outcome::error(ENOTTY);
    case DescKind::Dir:
      return Outcome::error(ENOTTY);
    case DescKind::None:
      break;
  }
  assert(false);
  return Outcome::error(EBADF);
}

// ---- /dev/loop-control ------------------------------------------------------------------

Outcome Machine::control_ioctl(const Op& op) {
  // loop_control_ioctl converts the unsigned long argument to int.
  const int32_t arg = static_cast<int32_t>(static_cast<uint32_t>(number_arg(op)));
  auto add = [&](int32_t want) -> Outcome {
    uint32_t index = 0;
    if (want >= 0) {
      if (device(static_cast<uint32_t>(want))) return Outcome::error(EEXIST);
      index = static_cast<uint32_t>(want);
    } else {
      while (device(index)) ++index;  // idr_alloc from 0: the lowest unused index
    }
    if ((uint64_t{index} << part_shift()) > kMinorMask) return Outcome::error(EINVAL);  // add_disk
    if (!create_device(index)) return Outcome::error(ENOMEM);
    return Outcome::ok(index, ValueRole::DevIndex);
  };
  switch (op.req) {
    case Req::LoopCtlAdd:
      return add(arg);
    case Req::LoopCtlRemove: {
      if (arg < 0) return Outcome::error(EINVAL);
      Device* dev = device(static_cast<uint32_t>(arg));
      if (!dev) return Outcome::error(ENODEV);
      // loop_control_remove: a device already marked Lo_deleting is no longer
      // idr_visible.
      if (dev->state == DevState::Deleting) return Outcome::error(ENODEV);
      if (dev->state != DevState::Unbound || openers(dev->index) > 0) return Outcome::error(EBUSY);
      if (split && deferred_device == UINT32_MAX) {
        // Lo_deleting under lo_mutex; loop_remove runs after the locks are dropped.
        dev->state = DevState::Deleting;
        dev->pending = Pending::Remove;
        deferred_device = dev->index;
        return Outcome::ok(0);
      }
      remove_device(dev->index);
      return Outcome::ok(0);
    }
    case Req::LoopCtlGetFree:
      for (int i = 0; i < s.device_count; ++i)
        if (s.devices[i].state == DevState::Unbound)
          return Outcome::ok(s.devices[i].index, ValueRole::DevIndex);
      return add(-1);
    default:
      return Outcome::error(ENOSYS);
  }
}

// ---- LOOP_* on a loop device ----------------------------------------------------------------

Outcome Machine::loop_ioctl(Desc& fd, const Op& op) {
  Device* dev = device(fd.device);
  assert(dev);
  // The permission rule (docs/semantics.md §3.0) comes before anything else for these five.
  const bool privileged = fd.access != Access::Ro || env.cap_sys_admin;
  switch (op.req) {
    case Req::LoopSetFd:
    case Req::LoopConfigure:
      return configure(fd, *dev, op);
    case Req::LoopChangeFd:
      return change_fd(fd, *dev, op);
    case Req::LoopClrFd:
      return clr_fd(*dev);
    case Req::LoopSetStatus:
    case Req::LoopSetStatus64:
      if (!privileged) return Outcome::error(EPERM);
      return set_status(*dev, op, op.req == Req::LoopSetStatus);
    case Req::LoopGetStatus:
    case Req::LoopGetStatus64:
      return get_status(*dev, op, op.req == Req::LoopGetStatus);
    case Req::LoopSetCapacity:
      if (!privileged) return Outcome::error(EPERM);
      if (dev->state != DevState::Bound) return Outcome::error(ENXIO);
      return set_capacity(*dev);
    case Req::LoopSetDirectIo:
      if (!privileged) return Outcome::error(EPERM);
      return set_direct_io(*dev, op);
    case Req::LoopSetBlockSize:
      if (!privileged) return Outcome::error(EPERM);
      return set_block_size(fd, *dev, op);
    default:
      // LOOP_CTL_* and unknown numbers fall through lo_ioctl's switch.
      return Outcome::error(EINVAL);
  }
}

int Machine::sanity_check(const Desc& file) const {
  // Directories and misc character devices have no ->read_iter.
  if (file.kind == DescKind::Dir || file.kind == DescKind::LoopControl) return EINVAL;
  return 0;
}

// loop_validate_file: walk down a stack of loop devices; then the original file
// must be a regular file or a block device.
int Machine::validate_backing(const Device& dev, const Desc& file) const {
  const Desc* f = &file;
  for (int depth = 0; f->kind == DescKind::Loop; ++depth) {
    assert(depth <= kMaxDevices && "backing chains are acyclic");
    if (f->device == dev.index) return EBADF;
    const Device* l = nullptr;
    for (int i = 0; i < s.device_count; ++i)
      if (s.devices[i].index == f->device) l = &s.devices[i];
    assert(l);
    if (l->state != DevState::Bound) return EINVAL;
    f = &s.descs[l->backing_desc];
  }
  if (file.kind != DescKind::File && file.kind != DescKind::Loop) return EINVAL;
  return 0;
}

// loop_default_blocksize: with DIO asked for, the backing's direct-I/O size, else
// 512. Who asks, and whose size:
// - 6.1: the backing file's O_DIRECT; the logical block size of the device under
//   the file's filesystem (inode->i_sb->s_bdev). A block device as backing (a
//   lower loop device) lives on the bdev pseudo-filesystem, which has none: 512
//   (6.1.0-56: an upper device bound to an O_DIRECT fd of a lower device with 4 KiB
//   blocks has 512-byte blocks and loop DIO off; gen-7702-0248).
// - 6.11-6.12 (loop_update_limits): the DIO flag of LOOP_CONFIGURE only (lo_flags,
//   not the file's O_DIRECT); a block device's own size (S_ISBLK). 6.12.117: the
//   O_DIRECT fd above gives 512; LOOP_CONFIGURE with DIRECT_IO over a plain fd of
//   that lower device gives 4096 and DIO on (gen-7703-0292).
// - 6.13+ (lo_min_dio_size): either; the backing's DIO alignment (6.18.44: 4096).
// linux-6.{1,12}/stacked_odirect_lower_default_block_size.trace.
uint32_t Machine::default_block_size(const Desc& file, bool dio_flag) const {
  const bool file_direct = (file.open_flags & kOpenDirect) != 0;
  const bool min_dio = p.dio_rule == DioRule::MinDioAlign;
  const bool dio = !p.default_block_size_follows_dio_flag ? file_direct
                   : min_dio                              ? dio_flag || file_direct
                                                          : dio_flag;
  if (!dio) return 512;
  if (!p.default_block_size_follows_dio_flag && file.kind == DescKind::Loop) return 512;
  const uint32_t size = min_dio ? min_dio_align(file) : backing_bdev_block_size(file);
  return size == 0 ? 512 : size;
}

Outcome Machine::configure(Desc& fd, Device& dev, const Op& op) {
  if (op.req == Req::LoopConfigure && op.arg_kind != ArgKind::Struct)
    return Outcome::error(EFAULT);  // copy_from_user
  const ConfigureArgs args = configure_args(op);
  const uint32_t block_size = args.block_size, key_size = args.key_size, crypt = args.crypt;
  const uint64_t offset = args.offset, sizelimit = args.sizelimit;
  uint32_t flags = args.flags;

  Desc* file = desc_by_fd(args.backing_fd);
  if (!file) return Outcome::error(EBADF);
  if (file->kind == DescKind::Loop && file->part != 0) return partition_backing();
  if (p.rw_iter_sanity_check)
    if (int e = sanity_check(*file)) return Outcome::error(e);
  if (!(fd.open_flags & kOpenExcl) && held_exclusively_by_other(dev.index, &fd))
    return Outcome::error(EBUSY);
  if (dev.state != DevState::Unbound) return Outcome::error(EBUSY);
  if (int e = validate_backing(dev, *file)) return Outcome::error(e);
  if (flags & ~kConfigureSettableFlags) return Outcome::error(EINVAL);
  if (p.configure_block_size_early && block_size != 0 &&
      !arith::valid_block_size<uint64_t>(block_size, kPageSize))
    return Outcome::error(EINVAL);
  if (key_size > 32) return Outcome::error(EINVAL);
  if (crypt != 0) return Outcome::error(EINVAL);
  if (!arith::offsets_fit_loff_t(offset, sizelimit)) return Outcome::error(EOVERFLOW);

  // Backing files here always have ->write_iter, so only the two modes matter.
  if (file->access == Access::Ro || fd.access == Access::Ro) flags |= kLoReadOnly;
  dev.disk_ro = (flags & kLoReadOnly) ? 1 : 0;  // happens even if the block size fails

  const bool dio_requested = (flags & kLoDirectIo) || (file->open_flags & kOpenDirect);
  // loop_config.block_size is a u32 and 0 always means the default here, even in 6.1.
  arith::BlockSizeRule rule = block_size_rule();
  rule.zero_is_default = true;
  const auto choice = arith::choose_block_size<uint64_t>(
      block_size, rule, default_block_size(*file, (flags & kLoDirectIo) != 0));
  if (!choice.accepted) return refuse_bind_block_size(dev);
  const uint64_t bs = choice.value;
  if (p.bind_fsyncs_backing) fsync_backing_file(*file);

  dev.state = DevState::Bound;
  dev.rescan_on_open = p.bind_rescans_at_next_open;
  dev.backing_desc = static_cast<uint8_t>(desc_index(*file));
  ++file->holders;
  dev.offset = offset;
  dev.sizelimit = sizelimit;
  dev.name = stored_name(args.name);
  dev.flags = flags & ~static_cast<uint32_t>(kLoDirectIo);
  if (env.max_part > 0) dev.flags |= kLoPartscan;
  dev.block_size = static_cast<uint32_t>(bs);
  note_bind_rotational(dev, *file);
  configure_discard(dev);
  if (p.dio_rule == DioRule::MinDioAlign) dev.min_dio_bytes = min_dio_align(*file);
  dev.dio = dio_requested && dio_possible(dev, *file, dev.block_size, offset);
  dev.write_cache = (flags & kLoReadOnly) ? 0 : 1;
  dev.capacity = capacity_for(backing_size(dev), offset, sizelimit);
  // Devices stacked on this one read other bytes through it now: their cached
  // folios keep what they read before (6.1.0-56: zeros read while it was detached
  // still served after the rebind; linux-6.1/upper_cache_outlives_lower_rebind.trace).
  backing_changed(DescKind::Loop, dev.index, nullptr);
  dev.uevents_suppressed = 0;
  send_uevent(dev, UeventAction::Change);  // the media change and the size were suppressed
  // loop_configure ends with the same rescan as LOOP_SET_STATUS (6.12.117 in QEMU:
  // after LOOP_CONFIGURE with PARTSCAN over a 1000-byte file cut to 0, a read of
  // 512 at 0 returned the file's old bytes from the cache; gen-7703-0213,
  // linux-6.12/configure_partscan_caches_page_zero.trace).
  if (dev.flags & kLoPartscan) reread_partitions(dev);
  return Outcome::ok(0);
}

// 6.11+ checks the block size after dev_set_uevent_suppress(1) and returns
// without undoing it (loop_configure's out_unlock): the disk sends nothing until
// a bind succeeds — not even LOOP_CTL_REMOVE's `remove` (host 6.18.44, 6.12.117;
// linux-6.18/uevents_suppressed_by_a_failed_configure.trace).
Outcome Machine::refuse_bind_block_size(Device& dev) {
  if (!p.configure_block_size_early) dev.uevents_suppressed = 1;
  return Outcome::error(EINVAL);
}

Outcome Machine::change_fd(Desc&, Device& dev, const Op& op) {
  Desc* file = desc_by_fd(static_cast<uint32_t>(number_arg(op)));
  if (!file) return Outcome::error(EBADF);
  if (file->kind == DescKind::Loop && file->part != 0) {
    uevents_not_followed();
    return partition_backing();
  }
  if (p.rw_iter_sanity_check)
    if (int e = sanity_check(*file)) return Outcome::error(e);
  // From here loop_change_fd suppresses the disk's events and ends, on every
  // path, by turning them back on and sending `change` (its `done:` label).
  const Outcome o = switch_backing(dev, *file);
  dev.uevents_suppressed = 0;
  send_uevent(dev, UeventAction::Change);
  return o;
}

Outcome Machine::switch_backing(Device& dev, Desc& file) {
  if (dev.state != DevState::Bound) return Outcome::error(ENXIO);
  if (!(dev.flags & kLoReadOnly)) return Outcome::error(EINVAL);
  if (int e = validate_backing(dev, file)) return Outcome::error(e);
  // get_loop_size() of the new file against that of the old one, both computed now.
  const uint64_t old_cap = capacity_for(backing_size(dev), dev.offset, dev.sizelimit);
  const uint64_t new_bytes = file.kind == DescKind::File
                                 ? s.objects[file.object].size
                                 : arith::device_bytes(device(file.device)->capacity);
  if (capacity_for(new_bytes, dev.offset, dev.sizelimit) != old_cap) return Outcome::error(EINVAL);
  if (p.bind_fsyncs_backing) fsync_backing_file(file);

  const int old = dev.backing_desc;
  dev.backing_desc = static_cast<uint8_t>(desc_index(file));
  ++file.holders;
  const bool request = dev.dio || (file.open_flags & kOpenDirect);
  if (p.dio_rule == DioRule::MinDioAlign) dev.min_dio_bytes = min_dio_align(file);
  dev.dio = request && dio_possible(dev, file, dev.block_size, dev.offset);
  // disk_force_media_change → invalidate_bdev: clean pages go (a read-only device
  // has no dirty ones).
  if (dev.dirty.count == 0) drop_cache(dev);
  --s.descs[old].holders;
  release_desc(old);
  // loop_change_fd ends with loop_reread_partitions on a PARTSCAN device; an open
  // partition makes bdev_disk_changed refuse, and the old ones stay.
  if ((dev.flags & kLoPartscan) && !partition_open(dev)) scan_partitions(dev);
  return Outcome::ok(0);
}

Outcome Machine::set_capacity(Device& dev) {
  const uint64_t old_capacity = dev.capacity;
  resize_keeping_cache(dev, capacity_for(backing_size(dev), dev.offset, dev.sizelimit));
  backing_changed(DescKind::Loop, dev.index, nullptr);
  send_size_uevent(dev, old_capacity);  // loop_set_size, even when nothing changed
  return Outcome::ok(0);
}

Outcome Machine::clr_fd(Device& dev) {
  if (dev.state != DevState::Bound) return Outcome::error(ENXIO);
  dev.flags |= kLoAutoclear;
  const uint32_t n = openers(dev.index);
  if (n > 1) return Outcome::ok(0);  // torn down at the last close
  if (p.deferred_detach) {
    dev.state = DevState::Rundown;
  } else {
    // 6.1: synchronously, without writing back the mapping; loop_clr_fd sets
    // Lo_rundown and drops lo_mutex first, so an open may come in between.
    teardown_or_defer(dev, Pending::DetachTeardown);
  }
  return Outcome::ok(0);
}

Outcome Machine::set_status(Device& dev, const Op& op, bool legacy) {
  if (op.arg_kind != ArgKind::Struct) return Outcome::error(EFAULT);
  if (dev.state != DevState::Bound) return Outcome::error(ENXIO);
  const StructFields& f = op.fields;
  uint64_t offset = 0, sizelimit = 0;
  uint32_t key_size = 0, crypt = 0;
  if (legacy) {
    // int lo_offset, sign-extended; no sizelimit field (always 0); the encryption
    // fields are not copied at all.
    offset =
        static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(f.get(Field::Offset))));
  } else {
    offset = f.get(Field::Offset);
    sizelimit = f.get(Field::Sizelimit);
    key_size = static_cast<uint32_t>(f.get(Field::EncryptKeySize));
    crypt = static_cast<uint32_t>(f.get(Field::EncryptType));
  }
  const bool size_changed = offset != dev.offset || sizelimit != dev.sizelimit;
  if (size_changed) {  // sync_blockdev + invalidate_bdev, before validation
    flush_dirty(dev);
    drop_cache(dev);
  }
  if (key_size > 32) return Outcome::error(EINVAL);
  if (crypt != 0) return Outcome::error(EINVAL);
  if (!arith::offsets_fit_loff_t(offset, sizelimit)) return Outcome::error(EOVERFLOW);

  dev.offset = offset;
  dev.sizelimit = sizelimit;
  dev.name = stored_name(f.name);
  const uint32_t info_flags = static_cast<uint32_t>(f.get(Field::Flags));
  const bool partscan = !(dev.flags & kLoPartscan) && (info_flags & kLoPartscan);
  dev.flags = (dev.flags & ~static_cast<uint32_t>(kLoAutoclear)) |
              (info_flags & (kLoAutoclear | kLoPartscan));
  dev.dio = dev.dio && dio_possible(dev, s.descs[dev.backing_desc], dev.block_size, offset);
  if (size_changed) {
    const uint64_t old_capacity = dev.capacity;
    dev.capacity = capacity_for(backing_size(dev), offset, sizelimit);
    send_size_uevent(dev, old_capacity);
    // Devices stacked on this one now read other bytes (or none) through it:
    // what their caches hold is stale (6.12.117 in QEMU serves it).
    backing_changed(DescKind::Loop, dev.index, nullptr);
  }
  if (!p.discard_limits_at_set_block_size) configure_discard(dev);  // 6.1's loop_config_discard
  if (partscan) reread_partitions(dev);  // no partition can be open: PARTSCAN was off
  return Outcome::ok(0);
}

// loop_reread_partitions, when LOOP_SET_STATUS turns PARTSCAN on (where the profile
// says the rescan reads through the cache, partscan_rescan_caches_table): bdev_disk_changed
// writes back (errors recorded, not returned) and drops the cache, then the
// partition parsers read the table through it: folio 0 by read_mapping_folio, no
// readahead, and some parsers a few sectors past it. Page 0 is then cached for
// sure where its read cannot fail; page 1 may be (6.12.117 in QEMU: after PARTSCAN
// and LOOP_CLR_FD a read at 3072 in Rundown returned the bytes; gen-7703-0147).
// Where the profile's rescan reads no table (6.18.44, max_part 0) the writeback and
// the drop still happen: a dirty page written before LOOP_SET_STATUS64 turned
// PARTSCAN on reached the file, and a later write to the file through its own fd
// showed through the device (6.1.0-56 and 6.12.117 serve the cached folio 0
// instead; gen-7705-0662, linux-6.18/partscan_rescan_writes_back_and_drops.trace).
void Machine::reread_partitions(Device& dev) {
  cache_partition_table(dev);
  scan_partitions(dev);
}

// The rescan's writeback, drop and table read through the device's cache.
void Machine::cache_partition_table(Device& dev) {
  flush_dirty(dev);
  drop_cache(dev);
  const uint64_t cap = arith::device_bytes(dev.capacity);
  if (!p.partscan_rescan_caches_table || cap == 0) return;
  if (blocks_outgrow_cache(dev)) return note_refused_folio(dev, 0);  // a 4 KiB bio: refused
  const Desc& b = s.descs[dev.backing_desc];
  const uint64_t page_end = std::min(cap, kPageSize);
  const bool readable = b.kind == DescKind::File && b.access != Access::Wo &&
                        !soft_blocks_below_logical(dev) &&
                        !backing_odirect_misaligned(dev, dev.offset, kPageSize) &&
                        arith::bytes_past_offset(backing_size(dev), dev.offset) >= page_end &&
                        buffered_io_stop(dev) >= page_end;  // not a refused partial last block
  note_cached(dev, 0, std::min(cap, 2 * kPageSize));
  if (readable) note_sure(dev, 0, page_end);
}

Outcome Machine::get_status(Device& dev, const Op& op, bool legacy) {
  // Without an argument the target supplies a buffer (trace-format: `ioctl d
  // LOOP_GET_STATUS64`); only `null` (or a literal 0 pointer) is the NULL case.
  if (op.arg_kind == ArgKind::Null || (op.arg_kind == ArgKind::Number && op.arg.lit == 0))
    return Outcome::error(EINVAL);
  if (dev.state != DevState::Bound) return Outcome::error(ENXIO);
  // loop_info64_to_old refuses what the old struct cannot hold before the copy out.
  if (legacy && dev.offset > 0x7fffffffu) return Outcome::error(EOVERFLOW);
  // copy_to_user last, after the status was gathered under lo_mutex: an unwritable
  // page (or a made-up pointer) is EFAULT only on a bound device.
  if (op.arg_kind == ArgKind::Fault || op.arg_kind == ArgKind::Number)
    return Outcome::error(EFAULT);
  Outcome o;
  o.kind = Outcome::Kind::Status;
  StatusInfo& st = o.status;
  const Desc& b = s.descs[dev.backing_desc];
  if (b.kind == DescKind::File) {
    st.device = 1;  // token for the sandbox filesystem's st_dev
    st.inode = 100 + b.object;
    st.rdevice = 0;
  } else {
    st.device = 2;  // token for devtmpfs, where /dev/loopN lives
    st.inode = 1000 + b.device;
    st.rdevice = makedev_user(kLoopMajor, b.device << part_shift());
  }
  st.offset = dev.offset;
  st.sizelimit = legacy ? 0 : dev.sizelimit;
  st.number = dev.index;
  st.flags = dev.flags | (dev.dio ? kLoDirectIo : 0u);
  st.name = dev.name;
  return o;
}

Outcome Machine::set_block_size(Desc& fd, Device& dev, const Op& op) {
  const uint64_t arg = number_arg(op);
  auto update_dio = [&] {
    const Desc& b = s.descs[dev.backing_desc];
    const bool request =
        dev.dio || (p.dio_reenabled_by_reconfigure && (b.open_flags & kOpenDirect));
    dev.dio = request && dio_possible(dev, b, dev.block_size, dev.offset);
  };
  if (p.set_block_size_validated_first) {
    // 6.1.192 carries the exclusive-owner check too (7e49538288e5 backported
    // between 6.1.190 and 6.1.192, found by `loopcheck triage` in QEMU).
    if (p.block_size_exclusive_check && !(fd.open_flags & kOpenExcl) &&
        held_exclusively_by_other(dev.index, &fd))
      return Outcome::error(EBUSY);
    if (dev.state != DevState::Bound) return Outcome::error(ENXIO);
    // 6.1's rule keeps the whole unsigned long and has no default: 0 fails here.
    const auto choice = arith::choose_block_size(arg, block_size_rule(), uint64_t{0});
    if (!choice.accepted) return Outcome::error(EINVAL);
    if (choice.value == dev.block_size) return Outcome::ok(0);
    flush_dirty(dev);
    drop_cache(dev);
    dev.block_size = static_cast<uint32_t>(choice.value);
    update_dio();
    return Outcome::ok(0);
  }
  if (p.block_size_exclusive_check && !(fd.open_flags & kOpenExcl) &&
      held_exclusively_by_other(dev.index, &fd))
    return Outcome::error(EBUSY);
  if (dev.state != DevState::Bound) return Outcome::error(ENXIO);
  if (arg == dev.block_size) return Outcome::ok(0);
  flush_dirty(dev);
  drop_cache(dev);
  const Desc& b = s.descs[dev.backing_desc];
  const uint32_t dio_default =
      p.dio_rule == DioRule::MinDioAlign ? min_dio_align(b) : backing_bdev_block_size(b);
  const uint64_t default_bs = dev.dio && dio_default != 0 ? dio_default : 512;
  const auto choice = arith::choose_block_size(arg, block_size_rule(), default_bs);
  if (!choice.accepted) {
    if (p.failed_set_block_size_updates_dio) update_dio();
    return Outcome::error(EINVAL);
  }
  dev.block_size = static_cast<uint32_t>(choice.value);
  update_dio();
  if (p.discard_limits_at_set_block_size) configure_discard(dev);  // loop_update_limits
  return Outcome::ok(0);
}

Outcome Machine::set_direct_io(Device& dev, const Op& op) {
  if (dev.state != DevState::Bound) return Outcome::error(ENXIO);
  const bool want = number_arg(op) != 0;
  const bool possible = dio_possible(dev, s.descs[dev.backing_desc], dev.block_size, dev.offset);
  if (p.set_dio_reevaluates_first) {
    // __loop_update_dio(lo, want), then "use_dio == want ? 0 : EINVAL" (6.1.0-56,
    // 6.12.117: LOOP_SET_DIRECT_IO 1 on a device in DIO mode whose lower device's
    // blocks grew past its own → EINVAL, DIO off; gen-7603-0128,
    // linux-6.12/set_direct_io_reevaluates_first.trace).
    const bool now = want && possible;
    if (now != static_cast<bool>(dev.dio)) fsync_backing_file(s.descs[dev.backing_desc]);
    dev.dio = now;
    return now == want ? Outcome::ok(0) : Outcome::error(EINVAL);
  }
  if (want == static_cast<bool>(dev.dio)) return Outcome::ok(0);
  if (!want) {
    dev.dio = 0;
    return Outcome::ok(0);
  }
  if (!possible) return Outcome::error(EINVAL);
  fsync_backing_file(s.descs[dev.backing_desc]);
  dev.dio = 1;
  return Outcome::ok(0);
}

// vfs_fsync of a device's backing file, its result ignored: loop_set_dio /
// __loop_update_dio's "flush dirty pages before starting to use direct I/O", and
// (bind_fsyncs_backing) the new file of LOOP_CONFIGURE and LOOP_CHANGE_FD. A
// stacked lower device's dirty pages reach its file (6.12.117, 6.18.44, 6.1.0-56:
// common/set_direct_io_flushes_lower_device.trace; finding fff561d5), and a
// failed writeback is reported to the backing open file there, so its own next
// fsync gets 0 (6.18.44: linux-6.18/bind_writes_back_lower_device.trace).
void Machine::fsync_backing_file(Desc& file) {
  if (file.kind != DescKind::Loop) return;  // a regular file's writeback cannot fail here
  Device& lower = *device(file.device);
  (void)flush_dirty(lower);
  (void)wb_error_reported(file, lower);
  bool maybe_eio = false;  // blkdev_fsync's flush request goes on down the stack
  (void)flush_down_the_stack(lower, &maybe_eio);
}

// ---- generic block ioctls (block/ioctl.c) -----------------------------------------------------

Outcome Machine::block_ioctl(Desc& fd, const Op& op) {
  Device* dev = device(fd.device);
  assert(dev);
  const bool null_arg = op.arg_kind == ArgKind::Null;
  // Getters store through the pointer: the stored value is the outcome's value.
  auto put = [&](uint64_t v) {
    return null_arg ? Outcome::error(EFAULT) : Outcome::ok(static_cast<int64_t>(v));
  };
  switch (op.req) {
    case Req::BlkGetSize64:
      return put(arith::device_bytes(dev->capacity));
    case Req::BlkGetSize:
      return put(dev->capacity);
    case Req::BlkSszGet:
    case Req::BlkPbszGet:
      return put(dev->block_size);
    case Req::BlkBszGet:
      return put(dev->soft_block_size);
    case Req::BlkRoGet:
      return put(bdev_read_only(*dev) ? 1 : 0);
    case Req::BlkRoSet:
      if (!env.cap_sys_admin) return Outcome::error(EACCES);
      if (null_arg) return Outcome::error(EFAULT);
      dev->bdev_ro_policy = static_cast<int32_t>(number_arg(op)) != 0;
      return Outcome::ok(0);
    case Req::BlkFlsBuf:
      if (!env.cap_sys_admin) return Outcome::error(EACCES);
      flush_dirty(*dev);  // a failed writeback is not reported here
      drop_cache(*dev);
      return Outcome::ok(0);
    case Req::BlkDiscard:
      if (dev->discard_max_sectors == kDiscardLimitsUnknown)
        return discard_with_unknown_limits(fd, *dev, op);
      return p.discard_range_validated_first ? discard_validated_first(fd, *dev, op)
                                             : discard_truncating_first(fd, *dev, op);
    case Req::BlkZeroout:
      return zeroout(fd, *dev, op);
    case Req::BlkSecDiscard:
      return secure_erase(fd);
    case Req::BlkRrPart:
      return reread_partition_table(fd, *dev);
    default:
      assert(false);
      return Outcome::error(EINVAL);
  }
}

}  // namespace loopcheck::model
