// The block-layer shim under /dev/loopN: the gendisk's attributes (capacity,
// read-only bits, queue limits), the bdev open count and exclusive claim, the
// page cache that buffered device I/O goes through, the end-of-device and O_DIRECT
// rules of block/fops.c, and the generic block ioctls of block/ioctl.c. Requests
// leave through the RequestQueue to the loop driver.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "inproc/page_arena.h"
#include "inproc/page_index.h"
#include "inproc/request_queue.h"

namespace loopcheck::inproc {

// Bounds the page cache; reaching it writes everything back and drops all pages
// (deterministic, unlike an LRU driven by timing).
inline constexpr uint64_t kMaxCachedPages = 65536;  // 256 MiB

struct CacheStats {
  uint64_t pages = 0, dirty = 0;
  uint64_t read_misses = 0;  // pages read in from the device
  uint64_t pages_written_back = 0;
};

// The open file an ioctl or a fallocate comes through: its FMODE_WRITE and
// FMODE_EXCL (truncate_bdev_range claims the device unless the file holds it).
struct BdevCaller {
  bool writable = false;
  bool excl = false;
};

// A generic block ioctl's result, or "not mine: pass it to the driver".
struct BlockIoctlResult {
  bool handled = false;
  long ret = 0;
};

// A file's f_wb_err: the writeback error sequence it has seen. `epoch` counts
// teardowns, which forget unreported errors (BlockDevice::forget_wb_errors).
struct WbErrSince {
  uint32_t epoch = 0;
  uint32_t seq = 0;
};

// The sectors of a page that its bytes [from, to) touch (from < to <= kPageSize).
SectorMask sectors_of(uint64_t from, uint64_t to);

class BlockDevice {
 public:
  BlockDevice();
  ~BlockDevice();
  BlockDevice(const BlockDevice&) = delete;
  BlockDevice& operator=(const BlockDevice&) = delete;

  RequestQueue& queue() { return queue_; }

  uint64_t capacity_sectors() const { return capacity_.load(); }
  void set_capacity(uint64_t sectors) { capacity_.store(sectors); }
  // set_disk_ro(): the disk's bit, which bind sets and nothing clears.
  void set_disk_ro(bool ro) { disk_ro_.store(ro); }
  bool read_only() const { return disk_ro_.load() || policy_ro_.load(); }
  uint32_t logical_block_size() const { return lbs_.load(); }
  uint32_t physical_block_size() const { return lbs_.load(); }
  uint32_t io_min() const { return lbs_.load(); }
  // The loop driver sets logical = physical = io_min together.
  void set_block_size(uint32_t bs) { lbs_.store(bs); }
  // queue/rotational, which a bind sets from the backing device, and the bdi's
  // read-ahead (blk_apply_bdi_limits): twice max_sectors once rotational, and it
  // never comes down. An opener's readahead takes the value at its open.
  bool rotational() const { return rotational_.load(); }
  void set_rotational(bool on, bool raises_readahead);
  uint32_t read_ahead_kb() const { return read_ahead_kb_.load(); }
  // A queue without a volatile write cache completes flushes in the block layer:
  // they never reach the driver (so a never-bound device fsyncs fine).
  void set_write_cache(bool on) { write_cache_.store(on); }
  // DriverProfile::bind_rescans_at_next_open: a bind marks the disk, the next
  // open writes back and drops the cache.
  void set_rescan_at_next_open(bool on) { rescan_at_next_open_.store(on); }
  bool rescan_at_next_open() const { return rescan_at_next_open_.load(); }
  // DriverProfile::unaligned_bios_refused.
  void set_unaligned_bios_refused(bool on) { unaligned_bios_refused_.store(on); }
  // queue/discard_granularity and the discard (= write-zeroes) limit in sectors,
  // which the driver sets at bind; and DriverProfile::discard_range_validated_first.
  uint32_t discard_granularity() const { return discard_granularity_.load(); }
  uint32_t discard_max_sectors() const { return discard_max_sectors_.load(); }
  void set_discard_limits(uint32_t max_sectors, uint32_t granularity) {
    discard_max_sectors_.store(max_sectors);
    discard_granularity_.store(max_sectors != 0 ? granularity : 0);
  }
  void set_discard_range_validated_first(bool on) { discard_range_validated_first_.store(on); }
  // blkdev_fallocate (after vfs_fallocate's checks): fallocate(2) on the device,
  // and how a loop device stacked on this one discards or zeroes through it.
  int fallocate_range(int mode, int64_t start, int64_t len, bool caller_excl);

