// Internal to model/: the step function's working context and the helpers the
// per-area files (lifecycle, ioctl, io, sysfs) share. Not part of the public API.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>

#include "model/arith.h"
#include "model/content.h"
#include "model/profile.h"
#include "model/allocation.h"
#include "model/state.h"
#include "trace/trace.h"

namespace loopcheck::model {

// The backing filesystem's largest file (s_maxbytes): ext4 with 4 KiB blocks,
// ext4_max_size() = (2^32 - 1) blocks, on the host and in the VMs alike. Probe
// h1 on 6.18.44: a write ending past it is cut short, one starting at it is
// EFBIG, truncate to one byte more is EFBIG
// (common/file_max_size_efbig.trace).
inline constexpr uint64_t kBackingMaxFileBytes = (uint64_t{1} << 44) - 4096;

// The result of a read at one layer (device, stacked device, file): either an errno
// or a byte count plus the runs describing the bytes.
struct ReadResult {
  int err = 0;
  uint64_t count = 0;
  bool known = true;
  int also_err = 0;        // envelope (see Outcome::also_err)
  uint64_t min_count = 0;  // envelope: counts down to this one too (Outcome::min_value)
  // The rules that set also_err, min_count and known = false (Outcome::err_rule...).
  EnvelopeRule err_rule = EnvelopeRule::None;
  EnvelopeRule count_rule = EnvelopeRule::None;
  EnvelopeRule data_rule = EnvelopeRule::None;
  // known = false for `why`, keeping the first reason found.
  void unknown(EnvelopeRule why) {
    known = false;
    if (data_rule == EnvelopeRule::None) data_rule = why;
  }
};

// A buffered read of a device whose blocks outgrew its cache's folios
// (outgrown_cache.cpp): where it ends and what it left in the cache.
struct OutgrownRead {
  enum class Kind : uint8_t { Unknown, Decided };
  Kind kind = Kind::Unknown;
  uint64_t stop = 0;                      // the read returns [start, stop); stop <= start: EIO
  uint64_t failed_lo = 0, failed_hi = 0;  // folios whose read was refused stay cached
  uint64_t read_in_hi = 0;                // readahead brought [0, read_in_hi) in
  bool may_have_read_ahead = false;       // a failed folio's readahead mark may have fired
};

// Device bytes [from, to) a writer supplies whole (a stacked upper device's
// writeback: whole soft blocks); a block inside them needs no read-modify-write.
struct SuppliedSpan {
  uint64_t from = 0;
  uint64_t to = 0;
  bool covers(uint64_t block, uint64_t block_end) const {
    return from < to && from <= block && block_end <= to;
  }
};

// The request a device read came in: where it ends (a stacked upper device's
// readahead sends more than its reader asked for; kRequestEndUnknown when the
// model cannot tell) and the read-ahead of the file it reads through.
struct ReadRequest {
  uint64_t end = 0;
  uint64_t readahead_pages = 0;
};

// What a partition scan reads in a device's table sector (model/partitions.cpp).
enum class TableSector : uint8_t { NoTable, Declared, Unknown };

// An object's declared MBR: its slots and the table run over its first sector.
void place_mbr(Object& o, const PartitionTable& mbr);

struct Machine {
  State& s;
  const Profile& p;
  const Env& env;
  // What a target returned for this step, when one ran it first (model.h): it
  // settles which branch of an envelope the state follows. nullptr: none did.
  const Outcome* observed = nullptr;
  // Concurrent blocks (model/concurrency.h): a teardown or removal the kernel does
  // after dropping its locks is left pending on the device instead of done now.
  bool split = false;
  // The device whose work this step left pending; UINT32_MAX: none (yet).
  uint32_t deferred_device = UINT32_MAX;
  // The open's checks passed in an earlier micro-step (model/concurrency.h).
  bool open_checked = false;

  // Tears `dev` down now, or marks it Rundown with the teardown pending (split).
  void teardown_or_defer(Device& dev, Pending kind);

  // ---- lookups
  Desc* desc_by_fd(uint64_t fd);
  int desc_index(const Desc& d) const { return static_cast<int>(&d - s.descs.data()); }
  Device* device(uint32_t index);
  Device* lower_device(const Device& dev);  // the loop device `dev` is bound to, or nullptr
  uint32_t openers(uint32_t index) const;
  bool held_exclusively_by_other(uint32_t index, const Desc* except) const;
  uint32_t part_shift() const;

