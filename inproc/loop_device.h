// One loop device (struct loop_device): its lifecycle state, the configuration
// userspace sets through lo_ioctl, the backing file it maps sectors to, and the
// request handler its worker threads run (loop_queue_rq + lo_rw_aio).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "inproc/block_device.h"
#include "inproc/partition_scan.h"
#include "inproc/file.h"
#include "inproc/driver_profile.h"
#include "inproc/uapi.h"
#include "inproc/uevent_bus.h"

namespace loopcheck::inproc {

// Facts about the machine the driver pretends to run on (module parameters,
// caller credentials, kernel config).
struct DriverConfig {
  uint32_t precreated = 8;       // max_loop devices created at init
  bool cap_sys_admin = true;     // the caller's capability
  bool thp = true;               // CONFIG_TRANSPARENT_HUGEPAGE
  uint32_t max_part = 0;         // > 0 forces PARTSCAN at bind
  bool msdos_partitions = true;  // CONFIG_MSDOS_PARTITION: scans read MBR tables
  int workers_per_device = 1;
};

enum class LoState : uint8_t { Unbound, Bound, Rundown, Deleting };

class LoopDevice final : public RequestHandler {
 public:
  LoopDevice(int number, const DriverProfile& profile, const DriverConfig& config,
             UeventBus& uevents);
  ~LoopDevice() override;

  int number() const { return number_; }
  LoState state() const { return state_.load(); }
  const DriverProfile& profile() const { return profile_; }
  bool cap_sys_admin() const { return config_.cap_sys_admin; }
  BlockDevice& disk() { return disk_; }
  const BlockDevice& disk() const { return disk_; }
  // 7:N in the userspace dev_t encoding.
  uint64_t devt() const;

  // lo_open / blkdev_open: -ENXIO in Rundown or Deleting (6.11+), -EBUSY when
  // an O_EXCL open meets another holder.
  int open(const OpenFile* file);
  // blkdev_release + lo_release. Runs the autoclear / deferred teardown on the
  // last close.
  void release(const OpenFile* file);
  // The whole disk's part of an open / release, also under a partition's.
  int open_whole(const void* excl_holder);
  void release_whole(const void* excl_holder);

  // blkdev_ioctl → lo_ioctl. `file` is the /dev/loopN file the ioctl came through.
  long ioctl(const OpenFile& file, const FileTable& files, unsigned long cmd, unsigned long arg);

  // /sys/block/loopN/ATTR (with the kernel's trailing newline); -ENOENT if absent.
  int sysfs_show(std::string_view attr, std::string& out) const;

  // ---- partitions (loop_partitions.cpp) ----
  // blkdev_get_part: the node exists while the partition does (-ENOENT), then
  // the partition's claim and the whole disk's open. 0 or -errno.
  int open_partition(const OpenFile* file, int part);
  void release_partition(const OpenFile* file, int part);
  // The partition as it is now (absent: present = false).
  PartitionSlot partition(int part) const;
  // /sys/block/loopN/loopNpK/ATTR.
  int partition_sysfs_show(int part, std::string_view attr, std::string& out) const;
  bool partition_read_only(int part) const;
  // BLKROSET on a partition (its own bd_read_only).
  void set_partition_read_only(int part, bool ro);
  // BLKRRPART from the whole disk's file (`part` 0) or a partition's.
  long reread_partition_table(const OpenFile& file, int part);

  // ---- uevents (loop_uevents.cpp) ----
  // add_disk's and del_gendisk's (a `remove` per partition first).
  void announce_added();
  void announce_removed();

  // loop_control's view: remove only what nobody uses.
  // Returns 0 and marks the device Deleting, or -EBUSY.
  int mark_deleting();
  // Module exit: unbind whatever is still bound. Returns the backing file for the
  // caller to drop once every device has been unbound.
  std::shared_ptr<OpenFile> shutdown();

  RequestResult handle_request(const Request& rq, std::span<uint8_t> bounce) override;

 private:
  long configure(const OpenFile& file, const FileTable& files, const loop_config& cfg);
  long clr_fd(std::unique_lock<std::mutex>& lock);
  long set_status(const OpenFile& file, const loop_info64& info);
  void reread_partitions();
  // bdev_disk_changed's drop and add: -EBUSY (nothing changes) while a
  // partition is open, else the parser's view of the table sector now.
  int scan_partitions();
  // loop_reread_partitions after a bind or SET_STATUS turning PARTSCAN on.
  void rescan_partitions();
  bool partition_open_locked() const;
  long get_status(loop_info64& out);
  long set_status_old(const OpenFile& file, const void* user);
  long get_status_old(void* user);
  long change_fd(const FileTable& files, unsigned long arg);
  // change_fd under its suppressed uevents: the checks and the switch.
  long switch_backing(std::shared_ptr<OpenFile> file);
  long set_capacity();
  // kobject_uevent of the disk (dropped while suppressed) and of a partition
  // (an `add` is dropped while the disk is suppressed, a `remove` never).
  void disk_uevent(UeventAction action, UeventDetail detail = UeventDetail::None);
  void partition_uevent(UeventAction action, int part);
  // loop_set_size: the new capacity and one `change` (RESIZE=1 between two
  // non-zero sizes, set_capacity_and_notify).
  void set_size_and_notify(uint64_t capacity_sectors);
  // bdev_disk_changed's drop: a `remove` per partition, then none are left.
  void drop_partitions_locked();
  long set_direct_io(unsigned long arg);
  long set_block_size(const OpenFile& file, unsigned long arg);