  // blkdev_open / blkdev_release bookkeeping. `holder` is the file claiming the
  // bdev exclusively (O_EXCL), or nullptr.
  int open(const void* excl_holder);
  // Returns true when this was the last opener: then the page cache has been
  // written back and dropped, and the driver's release must run.
  bool release(const void* excl_holder);
  int openers() const { return openers_.load(); }
  // bd_prepare_to_claim for a transient claim by `who` (nullptr = an anonymous
  // in-kernel claimer): EBUSY when a different holder has it.
  bool claimed_by_other(const void* who) const;
  // A file holds the whole disk exclusively (a partition's claim does not count).
  bool held_exclusively() const;
  // An O_EXCL partition open claims the whole disk for partitions
  // (whole->bd_holder = bd_may_claim): the disk's own exclusive claims and the
  // driver's transient ones are then EBUSY; sibling partitions may still claim.
  void note_partition_claim(bool claimed);

  // block/fops.c read_iter / write_iter / fsync for /dev/loopN.
  // `readahead_pages`: the reading file's ra_pages (taken at its open).
  int64_t read(void* buf, uint64_t len, int64_t pos, bool direct, uint64_t readahead_pages);
  // `since`: the writing file's f_wb_err, which an O_SYNC write checks.
  int64_t write(const void* buf, uint64_t len, int64_t pos, bool direct, bool sync,
                WbErrSince* since = nullptr);
  int fsync(WbErrSince& since);
  // filemap_sample_wb_err() at blkdev_open.
  WbErrSince sample_wb_err();
  // Teardown: an error no fsync reported is gone (see block_device.cpp).
  void forget_wb_errors();
  // sync_blockdev(): write back dirty pages. -EIO if any writeback failed.
  int sync();
  // invalidate_bdev()/kill_bdev(): drop every cached page.
  void invalidate();

  BlockIoctlResult common_ioctl(unsigned long cmd, unsigned long arg, BdevCaller caller,
                                bool cap_sys_admin);

  CacheStats cache_stats() const;