  // ---- uevents (uevents.cpp)
  void send_uevent(const Device& dev, UeventAction action, uint8_t part = 0,
                   UeventDetail detail = UeventDetail::None);
  void send_size_uevent(const Device& dev, uint64_t old_capacity);  // loop_set_size
  void send_partition_removes(const Device& dev);                   // bdev_disk_changed's drop
  void uevents_not_followed();  // the next `uevents` is not predicted
  Outcome uevents();

  // ---- lifecycle (lifecycle.cpp)
  Device* create_device(uint32_t index);  // nullptr when the table is full
  void remove_device(uint32_t index);
  Outcome open(const Op& op);
  Outcome pwrite_file(Desc& d, uint64_t start, uint64_t len, bool direct, uint32_t seed);
  uint32_t default_block_size(const Desc& file, bool dio_flag) const;  // at a bind
  int open_loop(const Op& op, Desc& d);  // its loop-device part: 0 or an errno
  int open_loop_refusal(const Op& op);   // its checks alone: 0 or an errno
  int port_io_refusal(const Device& dev, uint64_t start, uint64_t len, bool write) const;
  Outcome close(const Op& op);
  void release_desc(int desc);  // drop one reference (fd close or holder release)
  void last_close(uint32_t index);
  void teardown(Device& dev);
  bool flush_dirty(Device& dev);  // false: some dirty data could not be written
  void note_wb_error(Device& dev);
  void keep_refused_pages(Device& dev, const Extent& x);  // a refused writeback's bytes
  bool keep_refused_last_block(Device& dev, const Extent& x, uint64_t a, uint64_t* z);
  void keep_rundown_pages(Device& dev, const ExtentList& dirty);
  void keep_held(Device& dev, const Extent& x);
  void write_block_straddling_capacity(Device& dev, const ExtentList& past_end);
  ExtentList hold_past_capacity(Device& dev, const ExtentList& dirty);
  void fsync_backing_file(Desc& file);  // vfs_fsync of a backing file, result ignored
  // cached_bytes.cpp: what clean cached folios hold, without a request.
  static bool pages_surely_cached(const Device& dev, uint64_t a, uint64_t z);  // whole pages
  ReadResult read_cached(const Device& dev, uint64_t a, uint64_t z, DataBuilder& out) const;
  void resize_keeping_cache(Device& dev, uint64_t new_capacity_sectors);  // LOOP_SET_CAPACITY
  void hold_past_new_end(Device& dev, uint64_t old_end, uint64_t grain);
  bool emit_cached_backing(const Device& dev, uint64_t a, uint64_t z, DataBuilder& out) const;
  bool emit_device_bytes(const Device& dev, uint64_t a, uint64_t z, DataBuilder& out) const;
  uint64_t refused_writeback_from(const Device& dev) const;  // device byte
  uint64_t written_back_until(const Device& dev) const;      // device byte
  bool wb_error_reported(Desc& fd, Device& dev);
  // The same for the dirty bytes in [a, z) only (an O_SYNC write's range).
  bool flush_dirty_range(Device& dev, uint64_t a, uint64_t z);
  void drop_cache(Device& dev);

  // The device's write cache as far as the model knows it: 0, 1 or
  // kWriteCacheUnknown. A device that existed before the trace was either never
  // bound (no write cache) or torn down: 6.1 turns the cache off at teardown, so
  // there it is off either way (linux-6.1/fsync_write_cache_off_after_teardown.trace);
  // 6.12+ leave it on, and whether the device was bound before is its history.
  uint8_t write_cache(const Device& dev) const {
    return dev.write_cache == kWriteCacheUnknown && p.write_cache_cleared_on_teardown
               ? 0
               : dev.write_cache;
  }

