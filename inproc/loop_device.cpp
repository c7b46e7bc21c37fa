#include "inproc/loop_device.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "inproc/arith.h"
#include "inproc/user_copy.h"

namespace loopcheck::inproc {
namespace {

// Userspace dev_t of devtmpfs, where the /dev/loopN inodes live. Any stable value
// works: the runner renames device numbers.
constexpr uint64_t kDevtmpfsDev = 5;
constexpr uint64_t kDevInodeBase = 1000;

uint32_t part_shift(uint32_t max_part) {
  return max_part == 0 ? 0 : static_cast<uint32_t>(std::bit_width(max_part));
}

// Copy `bytes` from the request's segments starting at byte `from` into an iovec
// array (the cursor for one preadv/pwritev attempt).
int iov_cursor(const Request& rq, uint64_t from, std::array<iovec, kMaxSegments>& out) {
  int n = 0;
  uint64_t skip = from;
  for (int i = 0; i < rq.nr_segs; ++i) {
    const iovec& s = rq.segs[i];
    if (skip >= s.iov_len) {
      skip -= s.iov_len;
      continue;
    }
    out[n++] = iovec{static_cast<uint8_t*>(s.iov_base) + skip, s.iov_len - skip};
    skip = 0;
  }
  return n;
}

// Copy between the request's segments and a flat buffer.
void gather(const Request& rq, uint8_t* dst) {
  for (int i = 0; i < rq.nr_segs; ++i) {
    std::memcpy(dst, rq.segs[i].iov_base, rq.segs[i].iov_len);
    dst += rq.segs[i].iov_len;
  }
}
void scatter(const Request& rq, const uint8_t* src) {
  for (int i = 0; i < rq.nr_segs; ++i) {
    std::memcpy(rq.segs[i].iov_base, src, rq.segs[i].iov_len);
    src += rq.segs[i].iov_len;
  }
}
void zero_from(const Request& rq, uint64_t from) {
  uint64_t skip = from;
  for (int i = 0; i < rq.nr_segs; ++i) {
    const iovec& s = rq.segs[i];
    if (skip >= s.iov_len) {
      skip -= s.iov_len;
      continue;
    }
    std::memset(static_cast<uint8_t*>(s.iov_base) + skip, 0, s.iov_len - skip);
    skip = 0;
  }
}

bool aligned_for_dio(const Request& rq, int64_t pos) {
  if ((static_cast<uint64_t>(pos) & (kSectorSize - 1)) != 0) return false;
  for (int i = 0; i < rq.nr_segs; ++i) {
    auto base = reinterpret_cast<uintptr_t>(rq.segs[i].iov_base);
    if (((base | rq.segs[i].iov_len) & (kSectorSize - 1)) != 0) return false;
  }
  return true;
}

}  // namespace

LoopDevice::LoopDevice(int number, const DriverProfile& profile, const DriverConfig& config,
                       UeventBus& uevents)
    : number_(number), profile_(profile), config_(config), uevents_(uevents) {
  assert(number >= 0);
  disk_.set_unaligned_bios_refused(profile_.unaligned_bios_refused);
  disk_.set_discard_range_validated_first(profile_.discard_range_validated_first);
  disk_.set_rotational(profile_.created_rotational, /*raises_readahead=*/false);
}

LoopDevice::~LoopDevice() {
  // The control device destroys only Unbound devices nobody has open.
  assert(disk_.openers() == 0);
  disk_.queue().stop();
}

uint64_t LoopDevice::devt() const {
  return makedev(kLoopMajor, static_cast<unsigned>(number_) << part_shift(config_.max_part));
}

// ---- open / release ------------------------------------------------------------------

int LoopDevice::open(const OpenFile* file) {
  // The block layer prepares the exclusive claim before it calls the driver's
  // open, so a competing O_EXCL open is EBUSY even while the device runs down.
  if (file->opened_excl() && disk_.claimed_by_other(file)) return -EBUSY;
  return open_whole(file->opened_excl() ? file : nullptr);
}

int LoopDevice::open_whole(const void* excl_holder) {
  if (profile_.deferred_detach) {
    // lo_open (6.11+): a device being torn down or deleted cannot be reopened.
    std::lock_guard lock(lo_mutex_);
    LoState s = state_.load();
    if (s == LoState::Rundown || s == LoState::Deleting) return -ENXIO;
  }
  // 6.1 blkdev_get_whole: the rescan a bind left for the next open (GD_NEED_PART_SCAN)
  // also rebuilds a PARTSCAN disk's partitions (refused while one is open).
  const bool rescan = disk_.rescan_at_next_open();
  const int err = disk_.open(excl_holder);
  if (err == 0 && rescan && (lo_flags_.load() & LO_FLAGS_PARTSCAN)) (void)scan_partitions();
  return err;
}

void LoopDevice::release(const OpenFile* file) {
  release_whole(file->opened_excl() ? file : nullptr);
}

void LoopDevice::release_whole(const void* excl_holder) {
  if (!disk_.release(excl_holder)) return;
  std::shared_ptr<OpenFile> dropped;
  {
    std::lock_guard lock(lo_mutex_);
    if (disk_.openers() > 0) return;
    LoState s = state_.load();
    if ((s == LoState::Bound && (lo_flags_.load() & LO_FLAGS_AUTOCLEAR)) || s == LoState::Rundown) {
      state_.store(LoState::Rundown);
      dropped = teardown();
    }
  }
  // `dropped` goes here, outside lo_mutex: if it is the last reference to another
  // loop device's file, that device's release (and autoclear) runs now.
}

int LoopDevice::mark_deleting() {
  std::lock_guard lock(lo_mutex_);
  if (state_.load() != LoState::Unbound || disk_.openers() > 0) return -EBUSY;
  state_.store(LoState::Deleting);
  return 0;
}

std::shared_ptr<OpenFile> LoopDevice::shutdown() {
  std::lock_guard lock(lo_mutex_);
  if (state_.load() == LoState::Unbound || state_.load() == LoState::Deleting) return nullptr;
  return teardown();
}

std::shared_ptr<OpenFile> LoopDevice::teardown() {
  // 6.1's __loop_clr_fd turns the write cache off first, before the capacity
  // drops: an fsync that found the capacity 0 (a write got ENOSPC) sends no flush
  // and returns 0. Found by corpus/concurrency/linux-6.1/io_vs_detach.trace: with
  // the cache cleared last, such an fsync got EIO here.
  if (profile_.write_cache_cleared_on_teardown) disk_.set_write_cache(false);
  disk_.queue().stop();  // drains what is in flight
  std::shared_ptr<OpenFile> old = std::move(backing_);
  backing_.reset();
  lo_offset_ = 0;
  lo_sizelimit_ = 0;
  lo_file_name_.fill(0);
  disk_.set_block_size(kSectorSize);
  disk_.set_capacity(0);
  disk_.invalidate();
  // "let user-space know about this change", disk_force_media_change, then
  // bdev_disk_changed of a PARTSCAN disk (no opener is left; none come back at
  // capacity 0).
  disk_uevent(UeventAction::Change);
  disk_uevent(UeventAction::Change, UeventDetail::MediaChange);
  drop_partitions_locked();
  disk_.forget_wb_errors();
  disk_.set_rescan_at_next_open(false);  // as the model: a detach's mark is not settled
  lo_flags_.store(0);
  state_.store(LoState::Unbound);
  // The block-layer ro bit is deliberately left as it is (sticky until next bind).
  return old;
}

// ---- helpers -------------------------------------------------------------------------

bool LoopDevice::iter_ok(const OpenFile& file) const {
  return file.has_read_iter() && (!file.writable() || file.has_write_iter());
}

int LoopDevice::validate_backing(const OpenFile& file) const {
  const OpenFile* f = &file;
  std::shared_ptr<OpenFile> hold;  // keeps the chain alive while we walk it
  while (LoopDevice* l = f->loop_device()) {
    if (l == this) return -EBADF;
    std::lock_guard lock(l->lo_mutex_);
    if (l->state_.load() != LoState::Bound) return -EINVAL;
    hold = l->backing_;
    f = hold.get();
  }
  if (!file.is_regular_or_block()) return -EINVAL;
  return 0;
}

uint64_t LoopDevice::compute_capacity(const OpenFile& backing, int64_t offset,
                                      int64_t sizelimit) const {
  FileAttr attr;
  if (backing.getattr(attr) != 0) return 0;
  return arith::capacity_in_sectors<int64_t>(attr.size, offset, sizelimit);
}

uint32_t LoopDevice::min_dio_size(const OpenFile& backing) {
  if (uint32_t a = backing.dio_offset_align(); a != 0) return a;
  if (uint32_t b = backing.backing_bdev_block_size(); b != 0) return b;
  return kSectorSize;
}

uint32_t LoopDevice::default_block_size(const OpenFile& backing, bool dio_requested) const {
  if (profile_.dio_rule == DioRule::MinDioAlign)
    return dio_requested ? min_dio_size(backing) : kSectorSize;
  // 6.1 takes the size of inode->i_sb->s_bdev, the device under the file's
  // filesystem: a block device as backing has none (the bdev pseudo-fs), so 512
  // (6.1.0-56). 6.11+ takes a block device's own (S_ISBLK).
  if (!profile_.default_block_size_follows_dio_flag && backing.loop_device() != nullptr)
    return kSectorSize;
  uint32_t bdev_bs = backing.backing_bdev_block_size();
  return dio_requested && bdev_bs != 0 ? bdev_bs : kSectorSize;
}

uint32_t LoopDevice::max_block_size() const {
  return static_cast<uint32_t>(arith::max_block_size(profile_, config_.thp));
}

bool LoopDevice::dio_possible(const OpenFile& backing, uint32_t block_size, int64_t offset) const {
  if (!backing.can_odirect()) return false;
  // 6.13+: the size loop_assign_backing_file noted at the bind (see lo_min_dio_size_).
  uint32_t align = profile_.dio_rule == DioRule::MinDioAlign ? lo_min_dio_size_
                                                             : backing.backing_bdev_block_size();
  return arith::dio_aligned<uint64_t>(block_size, arith::as_unsigned(offset), align);
}

void LoopDevice::update_dio(bool requested) {
  assert(backing_ != nullptr);
  bool on = requested && dio_possible(*backing_, disk_.logical_block_size(), lo_offset_);
  uint32_t f = lo_flags_.load();
  lo_flags_.store(on ? (f | LO_FLAGS_DIRECT_IO) : (f & ~uint32_t{LO_FLAGS_DIRECT_IO}));
}

// ---- ioctls ----------------------------------------------------------------------------

long LoopDevice::ioctl(const OpenFile& file, const FileTable& files, unsigned long cmd,
                       unsigned long arg) {
  BlockIoctlResult generic =
      disk_.common_ioctl(cmd, arg, {file.writable(), file.opened_excl()}, config_.cap_sys_admin);
  if (generic.handled) return generic.ret;

  void* user = reinterpret_cast<void*>(arg);
  bool may_configure = file.writable() || config_.cap_sys_admin;
  switch (cmd) {
    case LOOP_SET_FD: {
      loop_config cfg{};
      cfg.fd = static_cast<uint32_t>(arg);
      return configure(file, files, cfg);
    }
    case LOOP_CONFIGURE: {
      loop_config cfg;
      if (!copy_from_user(&cfg, user, sizeof cfg)) return -EFAULT;
      return configure(file, files, cfg);
    }
    case LOOP_CHANGE_FD:
      return change_fd(files, arg);
    case LOOP_CLR_FD: {
      std::unique_lock lock(lo_mutex_);
      return clr_fd(lock);
    }
    case LOOP_SET_STATUS:
      if (!may_configure) return -EPERM;
      return set_status_old(file, user);
    case LOOP_SET_STATUS64: {
      if (!may_configure) return -EPERM;
      loop_info64 info;
      if (!copy_from_user(&info, user, sizeof info)) return -EFAULT;
      return set_status(file, info);
    }
    case LOOP_GET_STATUS:
      if (user == nullptr) return -EINVAL;
      return get_status_old(user);
    case LOOP_GET_STATUS64: {
      if (user == nullptr) return -EINVAL;
      loop_info64 info;
      if (long err = get_status(info); err != 0) return err;
      return copy_to_user(user, &info, sizeof info) ? 0 : -EFAULT;
    }
    case LOOP_SET_CAPACITY:
      if (!may_configure) return -EPERM;
      return set_capacity();
    case LOOP_SET_DIRECT_IO:
      if (!may_configure) return -EPERM;
      return set_direct_io(arg);
    case LOOP_SET_BLOCK_SIZE:
      if (!may_configure) return -EPERM;
      return set_block_size(file, arg);
    case BLKRRPART:
      return reread_partition_table(file, 0);
    default:
      return -EINVAL;  // lo_ioctl takes lo_mutex for unknown commands and says EINVAL
  }
}

// LOOP_SET_STATUS with the old struct at `user`.
long LoopDevice::set_status_old(const OpenFile& file, const void* user) {
  loop_info old;
  if (!copy_from_user(&old, user, sizeof old)) return -EFAULT;
  // loop_info64_from_old: the int offset is sign-extended, sizelimit is always
  // 0, and the encryption fields are not carried over at all.
  loop_info64 info{};
  info.lo_number = static_cast<uint32_t>(old.lo_number);
  info.lo_offset = static_cast<uint64_t>(static_cast<int64_t>(old.lo_offset));
  info.lo_sizelimit = 0;
  info.lo_flags = static_cast<uint32_t>(old.lo_flags);
  std::memcpy(info.lo_file_name, old.lo_name, LO_NAME_SIZE);
  return set_status(file, info);
}

// LOOP_GET_STATUS into the old struct at `user`: EOVERFLOW when a field does not fit.
long LoopDevice::get_status_old(void* user) {
  loop_info64 info64;
  if (long err = get_status(info64); err != 0) return err;
  loop_info old{};
  old.lo_number = static_cast<int>(info64.lo_number);
  old.lo_device = info64.lo_device;
  old.lo_inode = info64.lo_inode;
  old.lo_rdevice = info64.lo_rdevice;
  old.lo_offset = static_cast<int>(info64.lo_offset);
  old.lo_flags = static_cast<int>(info64.lo_flags);
  std::memcpy(old.lo_name, info64.lo_file_name, LO_NAME_SIZE);
  if (static_cast<uint64_t>(static_cast<int64_t>(old.lo_offset)) != info64.lo_offset ||
      old.lo_device != info64.lo_device || old.lo_inode != info64.lo_inode ||
      old.lo_rdevice != info64.lo_rdevice)
    return -EOVERFLOW;
  return copy_to_user(user, &old, sizeof old) ? 0 : -EFAULT;
}

long LoopDevice::configure(const OpenFile& file, const FileTable& files, const loop_config& cfg) {
  std::shared_ptr<OpenFile> backing = files.fget(static_cast<int>(cfg.fd));
  if (backing == nullptr) return -EBADF;
  if (profile_.rw_iter_sanity_check && !iter_ok(*backing)) return -EINVAL;
  // Without O_EXCL on our own fd, bind claims the bdev for the duration.
  if (!file.opened_excl() && disk_.claimed_by_other(nullptr)) return -EBUSY;

  std::unique_lock lock(lo_mutex_);
  if (state_.load() != LoState::Unbound) return -EBUSY;
  if (int err = validate_backing(*backing); err != 0) return err;
  const loop_info64& info = cfg.info;
  if ((info.lo_flags & ~kConfigureSettableFlags) != 0) return -EINVAL;
  if (profile_.configure_block_size_early && cfg.block_size != 0 &&
      !arith::block_size_acceptable<uint64_t>(cfg.block_size, kPageSize))
    return -EINVAL;
  if (info.lo_encrypt_key_size > LO_KEY_SIZE) return -EINVAL;
  if (info.lo_encrypt_type != LO_CRYPT_NONE) return -EINVAL;
  if (!arith::fits_loff_t(info.lo_offset, info.lo_sizelimit)) return -EOVERFLOW;

  uint32_t flags = info.lo_flags;
  if (!backing->writable() || !file.writable() || !backing->has_write_iter())
    flags |= LO_FLAGS_READ_ONLY;
  // set_disk_ro() happens before the block size is validated, so on 6.11+ a bad
  // block size leaves the ro bit behind on the still-unbound device.
  disk_.set_disk_ro((flags & LO_FLAGS_READ_ONLY) != 0);
  const bool dio_flag = (flags & LO_FLAGS_DIRECT_IO) != 0;
  if (backing->opened_direct()) flags |= LO_FLAGS_DIRECT_IO;

  // 6.1 looks at the file's O_DIRECT; 6.12.31+ at the requested DIO flag alone
  // (loop_update_limits runs before the file's O_DIRECT reaches lo_flags); 6.13+
  // at either (model/ioctl.cpp default_block_size).
  const bool dio_requested =
      !profile_.default_block_size_follows_dio_flag ? backing->opened_direct()
      : profile_.dio_rule == DioRule::MinDioAlign   ? (flags & LO_FLAGS_DIRECT_IO) != 0
                                                    : dio_flag;
  const uint64_t bs = arith::limits_block_size<uint64_t>(
      cfg.block_size, default_block_size(*backing, dio_requested));
  // "suppress uevents while reconfiguring the device": 6.11+ checks the block
  // size (queue_limits_commit_update) only after this, and its error path does
  // not lift the suppression.
  uevents_suppressed_.store(true);
  if (!arith::block_size_acceptable(bs, max_block_size())) return -EINVAL;
  // 6.15+: vfs_fsync of the new backing file, result ignored (its errors go to it).
  if (profile_.bind_fsyncs_backing) (void)backing->fsync();
  disk_.set_block_size(static_cast<uint32_t>(bs));
  update_rotational(*backing);

  lo_offset_ = static_cast<int64_t>(info.lo_offset);
  lo_sizelimit_ = static_cast<int64_t>(info.lo_sizelimit);
  std::memcpy(lo_file_name_.data(), info.lo_file_name, LO_NAME_SIZE);
  lo_file_name_[LO_NAME_SIZE - 1] = 0;
  if (config_.max_part > 0) flags |= LO_FLAGS_PARTSCAN;
  lo_flags_.store(flags);
  lo_min_dio_size_ = min_dio_size(*backing);
  backing_ = std::move(backing);
  discard_supported_ = true;
  configure_discard();
  update_dio((flags & LO_FLAGS_DIRECT_IO) != 0);
  disk_.set_capacity(compute_capacity(*backing_, lo_offset_, lo_sizelimit_));
  // The write cache is advertised when writes can happen and the file can be synced.
  disk_.set_write_cache((flags & LO_FLAGS_READ_ONLY) == 0);
  disk_.queue().start(*this, config_.workers_per_device);
  state_.store(LoState::Bound);
  disk_.set_rescan_at_next_open(profile_.bind_rescans_at_next_open);
  uevents_suppressed_.store(false);
  disk_uevent(UeventAction::Change);
  lock.unlock();  // loop_configure rescans as loop_set_status does, without lo_mutex
  if (flags & LO_FLAGS_PARTSCAN) rescan_partitions();
  return 0;
}

// loop_update_rotational (6.1: the file's filesystem's device) / loop_update_limits
// (6.11+: a block device as backing is its own).
void LoopDevice::update_rotational(const OpenFile& backing) {
  const bool rotational =
      backing.loop_device() != nullptr
          ? profile_.rotational_follows_lower_device && backing.loop_device()->disk().rotational()
          : backing.backing_disk_rotational();
  disk_.set_rotational(rotational, profile_.rotational_bind_raises_readahead);
}

long LoopDevice::clr_fd(std::unique_lock<std::mutex>& lock) {
  if (state_.load() != LoState::Bound) return -ENXIO;
  if (profile_.deferred_detach) {
    // 6.11+: always autoclear; the sole opener's close does the teardown.
    lo_flags_.fetch_or(LO_FLAGS_AUTOCLEAR);
    if (disk_.openers() == 1) state_.store(LoState::Rundown);
    return 0;
  }
  if (disk_.openers() > 1) {
    lo_flags_.fetch_or(LO_FLAGS_AUTOCLEAR);
    return 0;
  }
  state_.store(LoState::Rundown);
  std::shared_ptr<OpenFile> dropped = teardown();
  lock.unlock();
  return 0;  // `dropped` released here, outside lo_mutex
}

long LoopDevice::set_status(const OpenFile& file, const loop_info64& info) {
  (void)file;
  std::unique_lock lock(lo_mutex_);
  if (state_.load() != LoState::Bound) return -ENXIO;
  bool geometry_changed = static_cast<uint64_t>(lo_offset_) != info.lo_offset ||
                          static_cast<uint64_t>(lo_sizelimit_) != info.lo_sizelimit;
  if (geometry_changed) {
    // Cached pages were read at the old offset: write back and drop them.
    (void)disk_.sync();
    disk_.invalidate();
  }
  disk_.queue().freeze();
  long err = 0;
  bool partscan = false;
  if (info.lo_encrypt_key_size > LO_KEY_SIZE || info.lo_encrypt_type != LO_CRYPT_NONE)
    err = -EINVAL;
  else if (!arith::fits_loff_t(info.lo_offset, info.lo_sizelimit))
    err = -EOVERFLOW;
  if (err == 0) {
    lo_offset_ = static_cast<int64_t>(info.lo_offset);
    lo_sizelimit_ = static_cast<int64_t>(info.lo_sizelimit);
    std::memcpy(lo_file_name_.data(), info.lo_file_name, LO_NAME_SIZE);
    lo_file_name_[LO_NAME_SIZE - 1] = 0;
    uint32_t old = lo_flags_.load();
    lo_flags_.store((old & ~kSetStatusClearableFlags) | (info.lo_flags & kSetStatusSettableFlags));
    update_dio((old & LO_FLAGS_DIRECT_IO) != 0);  // may turn DIO off, never on
    if (geometry_changed)
      set_size_and_notify(compute_capacity(*backing_, lo_offset_, lo_sizelimit_));
    if (!profile_.discard_limits_at_set_block_size) configure_discard();  // loop_config_discard
    partscan = !(old & LO_FLAGS_PARTSCAN) && (info.lo_flags & LO_FLAGS_PARTSCAN);
  }
  disk_.queue().unfreeze();
  lock.unlock();  // as loop_set_status: the rescan runs without lo_mutex
  if (partscan) rescan_partitions();
  return err;
}

// loop_reread_partitions → bdev_disk_changed: sync_blockdev (errors recorded, not
// returned), invalidate_bdev, then the partition parsers read the table through
// the page cache (read_mapping_folio: folio 0 alone, no readahead); a read that
// fails is ignored. Where the profile's rescan reads no table (6.18.44) only the
// writeback and the invalidation happen (model/ioctl.cpp Machine::reread_partitions).
void LoopDevice::reread_partitions() {
  (void)disk_.sync();
  disk_.invalidate();
  if (!profile_.partscan_rescan_caches_table || disk_.capacity_sectors() == 0) return;
  std::array<uint8_t, kPageSize> sector0{};
  (void)disk_.read(sector0.data(), kSectorSize, 0, /*direct=*/false, /*readahead_pages=*/1);
}

long LoopDevice::get_status(loop_info64& out) {
  std::shared_ptr<OpenFile> backing;
  {
    std::lock_guard lock(lo_mutex_);
    if (state_.load() != LoState::Bound) return -ENXIO;
    out = loop_info64{};
    out.lo_number = static_cast<uint32_t>(number_);
    out.lo_offset = static_cast<uint64_t>(lo_offset_);
    out.lo_sizelimit = static_cast<uint64_t>(lo_sizelimit_);
    out.lo_flags = lo_flags_.load();
    std::memcpy(out.lo_file_name, lo_file_name_.data(), LO_NAME_SIZE);
    backing = backing_;
  }
  // The stat runs after lo_mutex is dropped, as in the kernel.
  FileAttr attr;
  if (int err = backing->getattr(attr); err != 0) return err;
  out.lo_device = attr.dev;
  out.lo_inode = attr.ino;
  out.lo_rdevice = attr.rdev;
  return 0;
}

long LoopDevice::change_fd(const FileTable& files, unsigned long arg) {
  std::shared_ptr<OpenFile> file = files.fget(static_cast<int>(static_cast<unsigned int>(arg)));
  if (file == nullptr) return -EBADF;
  if (profile_.rw_iter_sanity_check && !iter_ok(*file)) return -EINVAL;
  // Suppressed while it switches; every path out lifts that, rescans a PARTSCAN
  // disk that switched, and sends `change` (loop_change_fd's `done:`).
  uevents_suppressed_.store(true);
  const long err = switch_backing(std::move(file));
  uevents_suppressed_.store(false);
  // loop_reread_partitions of a PARTSCAN disk: refused while a partition is open.
  if (err == 0 && (lo_flags_.load() & LO_FLAGS_PARTSCAN)) (void)scan_partitions();
  disk_uevent(UeventAction::Change);
  return err;
}

long LoopDevice::switch_backing(std::shared_ptr<OpenFile> file) {
  std::shared_ptr<OpenFile> old;
  {
    std::lock_guard lock(lo_mutex_);
    if (state_.load() != LoState::Bound) return -ENXIO;
    if ((lo_flags_.load() & LO_FLAGS_READ_ONLY) == 0) return -EINVAL;
    if (int err = validate_backing(*file); err != 0) return err;
    // Both sizes are taken now: the old file's size as it is today, not the
    // capacity computed when it was bound (a grown backing file can be swapped
    // for itself).
    if (compute_capacity(*file, lo_offset_, lo_sizelimit_) !=
        compute_capacity(*backing_, lo_offset_, lo_sizelimit_))
      return -EINVAL;
    if (profile_.bind_fsyncs_backing) (void)file->fsync();  // as configure does
    // disk_force_media_change() → invalidate_bdev(): the clean cached pages go
    // (6.18 host: a read after CHANGE_FD to a file the driver cannot serve fails).
    disk_.invalidate();
    disk_.queue().freeze();
    bool request = (lo_flags_.load() & LO_FLAGS_DIRECT_IO) != 0 || file->opened_direct();
    lo_min_dio_size_ = min_dio_size(*file);
    old = std::exchange(backing_, std::move(file));
    update_dio(request);
    disk_.queue().unfreeze();
  }
  return 0;  // the old backing file is released here, outside lo_mutex
}

long LoopDevice::set_capacity() {
  std::lock_guard lock(lo_mutex_);
  if (state_.load() != LoState::Bound) return -ENXIO;
  set_size_and_notify(compute_capacity(*backing_, lo_offset_, lo_sizelimit_));
  return 0;
}

long LoopDevice::set_direct_io(unsigned long arg) {
  std::lock_guard lock(lo_mutex_);
  if (state_.load() != LoState::Bound) return -ENXIO;
  const bool want = arg != 0;
  const bool on = (lo_flags_.load() & LO_FLAGS_DIRECT_IO) != 0;
  const bool possible = dio_possible(*backing_, disk_.logical_block_size(), lo_offset_);
  if (profile_.set_dio_reevaluates_first) {
    // __loop_update_dio(lo, want) first, then EINVAL unless the device ended in
    // the requested mode (6.1, 6.12): asking again can turn DIO off.
    const bool now = want && possible;
    if (now != on) {
      (void)backing_->fsync();
      disk_.queue().freeze();
      update_dio(now);
      disk_.queue().unfreeze();
    }
    return now == want ? 0 : -EINVAL;
  }
  if (want == on) return 0;
  if (want) {
    if (!possible) return -EINVAL;
    // loop_set_dio: the backing file's dirty pages go to disk before I/O bypasses
    // its cache (vfs_fsync of the backing file). The device's own page cache is
    // left alone: its dirty pages stay dirty (found by fuzzing, 6.12.117 in QEMU).
    (void)backing_->fsync();
  }
  disk_.queue().freeze();
  update_dio(want);
  disk_.queue().unfreeze();
  return 0;
}

long LoopDevice::set_block_size(const OpenFile& file, unsigned long arg) {
  if (profile_.block_size_exclusive_check && !file.opened_excl() && disk_.claimed_by_other(nullptr))
    return -EBUSY;
  std::lock_guard lock(lo_mutex_);
  if (state_.load() != LoState::Bound) return -ENXIO;
  const uint64_t default_bs =
      default_block_size(*backing_, (lo_flags_.load() & LO_FLAGS_DIRECT_IO) != 0);
  const auto verdict = arith::set_block_size_verdict<uint64_t>(
      arg, arith::whole_block_size_argument(profile_), max_block_size(), default_bs);
  if (profile_.set_block_size_validated_first) {
    // 6.1: the whole unsigned long is validated, before the equality shortcut.
    if (!verdict.ok) return -EINVAL;
    if (arg == disk_.logical_block_size()) return 0;
  } else {
    if (arg == disk_.logical_block_size()) return 0;
    // 6.11+: the cache is synced and dropped before the block layer validates,
    // so an invalid size still empties it (6.18 host: a Rundown read after
    // LOOP_SET_BLOCK_SIZE 1234 → EINVAL is EIO).
    if (!verdict.ok) {
      (void)disk_.sync();
      disk_.invalidate();
      if (profile_.failed_set_block_size_updates_dio)
        update_dio((lo_flags_.load() & LO_FLAGS_DIRECT_IO) != 0 ||
                   (profile_.dio_reenabled_by_reconfigure && backing_->opened_direct()));
      return -EINVAL;
    }
  }
  const uint64_t bs = verdict.size;
  (void)disk_.sync();
  disk_.invalidate();
  disk_.queue().freeze();
  disk_.set_block_size(static_cast<uint32_t>(bs));
  bool on = (lo_flags_.load() & LO_FLAGS_DIRECT_IO) != 0;
  // Before 6.15 re-evaluation also asks for DIO when the backing file is O_DIRECT.
  update_dio(on || (profile_.dio_reenabled_by_reconfigure && backing_->opened_direct()));
  if (profile_.discard_limits_at_set_block_size) configure_discard();  // loop_update_limits
  disk_.queue().unfreeze();
  return 0;
}

// loop_config_discard (6.1) / loop_get_discard_config (6.12+): over a file, punch
// hole's limits (UINT_MAX >> 9 sectors, the filesystem's 4 KiB block); over a
// lower loop device its write-zeroes limit and granularity, which 6.1 replaces by
// its physical block size when 0.
void LoopDevice::configure_discard() {
  constexpr uint32_t kFileMaxSectors = 0xffffffffu >> 9;
  constexpr uint32_t kFileGranularity = 4096;
  const LoopDevice* lower = backing_->loop_device();
  uint32_t max_sectors = kFileMaxSectors, granularity = kFileGranularity;
  if (lower != nullptr) {
    max_sectors = lower->disk().discard_max_sectors();
    granularity = lower->disk().discard_granularity();
    if (granularity == 0 && !profile_.discard_limits_at_set_block_size)
      granularity = lower->disk().physical_block_size();
  }
  // 6.11+ (queue_limits_commit_update → blk_validate_limits): never below the
  // physical block size.
  if (profile_.discard_limits_at_set_block_size)
    granularity = std::max(granularity, disk_.physical_block_size());
  disk_.set_discard_limits(max_sectors, granularity);
}

// ---- sysfs -------------------------------------------------------------------------------

int LoopDevice::sysfs_show(std::string_view attr, std::string& out) const {
  auto num = [&](uint64_t v) {
    out = std::to_string(v) + "\n";
    return 0;
  };
  if (attr == "size") return num(disk_.capacity_sectors());
  if (attr == "ro") return num(disk_.read_only() ? 1 : 0);
  if (attr == "queue/logical_block_size") return num(disk_.logical_block_size());
  if (attr == "queue/physical_block_size") return num(disk_.physical_block_size());
  if (attr == "queue/minimum_io_size") return num(disk_.io_min());
  if (attr == "queue/read_ahead_kb") return num(disk_.read_ahead_kb());
  if (attr == "queue/rotational") return num(disk_.rotational() ? 1 : 0);
  if (attr == "queue/discard_granularity") return num(disk_.discard_granularity());
  if (attr == "queue/discard_max_bytes" || attr == "queue/write_zeroes_max_bytes")
    return num(uint64_t{disk_.discard_max_sectors()} << 9);
  if (!attr.starts_with("loop/")) return -ENOENT;
  std::lock_guard lock(lo_mutex_);
  LoState s = state_.load();
  if (s != LoState::Bound && s != LoState::Rundown)
    return -ENOENT;  // the group is removed at teardown
  uint32_t flags = lo_flags_.load();
  if (attr == "loop/backing_file") {
    out = (backing_ ? backing_->sysfs_path() : std::string()) + "\n";
    return 0;
  }
  if (attr == "loop/offset") return num(static_cast<uint64_t>(lo_offset_));
  if (attr == "loop/sizelimit") return num(static_cast<uint64_t>(lo_sizelimit_));
  if (attr == "loop/autoclear") return num((flags & LO_FLAGS_AUTOCLEAR) ? 1 : 0);
  if (attr == "loop/partscan") return num((flags & LO_FLAGS_PARTSCAN) ? 1 : 0);
  if (attr == "loop/dio") return num((flags & LO_FLAGS_DIRECT_IO) ? 1 : 0);
  return -ENOENT;
}

// ---- the request path (runs on worker threads) -------------------------------------------

namespace {

// How far a request got on the backing file.
struct Transfer {
  uint64_t done = 0;      // bytes moved
  uint64_t file_off = 0;  // where the next backing access starts, from the request's position
  int error = 0;          // the backing file's error that stopped it (0: EOF or done)
};

// Moves the request's bytes to or from the backing file at `pos`, through `bounce`
// unless it is empty. A kiocb read advances by whole sectors only (see below).
Transfer transfer(OpenFile& file, const Request& rq, int64_t pos, IoMode mode, bool kiocb_read,
                  std::span<uint8_t> bounce) {
  Transfer t;
  std::array<iovec, kMaxSegments> iov;
  while (t.done < rq.bytes) {
    int n = 1;
    if (!bounce.empty())
      iov[0] = iovec{bounce.data() + t.done, rq.bytes - t.done};
    else
      n = iov_cursor(rq, t.done, iov);
    int64_t got =
        file.backing_io(rq.op, iov.data(), n, pos + static_cast<int64_t>(t.file_off), mode);
    if (got < 0) {
      t.error = static_cast<int>(got);
      break;
    }
    if (got == 0) break;  // EOF (read) or no progress (write)
    t.done += static_cast<uint64_t>(got);
    t.file_off += kiocb_read ? static_cast<uint64_t>(got) / kSectorSize * kSectorSize
                             : static_cast<uint64_t>(got);
  }
  return t;
}

// A write request's status. Any backing error or a short write (a full disk) is
// EIO to the caller, but for ENOSPC from a lower block device on the kiocb path
// (loop DIO, or 6.12+'s buffered kiocbs), whose BLK_STS_NOSPC an O_DIRECT writer
// sees as ENOSPC (6.18.44, 6.12.117; 6.1.0-56 with loop DIO only: gen-7701-0253),
// and a lower device's refusal of a misaligned direct write, as for reads
// (BLK_STS_INVAL where `einval_status`).
RequestResult write_result(int error, uint64_t done, uint64_t bytes, IoMode mode,
                           bool einval_status) {
  if (error == -ENOSPC && mode != IoMode::AsOpened) return {-ENOSPC, done};
  if (error == -EINVAL && mode == IoMode::Direct) return {einval_status ? -EINVAL : -EIO, done};
  if (error != 0 || done < bytes) return {-EIO, done};
  return {0, bytes};
}

}  // namespace

// A discard or write-zeroes request becomes a fallocate on the backing file.
RequestResult LoopDevice::discard_request(const Request& rq, OpenFile& file, int64_t pos) {
  if (!discard_supported_) return {-EOPNOTSUPP, 0};
  // lo_fallocate: a discard, or write-zeroes without REQ_NOUNMAP, punches.
  const bool punch = rq.op == ReqOp::Discard || rq.may_unmap;
  int mode = FALLOC_FL_KEEP_SIZE | (punch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
  int err = file.backing_fallocate(mode, pos, static_cast<int64_t>(rq.bytes));
  if (err == -EOPNOTSUPP) {
    if (profile_.discard_disabled_on_eopnotsupp) discard_supported_ = false;
    return {-EOPNOTSUPP, 0};
  }
  return {err == 0 ? 0 : -EIO, err == 0 ? rq.bytes : 0};
}

RequestResult LoopDevice::handle_request(const Request& rq, std::span<uint8_t> bounce) {
  // loop_queue_rq refuses anything but a Bound device (Rundown included).
  if (state_.load() != LoState::Bound) return {-EIO, 0};
  OpenFile& file = *backing_;
  const int64_t pos = arith::backing_position<uint64_t, int64_t>(rq.sector, lo_offset_);
  switch (rq.op) {
    case ReqOp::Flush:
      return {file.fsync() == 0 ? 0 : -EIO, 0};
    case ReqOp::Discard:
    case ReqOp::WriteZeroes:
      return discard_request(rq, file, pos);
    case ReqOp::Read:
    case ReqOp::Write:
      break;
  }

  const bool dio = (lo_flags_.load() & LO_FLAGS_DIRECT_IO) != 0;
  const IoMode mode =
      dio ? IoMode::Direct
          : (profile_.backing_odirect_honoured_without_dio ? IoMode::AsOpened : IoMode::Buffered);
  // O_DIRECT needs aligned memory; page-cache pages are, a caller's buffer may not be.
  const bool use_bounce = mode == IoMode::Direct && !aligned_for_dio(rq, pos);
  assert(rq.bytes <= bounce.size());
  const bool is_read = rq.op == ReqOp::Read;
  // 6.1's lo_read_simple goes through vfs_iter_read, which wants FMODE_READ; its
  // DIO path (lo_rw_aio) calls ->read_iter directly and checks nothing (6.1.192
  // in QEMU: an O_DIRECT 512-byte read of a device in DIO mode over a write-only
  // file returned the file's data).
  if (is_read && !dio && profile_.backing_io_checks_file_mode && !file.readable()) {
    zero_from(rq, 0);
    return {-EIO, 0};
  }
  if (use_bounce && !is_read) gather(rq, bounce.data());

  // The kiocb path (direct I/O on every release, buffered I/O on 6.12.25+/6.15+):
  // lo_complete_rq advances a short read by the whole sectors it returned
  // (blk_update_request: __sector += bytes >> 9) and requeues the rest, so the
  // retry reads from the start of the sector holding the EOF again.
  const bool kiocb_read =
      is_read && (profile_.read_past_backing_eof_is_eio || mode == IoMode::Direct);
  const auto [done, file_off, error] =
      transfer(file, rq, pos, mode, kiocb_read, use_bounce ? bounce : std::span<uint8_t>{});

  if (is_read) {
    if (use_bounce) {
      std::memset(bounce.data() + done, 0, rq.bytes - done);
      scatter(rq, bounce.data());
    } else {
      zero_from(rq, done);
    }
    // The backing's EINVAL is the request's status (BLK_STS_INVAL), which a direct
    // reader sees: a requeued O_DIRECT read landing on a misaligned buffer, or a
    // lower loop device whose logical blocks grew past the request's alignment
    // (6.18.44: gen-7601-1186).
    if (error == -EINVAL && kiocb_read)
      return {profile_.request_status_einval ? -EINVAL : -EIO, done};
    if (error != 0) return {-EIO, done};
    if (done < rq.bytes) {
      // Hitting the backing EOF: 6.1's buffered VFS helper zero-fills and
      // succeeds; the kiocb path (direct I/O on every release, buffered I/O on
      // 6.12.25+/6.15+) retries the rest, reads nothing, and fails it.
      if (profile_.read_past_backing_eof_is_eio || mode == IoMode::Direct) return {-EIO, done};
      return {0, rq.bytes};
    }
    return {0, rq.bytes};
  }
  return write_result(error, done, rq.bytes, mode, profile_.request_status_einval);
}

// ---- /dev/loopN file operations -------------------------------------------------------------

// DriverProfile's port switches, in DragonOS's order (io_start, io_snapshot,
// translate_io_range): the state, read-only, the range. Linux: none apply.
int LoopDeviceFile::port_io_refusal(uint64_t len, int64_t pos, bool write) const {
  const DriverProfile& profile = device_->profile();
  if (len == 0) return 0;
  if (profile.unbound_io_errno && device_->state() != LoState::Bound)
    return -profile.unbound_io_errno;
  if (write && device_->disk().read_only()) return -profile.read_only_write_errno;
  if (!profile.io_past_capacity_errno) return 0;
  const uint64_t dev_bytes = arith::bytes_of_sectors(device_->disk().capacity_sectors());
  const uint64_t start = static_cast<uint64_t>(pos);
  return start > dev_bytes || len > dev_bytes - start ? -profile.io_past_capacity_errno : 0;
}

int LoopDeviceFile::fsync() {
  const DriverProfile& profile = device_->profile();
  if (profile.unbound_io_errno && device_->state() != LoState::Bound)
    return -profile.unbound_io_errno;
  return device_->disk().fsync(wb_since_);
}

int64_t LoopDeviceFile::read_at(void* buf, uint64_t len, int64_t pos) {
  if (int e = port_io_refusal(len, pos, false)) return e;
  const uint64_t dev_bytes = arith::bytes_of_sectors(device_->disk().capacity_sectors());
  const int64_t n = device_->disk().read(buf, len, pos, opened_direct(), readahead_pages_);
  // filemap_read_folio: a folio this read needed failed (the read ends short of the
  // capacity only then) → shrink_readahead_size_eio, ra_pages /= 4, for good.
  const bool within = pos >= 0 && static_cast<uint64_t>(pos) < dev_bytes && len > 0;
  if (!opened_direct() && within &&
      (n < 0 || static_cast<uint64_t>(n) < std::min(len, dev_bytes - static_cast<uint64_t>(pos))))
    readahead_pages_ /= 4;
  return n;
}

int64_t LoopDeviceFile::write_at(const void* buf, uint64_t len, int64_t pos) {
  if (int e = port_io_refusal(len, pos, true)) return e;
  return device_->disk().write(buf, len, pos, opened_direct(), (flags() & O_SYNC) != 0, &wb_since_);
}

int LoopDeviceFile::getattr(FileAttr& out) const {
  out.dev = kDevtmpfsDev;
  out.ino = kDevInodeBase + static_cast<uint64_t>(device_->number());
  out.rdev = device_->devt();
  out.size = static_cast<int64_t>(arith::bytes_of_sectors(device_->disk().capacity_sectors()));
  return 0;
}

int64_t LoopDeviceFile::backing_io(ReqOp op, const iovec* iov, int iovcnt, int64_t pos,
                                   IoMode mode) {
  // A loop device stacked on this one reads and writes it like any block file.
  bool direct = mode == IoMode::Direct || (mode == IoMode::AsOpened && opened_direct());
  int64_t total = 0;
  for (int i = 0; i < iovcnt; ++i) {
    int64_t n = op == ReqOp::Read ? device_->disk().read(iov[i].iov_base, iov[i].iov_len,
                                                         pos + total, direct, readahead_pages_)
                                  : device_->disk().write(iov[i].iov_base, iov[i].iov_len,
                                                          pos + total, direct, false);
    if (n < 0) return total > 0 ? total : n;
    total += n;
    if (static_cast<uint64_t>(n) < iov[i].iov_len) break;
  }
  return total;
}

}  // namespace loopcheck::inproc