  // Checks shared by SET_FD, CONFIGURE and CHANGE_FD.
  int validate_backing(const OpenFile& file) const;
  bool iter_ok(const OpenFile& file) const;
  uint64_t compute_capacity(const OpenFile& backing, int64_t offset, int64_t sizelimit) const;
  static uint32_t min_dio_size(const OpenFile& backing);
  uint32_t default_block_size(const OpenFile& backing, bool dio_requested) const;
  uint32_t max_block_size() const;
  bool dio_possible(const OpenFile& backing, uint32_t block_size, int64_t offset) const;
  // loop_update_dio: DIO stays on only if `requested` and possible now.
  void update_dio(bool requested);
  // __loop_clr_fd: back to Unbound. The backing file reference is handed to the
  // caller to drop after lo_mutex is released (a stacked device's release may
  // run from that drop).
  std::shared_ptr<OpenFile> teardown();
  RequestResult discard_request(const Request& rq, OpenFile& file, int64_t pos);
  void configure_discard();  // the queue's discard limits from the backing file
  void update_rotational(const OpenFile& backing);  // at a bind

  const int number_;
  const DriverProfile& profile_;
  const DriverConfig& config_;
  UeventBus& uevents_;
  // dev_set_uevent_suppress of the disk: on while LOOP_CONFIGURE and
  // LOOP_CHANGE_FD reconfigure; a LOOP_CONFIGURE whose block size fails leaves it on.
  std::atomic<bool> uevents_suppressed_{false};
  BlockDevice disk_;

  mutable std::mutex lo_mutex_;
  std::atomic<LoState> state_{LoState::Unbound};
  // Written only with the queue frozen or stopped, so workers read them unlocked.
  std::atomic<uint32_t> lo_flags_{0};
  int64_t lo_offset_ = 0;
  // lo_min_dio_size (DioRule::MinDioAlign): noted at the bind, never refreshed.
  uint32_t lo_min_dio_size_ = kSectorSize;
  int64_t lo_sizelimit_ = 0;
  std::array<char, LO_NAME_SIZE> lo_file_name_{};
  std::shared_ptr<OpenFile> backing_;
  bool discard_supported_ = true;
  // Guarded by lo_mutex_: the partitions a scan found, their openers, the
  // exclusive holder of each, and BLKROSET on each.
  PartitionSlots parts_{};
  std::array<int, kMaxPartitions> part_openers_{};
  std::array<const void*, kMaxPartitions> part_holder_{};
  std::array<bool, kMaxPartitions> part_ro_{};
};

// What /dev/loopN and /dev/loopNpK share as open files: a block device of the
// loop disk, read and written through its iterators, O_DIRECT-capable at the
// disk's logical block size.
class LoopBlockFile : public OpenFile {
 public:
  LoopBlockFile(FileKind kind, std::shared_ptr<LoopDevice> device, int flags)
      : OpenFile(kind, flags), device_(std::move(device)) {}

  LoopDevice& device() const { return *device_; }

  bool has_read_iter() const override { return true; }
  bool has_write_iter() const override { return true; }
  bool is_regular_or_block() const override { return true; }
  bool can_odirect() const override { return true; }
  uint32_t dio_offset_align() const override { return device_->disk().logical_block_size(); }
  uint32_t backing_bdev_block_size() const override { return device_->disk().logical_block_size(); }

 protected:
  std::shared_ptr<LoopDevice> device_;
  bool opened_ = false;  // the open succeeded: the release runs at the end
  WbErrSince wb_since_;  // f_wb_err
};

// An open file description of /dev/loopN.
class LoopDeviceFile final : public LoopBlockFile {
 public:
  LoopDeviceFile(std::shared_ptr<LoopDevice> device, int flags)
      : LoopBlockFile(FileKind::LoopDevice, std::move(device), flags) {}
  ~LoopDeviceFile() override {
    if (opened_) device_->release(this);
  }
  // blkdev_open: 0, or -errno (then the file is dead and its release never runs).
  int open() {
    int err = device_->open(this);
    opened_ = err == 0;
    if (opened_) wb_since_ = device_->disk().sample_wb_err();
    // file_ra_state_init: the bdi's read-ahead as it is now.
    readahead_pages_ = device_->disk().read_ahead_kb() * uint64_t{1024} / kPageSize;
    return err;
  }

  int64_t read_at(void* buf, uint64_t len, int64_t pos) override;
  int64_t write_at(const void* buf, uint64_t len, int64_t pos) override;
  int fsync() override;
  int getattr(FileAttr& out) const override;
  std::string sysfs_path() const override {
    return "/dev/loop" + std::to_string(device_->number());
  }
  int64_t backing_io(ReqOp op, const iovec* iov, int iovcnt, int64_t pos, IoMode mode) override;
  int backing_fallocate(int mode, int64_t pos, int64_t len) override {
    return device_->disk().fallocate_range(mode, pos, len, opened_excl());
  }
  LoopDevice* loop_device() const override { return device_.get(); }

 private:
  int port_io_refusal(uint64_t len, int64_t pos, bool write) const;

  uint64_t readahead_pages_ = 32;  // f_ra.ra_pages
};

}  // namespace loopcheck::inproc