  // ---- backing-file facts
  uint64_t backing_size(const Device& dev) const;  // bytes, now
  uint64_t capacity_for(uint64_t backing_bytes, uint64_t offset, uint64_t sizelimit) const;
  bool can_odirect(const Desc& backing) const;
  uint32_t backing_bdev_block_size(const Desc& backing) const;  // 0 = none
  uint32_t min_dio_align(const Desc& backing) const;
  // 6.15+ logical blocks larger than the folios the device's page cache was set
  // up with at its first open: page-sized requests are refused (docs/semantics.md §11.9).
  // Where buffered I/O stops when the capacity is not a whole number of logical
  // blocks: the folio holding the partial last block can be neither read in nor
  // written out (6.12, 6.18: its bios are not whole blocks, unaligned_bios_refused).
  // 6.1 trims such a bio at the device end (guard_bio_eod) and serves it: 6.1.192
  // in QEMU read 3584 bytes at 61440 of a 65024-byte device with 1 KiB blocks and
  // wrote 512 there (linux-6.1/stacked_read_of_partial_last_block.trace). The
  // capacity in bytes when nothing stops it.
  uint64_t buffered_io_end(const Device& dev) const {
    const uint64_t cap = arith::device_bytes(dev.capacity);
    if (cap % dev.block_size == 0 || !p.unaligned_bios_refused) return cap;
    // Logical blocks that outgrew the cache's folios (§11.9): the cache works in
    // pages, and the page holding the end is the one it cannot read in (6.18.44:
    // a 64 KiB write at 0 of a 39936-byte device with 64 KiB blocks wrote 36864).
    if (dev.block_size > std::max<uint64_t>(kPageSize, dev.soft_block_size))
      return cap / kPageSize * kPageSize;
    const uint64_t folio = std::max<uint64_t>(kPageSize, dev.block_size);
    return cap / dev.block_size * dev.block_size / folio * folio;
  }
  // Where buffered I/O stops for good: buffered_io_end, past the folios from
  // there on that are up to date (surely cached, or dirty to the capacity), which
  // need no bio (6.12.117, 6.18.44: after LOOP_SET_CAPACITY cut a 1 KiB-block
  // device to 512 bytes, the page a write had read in still read and took writes;
  // linux-6.18/cached_partial_last_block_serves.trace).
  uint64_t buffered_io_stop(const Device& dev) const {
    const uint64_t cap = arith::device_bytes(dev.capacity);
    uint64_t stop = buffered_io_end(dev);
    while (stop < cap) {
      const uint64_t next = std::min(cap, (stop / kPageSize + 1) * kPageSize);
      if (!surely_cached(dev, stop, next) && !extents_cover(dev.dirty, stop, next)) break;
      stop = next;
    }
    return stop;
  }
  // Some byte of device range [a, z) may be in the page cache.
  // bdev_read_only(): the disk's bit (set_disk_ro) or the bdev's (BLKROSET).
  static bool bdev_read_only(const Device& dev) { return dev.disk_ro || dev.bdev_ro_policy; }
  static bool may_be_cached(const Device& dev, uint64_t a, uint64_t z) {
    return dev.cache_populated && a < dev.cache_hi && z > dev.cache_lo;
  }
  // Every byte of device range [a, z) is in the page cache, up to date.
  static bool surely_cached(const Device& dev, uint64_t a, uint64_t z) {
    return dev.cache_populated && dev.sure_lo <= a && z <= dev.sure_hi;
  }
  // Buffered I/O brought device range [a, z) into the page cache (or may have).
  static void note_cached(Device& dev, uint64_t a, uint64_t z) {
    if (a >= z) return;
    dev.refused_reads_only = 0;  // a read-in may have worked (callers that know restore it)
    if (!dev.cache_populated || dev.cache_lo == dev.cache_hi) {
      dev.cache_lo = a;
      dev.cache_hi = z;
    } else {
      dev.cache_lo = std::min(dev.cache_lo, a);
      dev.cache_hi = std::max(dev.cache_hi, z);
    }
    dev.cache_populated = 1;
  }
  // The page cache holds nothing any more (orphaned dirty pages aside).
  static void forget_cache(Device& dev) {
    dev.cache_populated = dev.orphan_dirty;
    if (!dev.orphan_dirty) dev.cache_lo = dev.cache_hi = 0;
    if (!dev.orphan_dirty) dev.refused_reads_only = 1;
    dev.refused_page = kNoPage;
    forget_cached_bytes(dev);
  }
  // Nothing is surely cached, and no old bytes are held.
  static void forget_cached_bytes(Device& dev) {
    dev.cached_past_eof = 0;
    dev.sure_lo = dev.sure_hi = dev.stale_lo = dev.stale_hi = 0;
    dev.held = ExtentList{};
  }
  // A buffered read or write went through the folios at device bytes [a, z): they
  // are in the cache now. A range not touching the last one replaces it.
  static void note_sure(Device& dev, uint64_t a, uint64_t z) {
    if (a >= z) return;
    if (dev.sure_lo < dev.sure_hi && a <= dev.sure_hi && z >= dev.sure_lo) {
      dev.sure_lo = std::min(dev.sure_lo, a);
      dev.sure_hi = std::max(dev.sure_hi, z);
    } else {
      dev.sure_lo = a;
      dev.sure_hi = z;
    }
  }
  // The backing changed under everything the cache may hold: none of it is predicted.
  static void mark_all_stale(Device& dev) {
    if (!dev.cache_populated) return;
    dev.cache_stale = 1;
    dev.stale_lo = dev.cache_lo;
    dev.stale_hi = dev.cache_hi;
  }
  // The backing changed under bytes [a, z) readahead may have cached.
  static void widen_stale(Device& dev, uint64_t a, uint64_t z) {
    if (a >= z) return;
    dev.cache_stale = 1;
    if (dev.stale_lo == dev.stale_hi) {
      dev.stale_lo = a;
      dev.stale_hi = z;
    } else {
      dev.stale_lo = std::min(dev.stale_lo, a);
      dev.stale_hi = std::max(dev.stale_hi, z);
    }
  }
  // Some byte of [a, z) may be stale without the model knowing its old value.
  static bool stale_unknown(const Device& dev, uint64_t a, uint64_t z) {
    return dev.cache_stale && a < dev.stale_hi && z > dev.stale_lo;
  }
  // Some byte of [a, z) is stale and neither dirty nor held: dirty and held bytes
  // are what the cache serves, whatever the backing did under it.
  static bool stale_bytes_unpinned(const Device& dev, uint64_t a, uint64_t z);
  // Why a buffered read through `dev`'s cache has unpredictable bytes (the first
  // reason compose() checks), or None.
  static EnvelopeRule cache_unknown_rule(const Device& dev, bool past_unaligned_eof) {
    if (dev.cache_stale) return EnvelopeRule::StaleCache;
    if (dev.orphan_dirty) return EnvelopeRule::OrphanedDirtyPages;
    if (dev.dirty.unknown) return EnvelopeRule::MaybeFailedWriteData;
    if (past_unaligned_eof) return EnvelopeRule::ReadPastUnalignedEof;
    return EnvelopeRule::None;
  }
  // A request of the loop driver reading device range [a, z) from a backing file
  // of `backing_end` device bytes, 6.12.25+/6.15+ (read_iter, lo_complete_rq): a
  // read ending short is advanced by the whole sectors it returned and requeued, so
  // a request starting before an EOF that is not sector aligned keeps re-reading
  // the sub-sector tail until it is full and succeeds; one starting at or past the
  // EOF, or meeting a sector-aligned EOF, reads 0 and fails. In DIO mode the
  // requeued read is misaligned: EINVAL, unless the tail lies in a hole (iomap
  // reads holes without a bio, so nothing checks the alignment: 6.18.44 with a
  // sparse backing file). Returns 0, EIO or EINVAL.
  int eof_request_error(const Device& dev, uint64_t a, uint64_t z, uint64_t backing_end) const {
    if (z <= backing_end) return 0;
    if (a >= backing_end || backing_end % kSectorSize == 0) return EIO;
    return dev.dio && !backing_tail_in_hole(dev) ? EINVAL : 0;
  }
  // Values of Device::cached_past_eof: zeros (6.1's zero-filled requests) or
  // bytes the model does not know (the repeated sub-sector tail of an unaligned EOF).
  static constexpr uint8_t kPastEofZeros = 1;
  static constexpr uint8_t kPastEofUnknown = 2;
  // Requests for `dev`'s folios just succeeded (a buffered read, a write's
  // read-in): readahead may have cached folios past the backing EOF with them.
  void note_readahead_past_eof(Device& dev) const;
  // Whether the filesystem block holding the backing file's EOF was never written
  // (no fill, no write): the model's record of allocation.
  bool backing_tail_in_hole(const Device& dev) const;
  bool backing_range_in_hole(const Device& dev, uint64_t a, uint64_t z) const;  // file bytes [a, z)
  static bool object_range_in_hole(const Object& o, uint64_t a, uint64_t z);
  // 6.1: backing I/O at file bytes [pos, pos+len) goes direct (the backing file was
  // opened O_DIRECT, loop DIO is off) and is misaligned for it.
  bool backing_odirect_misaligned(const Device& dev, uint64_t pos, uint64_t len) const;
  // 6.1: a read of device bytes [a, z) the driver sends the backing file is such a
  // misaligned direct read and meets a written block: ext4 refuses it.
  bool misaligned_read_refused(const Device& dev, uint64_t a, uint64_t z) const {
    const uint64_t pa = arith::backing_byte(a, dev.offset), pz = arith::backing_byte(z, dev.offset);
    return backing_odirect_misaligned(dev, pa, z - a) && !backing_range_in_hole(dev, pa, pz);
  }
  // 6.1: every write the driver sends the backing file is such a misaligned direct
  // write (lo_offset itself is misaligned), which ext4 refuses whole (EINVAL).
  bool backing_writes_refused(const Device& dev) const {
    return dev.backing_desc != kNoDesc &&
           backing_odirect_misaligned(dev, arith::backing_byte(uint64_t{0}, dev.offset), kPageSize);
  }
  // Writeback of a block reaching past the backing EOF: the file grows to the
  // block's end (device bytes), its new bytes unknown.
  void extend_backing_unknown(Device& dev, uint64_t dev_end);
  void allocate_written_back(Device& dev, uint64_t a, uint64_t z);
  void mark_backing_unknown(Device& dev);  // the backing's bytes are no longer predicted
  // The bytes of written-back block [a, z) outside `dirty` are no longer predicted.
  void mark_block_rest_unknown(Device& dev, uint64_t a, uint64_t z, const ExtentList& dirty);
  // The clean head [a, z) of a written-back block, where it lay past `eof_before`.
  void mark_block_head_past_eof_unknown(Device& dev, uint64_t a, uint64_t z, uint64_t eof_before);
  // A read the driver of `dev` sends to a stacked lower loop device: 0 it works,
  // 1 it fails unless the lower cache still holds the range, 2 it fails (the lower
  // device is not Bound, or on 6.1 its own backing file is write-only, recursively).
  int stacked_read_status(const Device& dev, uint64_t a,
                          uint64_t z) const;  // for dev's bytes [a, z)
  static bool written_up_to_date(const Device& dev, uint64_t a, uint64_t z);
  OutgrownRead outgrown_read(const Device& dev, uint64_t start, uint64_t end,
                             const ReadRequest& request, uint64_t backing_end) const;
  static constexpr uint64_t kRequestEndUnknown = ~uint64_t{0};
  // The bytes of the request an upper device's read of its [start, end) sends to
  // its lower loop device, its reader's read-ahead being `readahead_pages`
  // (outgrown_cache.cpp).
  static uint64_t upper_request_bytes(const Device& upper, uint64_t start, uint64_t end,
                                      bool whole_folios, uint64_t readahead_pages);
  // Where that request ends for a buffered upper read, and whether the lower device
  // refuses it (io.cpp).
  static uint64_t upper_request_end(const Device& dev, uint64_t start, uint64_t end,
                                    uint64_t readahead_pages);
  bool upper_request_refused(Device& dev, const Device& lower, uint64_t start, uint64_t end,
                             uint64_t readahead_pages, bool checked, uint64_t* request_end);
  static void note_outgrown_read(Device& dev, const OutgrownRead& o);
  // ---- read-ahead (readahead.cpp)
  void note_bind_rotational(Device& dev, const Desc& backing);
  static uint64_t readahead_pages(const Desc& reader);  // the reader's f_ra.ra_pages
  // A buffered read of `asked_bytes` (within the capacity) through `reader` ended.
  void note_read_end(Desc& reader, Device& dev, uint64_t start, uint64_t asked_bytes,
                     const ReadResult& predicted, const Outcome* seen);
  static constexpr uint8_t kMaxReadaheadEioShrinks = 5;  // 640 pages / 4^5 = 0
  static uint64_t init_readahead_pages(uint64_t req_pages, uint64_t max_pages);
  // A write's read of the page at `page` was refused: write_begin left its folio.
  static void note_refused_folio(Device& dev, uint64_t page);
  void note_lower_refused_folio(Device& dev, uint64_t b, uint64_t blk);
  // A buffered write went through the folios at [a, z) (note_cached, but no read-in).
  static void note_written_folios(Device& dev, uint64_t a, uint64_t z);
  static bool blocks_outgrow_cache(const Device& dev) {
    return dev.state == DevState::Bound &&
           dev.block_size > std::max<uint64_t>(kPageSize, dev.soft_block_size);
  }
  // The soft block size was chosen at an open while the logical block size was
  // smaller (a first open of a bound device whose size is not a multiple of the
  // new size), and LOOP_SET_BLOCK_SIZE raised the logical size since: the cache's
  // buffer heads send sub-block requests, which the queue refuses (probes c1, c2
  // on 6.18.44; docs/semantics.md §11.9).
  bool soft_blocks_below_logical(const Device& dev) const {
    return p.unaligned_bios_refused && dev.state == DevState::Bound && dev.soft_block_size != 0 &&
           dev.soft_block_size < dev.block_size;
  }
  bool dio_possible(const Device& dev, const Desc& backing, uint32_t block_size,
                    uint64_t offset) const;
  uint32_t max_block_size() const;
  arith::BlockSizeRule block_size_rule() const;  // LOOP_SET_BLOCK_SIZE under this profile and env
  static bool valid_block_size(uint64_t bs, uint32_t max);