 private:
  bool pages_smaller_than_blocks() const;
  int read_in_missing_locked(uint64_t readahead_pages, uint64_t dev_bytes);
  static uint64_t init_readahead_pages(uint64_t req_pages, uint64_t max_pages);
  int issue_flush();
  uint8_t* alloc_page_locked();
  void free_page_locked(uint8_t* p);
  uint64_t page_bytes(uint64_t index, uint64_t dev_bytes) const;
  void retry_failed_locked(uint64_t first, uint64_t last, uint64_t dev_bytes);
  int read_in_locked(const std::vector<uint64_t>& indices, uint64_t dev_bytes,
                     std::vector<uint64_t>* failed);
  void fail_runs_with_a_failed_page(const std::vector<uint64_t>& indices);
  int writeback_locked(uint64_t first_page, uint64_t last_page);
  int sync_written_locked(uint64_t first_page, uint64_t last_page, WbErrSince* since);
  void drop_range_locked(uint64_t first_page, uint64_t last_page);
  // BLKDISCARD / BLKZEROOUT (inproc/discard_range.cpp).
  long discard_or_zero_range(ReqOp op, const void* user, BdevCaller caller);
  long discard_validated_first(const void* user, BdevCaller caller);
  long discard_truncating_first(const void* user, BdevCaller caller);
  long zero_range(const void* user, BdevCaller caller);
  long submit_range(ReqOp op, uint64_t start, uint64_t len, bool may_unmap = false);
  int truncate_bdev_range(uint64_t start, uint64_t last, bool caller_excl);
  int invalidate_pages(uint64_t first_page, uint64_t last_page);
  void truncate_range(uint64_t start, uint64_t end);
  void make_room_locked();
  int64_t direct_io(ReqOp op, uint8_t* buf, uint64_t len, int64_t pos);
  int read_partial_folios_locked(uint64_t upos, uint64_t dev_bytes, uint64_t* len);
  int read_partial_buffers_locked(uint64_t upos, uint64_t dev_bytes, uint64_t* len);
  void read_partly_cached_pages_locked(uint64_t upos, uint64_t len, uint64_t dev_bytes);
  SectorMask buffers_of(uint64_t from, uint64_t to) const;
  bool up_to_date_locked(uint64_t index, uint64_t dev_bytes);
  int read_buffers_locked(uint64_t index, SectorMask want, uint64_t dev_bytes);
  bool queue_dirty_runs_locked(uint64_t index, CachedPage& page, uint64_t dev_bytes,
                               uint64_t refused_from);
  bool clip_to_whole_blocks_locked(uint64_t dev_bytes, uint64_t pos, uint64_t* len);

  RequestQueue queue_;
  std::atomic<uint64_t> capacity_{0};
  std::atomic<bool> disk_ro_{false};
  std::atomic<bool> policy_ro_{false};  // BLKROSET (bdev->bd_read_only)
  std::atomic<bool> write_cache_{false};
  std::atomic<bool> unaligned_bios_refused_{true};
  std::atomic<bool> rescan_at_next_open_{false};
  std::atomic<uint32_t> discard_granularity_{0};
  std::atomic<uint32_t> discard_max_sectors_{0};
  std::atomic<bool> discard_range_validated_first_{true};
  std::atomic<uint32_t> lbs_{512};
  std::atomic<bool> rotational_{false};
  std::atomic<uint32_t> read_ahead_kb_{128};
  std::atomic<uint32_t> soft_block_size_{512};  // BLKBSZGET, set at first open

  mutable std::mutex open_mu_;
  std::atomic<int> openers_{0};
  const void* holder_ = nullptr;
  int partition_claims_ = 0;  // O_EXCL partition openers (guarded by open_mu_)

  mutable std::mutex cache_mu_;  // the bdev inode's mapping
  PageArena arena_;              // declared before pages_: the index points into it
  PageIndex pages_;
  // The mapping's errseq (mapping_set_error): bumped per failed writeback.
  uint32_t wb_err_ = 0;
  bool wb_err_seen_ = false;
  uint32_t wb_epoch_ = 0;
  void set_wb_error_locked();
  bool wb_error_reported_locked(WbErrSince& since);
  CacheStats stats_;
  std::vector<Bio> bios_;  // reused per batch, not reallocated per call
  std::vector<Completion> completions_;
  std::vector<uint64_t> missing_, failed_, one_page_;  // reused by read() and write()
  // Readahead state (the kernel keeps it per open file; one per device here, reset
  // when the device is first opened): the page holding the end of the last
  // buffered read, for page_cache_sync_ra's "sequential" (unsigned index - prev <= 1).
  static constexpr uint64_t kNoPage = UINT64_MAX;
  uint64_t ra_prev_page_ = kNoPage;
  // Blocks larger than the pages (pages_smaller_than_blocks): pages whose read-in
  // was refused. The kernel keeps such a folio in the cache, not up to date, so a
  // later read reaching it reads that one page (->read_folio, refused again)
  // instead of reading ahead, and readahead runs stop at it (probe p8 on 6.18.44).
  std::set<uint64_t> refused_pages_;
  bool refused_first_locked(uint64_t first, uint64_t last);
};

}  // namespace loopcheck::inproc