  // ---- ioctls (ioctl.cpp)
  Outcome ioctl(const Op& op);
  Outcome control_ioctl(const Op& op);
  Outcome loop_ioctl(Desc& fd, const Op& op);
  Outcome block_ioctl(Desc& fd, const Op& op);
  // BLKDISCARD, BLKZEROOUT and BLKSECDISCARD (model/discard.cpp).
  Outcome discard_validated_first(const Desc& fd, Device& dev, const Op& op);
  Outcome discard_truncating_first(const Desc& fd, Device& dev, const Op& op);
  Outcome discard_with_unknown_limits(const Desc& fd, Device& dev, const Op& op);
  Outcome zeroout(const Desc& fd, Device& dev, const Op& op);
  static Outcome secure_erase(const Desc& fd);
  // What a discard or write-zeroes request makes of the backing file's blocks:
  // lo_fallocate punches for a discard and for write-zeroes without NOUNMAP
  // (fallocate PUNCH_HOLE on the device), zero-ranges for write-zeroes with NOUNMAP
  // (BLKZEROOUT, fallocate ZERO_RANGE on the device).
  enum class BackingZeroing : uint8_t { Punch, ZeroRange };
  Outcome fallocate_request(Device& dev, uint64_t a, uint64_t z, BackingZeroing how);
  static constexpr uint64_t kWholeMapping = ~uint64_t{0};  // truncate_bdev_range(0, -1)
  int truncate_bdev_range(const Desc& fd, Device& dev, uint64_t a, uint64_t z);
  int invalidate_pages(Device& dev, uint64_t first_page, uint64_t last_page);
  void forget_pages(Device& dev, uint64_t pa, uint64_t pz);
  void truncate_cache_range(Device& dev, uint64_t a, uint64_t z);
  void hold_zeros_in_cut_pages(Device& dev, uint64_t a, uint64_t z);
  void zero_backing_range(Device& dev, uint64_t a, uint64_t z, BackingZeroing how);
  void note_fallocation(Object& o, uint64_t a, uint64_t z, uint8_t mode);
  void zero_file_range(uint32_t object, uint64_t fa, uint64_t fz, const Device* writer);
  // fallocate(2) (model/fallocate.cpp).
  Outcome fallocate(const Op& op);
  Outcome allocated(const Op& op);
  Outcome fallocate_file(const Desc& d, uint64_t start, uint64_t len, uint8_t mode);
  Outcome fallocate_device(const Desc& fd, Device& dev, uint64_t start, uint64_t len, uint8_t mode);
  void grow_object(uint32_t object, uint64_t size);
  void configure_discard(Device& dev);  // loop_config_discard / loop_get_discard_config
  Outcome configure(Desc& fd, Device& dev, const Op& op);
  Outcome change_fd(Desc& fd, Device& dev, const Op& op);
  Outcome switch_backing(Device& dev, Desc& file);  // change_fd past its early refusals
  Outcome refuse_bind_block_size(Device& dev);      // configure's EINVAL
  Outcome set_capacity(Device& dev);
  Outcome clr_fd(Device& dev);
  Outcome set_status(Device& dev, const Op& op, bool legacy);
  // loop_reread_partitions: the cache effects of the table's read, then the scan.
  void reread_partitions(Device& dev);
  void cache_partition_table(Device& dev);

  // ---- partitions (partitions.cpp)
  bool partition_open(const Device& dev) const;
  TableSector table_sector(const Device& dev) const;
  void scan_partitions(Device& dev);
  Outcome reread_partition_table(Desc& fd, Device& dev);  // BLKRRPART
  // `open loop N part K`: 0 or an errno; *unpredicted when the device's table is unknown.
  int open_partition(const Op& op, Desc& d, bool* unpredicted);
  Outcome partition_sysfs(const Device& dev, const Op& op) const;
  bool partition_read_only(const Device& dev, uint8_t part) const;
  Outcome partition_ioctl(Desc& fd, const Op& op);
  Outcome partition_io(Desc& fd, const Op& op);
  void partition_maybe_written(Device& dev, uint8_t part, uint64_t off, uint64_t len);
  Outcome partition_backing();
  Outcome get_status(Device& dev, const Op& op, bool legacy);
  Outcome set_block_size(Desc& fd, Device& dev, const Op& op);
  Outcome set_direct_io(Device& dev, const Op& op);
  int validate_backing(const Device& dev, const Desc& file) const;  // loop_validate_file
  int sanity_check(const Desc& file) const;                         // read/write_iter

  // ---- data path (io.cpp)
  Outcome pread(const Op& op);
  void settle_read(Device& dev, uint64_t start, const ReadResult& r);
  Outcome pwrite(const Op& op);
  int sync_written(Desc& d, Device& dev, uint64_t start, uint64_t end, bool dirty_unknown_before,
                   bool* maybe_eio);
  const Outcome* sync_write_settler(Desc& d, Device& dev, uint64_t start, uint64_t end,
                                    uint32_t seed, bool other_eio_source);
  Outcome fsync(const Op& op);
  int flush_down_the_stack(Device& dev, bool* maybe_eio);
  Outcome truncate(const Op& op);
  // `readahead_pages`: the reading file's ra_pages. `request_bytes`: the length of
  // the request the read came in (the read's own length when 0; kRequestEndUnknown
  // when the model cannot tell).
  ReadResult read_device(Device& dev, uint64_t start, uint64_t len, bool direct, DataBuilder& out,
                         uint64_t readahead_pages, uint64_t request_bytes = 0);
  // `whole_folios`: the device's page cache asks, so a stacked lower device sees
  // page-aligned requests whatever range the caller read; `readahead_pages` is the
  // ra_pages of the file that read this device.
  ReadResult read_backing(Device& dev, uint64_t start, uint64_t end, DataBuilder& out,
                          bool whole_folios, uint64_t readahead_pages);
  // Whether the lower requests of an upper read ending at `end` reach past the
  // lower device's backing EOF.
  struct LowerRange {
    uint64_t first = 0, last = 0;
  };
  static LowerRange upper_folios_in_lower(const Device& dev, uint64_t start, uint64_t end);
  int lower_read_errno(int lower_err, bool whole_folios) const;
  std::optional<ReadResult> upper_dio_preface(const Device& dev, Device& lower, uint64_t start,
                                              uint64_t end, uint64_t request_end, DataBuilder& out);
  int write_back_lower_for_folios(const Device& dev, Device& lower, uint64_t start,
                                  uint64_t request_end);
  std::optional<ReadResult> read_up_to_folio_aligned_lower_eof(const Device& dev,
                                                               const Device& lower, uint64_t start,
                                                               uint64_t end,
                                                               DataBuilder& out) const;
  bool dio_folio_request_misaligned(const Device& dev, const Device& lower, uint64_t start,
                                    uint64_t end) const;
  bool dio_lower_request_misaligned(const Device& dev, uint64_t a, uint64_t z);
  bool folios_meet_lower_eof(const Device& dev, const Device& lower, uint64_t end) const;
  ReadResult read_lower_folios_direct(const Device& dev, Device& lower, uint64_t start,
                                      uint64_t end, uint64_t request_end, DataBuilder& out,
                                      uint64_t lower_readahead_pages);
  ReadResult read_backing_file(const Device& dev, uint64_t start, uint64_t end, DataBuilder& out,
                               bool whole_folios) const;
  ReadResult read_backing_misaligned_direct(const Device& dev, uint64_t start, uint64_t end,
                                            DataBuilder& out, bool whole_folios) const;
  // Returns 0, an errno, or kWriteMaybeEio: done, but the kernel may also have
  // failed it with EIO (the caller widens the outcome's envelope).
  static constexpr int kWriteMaybeEio = -1;
  // ... or kWriteSettledEio: the kernel may have done it or failed it with EIO, and
  // the target that ran it first failed it (Machine::observed): nothing was written.
  static constexpr int kWriteSettledEio = -2;
  // `done_end`: where a buffered write stopped (a later folio's read-modify-write
  // read failed: generic_perform_write returns the bytes copied before it). Without
  // it a write that would stop short is EIO.
  int write_direct(Device& dev, uint64_t start, uint64_t end, uint64_t origin, uint32_t seed);
  int outgrown_lower_rmw_read(Device& dev, uint64_t b, uint64_t z);
  struct LargeFolioStop {
    bool may_fail = false;    // the write may fail in its first folio (EIO)
    uint64_t may_end_at = 0;  // or end short as early as this device byte
  };
  std::optional<Outcome> stop_write_at_partial_block(const Device& dev, uint64_t start,
                                                     uint64_t* end, LargeFolioStop* large);
  bool dio_writeback_refused_by_lower(const Device& dev, uint64_t a, uint64_t z);
  bool write_back_run(Device& dev, const Extent& x, uint64_t a, uint64_t z);
  static bool lower_refuses_misaligned_direct_write(const Device& lower, uint64_t pos,
                                                    uint64_t len);
  bool rmw_read_refused_by_device(const Device& dev) const;
  int rmw_read_status(Device& dev, uint64_t b, uint64_t blk);
  int write_device(Device& dev, uint64_t start, uint64_t end, uint64_t origin, uint32_t seed,
                   bool direct, uint64_t* done_end = nullptr, uint64_t* min_end = nullptr,
                   const Outcome* settled_by = nullptr, SuppliedSpan supplied = {});
  static void settle_rmw_reads(const Outcome& observed_write, int* head, int* tail, bool same_folio,
                               int64_t whole_count, int64_t short_count);
  void settle_write_cache(Device& dev) const;
  ReadResult read_lower_past_unaligned_eof(const Device& dev, const Device& lower, uint64_t pos,
                                           uint64_t len, const ReadResult& lr, DataBuilder& out);
  // How an upper device's backing read filled its lower device's cache.
  enum class LowerFill : uint8_t { ReadIn, Readahead };
  void note_lower_cache(const Device& dev, uint64_t a, uint64_t z, LowerFill fill);  // dev's [a, z)
  // 0 or errno; *wrote_back: some dirty page of the range went out.
  int write_back_for_direct(Device& dev, uint64_t start, uint64_t end, bool* wrote_back = nullptr);
  void note_write_read_in(Device& dev, uint64_t start, uint64_t stop, uint64_t head, uint64_t tail,
                          uint64_t blk);
  ReadResult read_lower_segments(const Device& lower, uint64_t pos, uint64_t len, ReadResult r,
                                 uint64_t got, DataBuilder& out);
  // `fill`: Extent::reserved of the run written (0: a pattern run).
  // Writeback sends whole soft blocks; a request (direct I/O) only its bytes.
  enum class BackingWrite : uint8_t { Request, Writeback };
  int write_backing(Device& dev, uint64_t start, uint64_t end, uint64_t origin, uint32_t seed,
                    BackingWrite kind, uint32_t fill = 0);
  SuppliedSpan writeback_blocks(const Device& dev, uint64_t start, uint64_t end,
                                BackingWrite kind) const;
  void backing_changed(DescKind kind, uint32_t which, const Device* writer);
  // Backing file `object` is about to change at file bytes [a, z) by a path other
  // than `writer`'s cache: devices record the old bytes their cache surely holds.
  void backing_file_write(uint32_t object, uint64_t a, uint64_t z, const Device* writer);
  // Device bytes [a, z) of `dev`'s dirty pages may or may not have been written
  // to its backing: those backing bytes are no longer predicted.
  void backing_maybe_written(Device& dev, uint64_t a, uint64_t z);

  // ---- sysfs (sysfs.cpp)
  Outcome sysfs(const Op& op);
};

Outcome text_outcome(const char* text);
Outcome number_text(uint64_t v);
uint64_t makedev_user(uint32_t major, uint32_t minor);

// Runs one op on the machine (model.cpp): the step function's body.
Outcome dispatch(Machine& m, const Op& op);

}  // namespace loopcheck::model
