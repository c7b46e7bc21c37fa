// The reference model's state: a plain value. Fixed-capacity arrays only, every
// member an integer or an array of integers, no padding (static_asserted), unused
// slots all-zero — so two states are equal exactly when their bytes are, and
// hash_state can hash the bytes. The explorer copies, hashes and compares millions
// of these.
//
// Bounds (each documented in docs/model.md, with what happens when exceeded):
//   kMaxDevices loop devices tracked (LOOP_CTL_ADD beyond → ENOMEM),
//   kMaxDescs open file descriptions (open beyond → EMFILE),
//   kMaxObjects sandbox files/dirs (trace/trace.h),
//   kMaxExtents written ranges per file and dirty ranges per device cache (beyond:
//   the content becomes "unknown" and reads report data_known=false).
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

#include "trace/trace.h"

namespace loopcheck::model {

inline constexpr int kMaxDevices = 16;
inline constexpr int kMaxDescs = 32;
inline constexpr int kMaxExtents = 4;
inline constexpr int kFirstFd = 3;          // 0..2 are stdio
inline constexpr uint32_t kMinorBits = 20;  // MINORMASK = 2^20 - 1
inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint64_t kPageSize = 4096;
// A loop device's read_ahead_kb: VM_READAHEAD_PAGES when created, twice its
// max_sectors_kb (1280) once a bind made it rotational (blk_apply_bdi_limits).
inline constexpr uint64_t kDefaultReadAheadKb = 128;
inline constexpr uint64_t kRaisedReadAheadKb = 2560;
inline constexpr uint64_t kLlongMax = 0x7fffffffffffffffull;
inline constexpr uint32_t kLoopMajor = 7;

// A range [start, end) whose bytes a `pwrite ... pattern=seed` produced: the byte at
// position p is pattern_byte(seed, p - origin). Keeping `origin` rather than the
// first index makes splitting an extent a matter of changing start/end only.
struct Extent {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t origin = 0;
  uint32_t seed = 0;
  // 0 for a pattern run; 1 + fill byte for a fill run (a device's `held` bytes, an
  // object's zeros from BLKDISCARD / BLKZEROOUT); kUnknownRun in an object's data
  // for bytes the model does not know.
  uint32_t reserved = 0;
};
inline constexpr uint32_t kUnknownRun = 0xffffffffu;
// An object's MBR table as declared (`mbr=`): bytes the model does not describe
// (a read over them is unchecked) but whose meaning it knows while the run is
// whole (model/partitions.cpp). Kept apart from kUnknownRun so the two never merge.
inline constexpr uint32_t kTableRun = 0xfffffffeu;
inline bool unknown_bytes(const Extent& x) {
  return x.reserved == kUnknownRun || x.reserved == kTableRun;
}

// Sorted, non-overlapping, non-adjacent-mergeable extents. `unknown` is set when an
// insertion would exceed kMaxExtents: from then on the bytes are not predicted.
struct ExtentList {
  std::array<Extent, kMaxExtents> e{};
  uint8_t count = 0;
  uint8_t unknown = 0;
  uint8_t reserved[6] = {};
};

enum class ObjKind : uint8_t { None, File, Dir };

// A sandbox object. Bytes below `fill_end` that no extent covers hold `fill`; bytes
// at or past it hold zero (truncation moves fill_end down, never up).
struct Object {
  ObjKind kind = ObjKind::None;
  uint8_t fill = 0;
  // `alloc_blocks` no longer says what is allocated (model/allocation.h).
  uint8_t alloc_unknown = 0;
  uint8_t mbr_count = 0;  // slots of the declared MBR table (0: none)
  uint8_t reserved[4] = {};
  std::array<PartitionEntry, kMaxPartitions> mbr{};
  uint64_t size = 0;
  uint64_t fill_end = 0;
  // 1 + index of the 4 KiB filesystem block holding the EOF when a truncate cut
  // away every data extent in it: the block stays allocated (0: none such).
  uint64_t kept_block = 0;
  // Bit i: 4 KiB block i holds allocated data, written or unwritten (what
  // `allocated file` counts); only the first 64 blocks are tracked.
  uint64_t alloc_blocks = 0;
  ExtentList data;
};

// Deleting: LOOP_CTL_REMOVE has checked and marked the device (Lo_deleting) and
// dropped its locks; the device is not yet gone (loop_remove). Only a concurrent
// block's interleavings see it (model/concurrency.h).
enum class DevState : uint8_t { Unbound, Bound, Rundown, Deleting };

// Work a step left for after the kernel dropped its locks (model/concurrency.h):
// the thread that started it finishes it, other threads may run in between.
// Whether a device in this state holds a backing file (Device::backing_desc).
constexpr bool has_backing(DevState s) {
  return s == DevState::Bound || s == DevState::Rundown;
}

enum class Pending : uint8_t {
  None,
  // lo_release's __loop_clr_fd at the last close: runs under disk->open_mutex,
  // so an open of the device waits for it.
  ReleaseTeardown,
  // 6.1 LOOP_CLR_FD's __loop_clr_fd: after lo_mutex is dropped, opens run.
  DetachTeardown,
  // LOOP_CTL_REMOVE's loop_remove (del_gendisk, idr_remove).
  Remove,
};

// What an open file description refers to.
enum class DescKind : uint8_t { None, LoopControl, Loop, File, Dir };

// Where a bound device's backing file description points (resolved through the
// description table: Desc::kind says whether it is a file or another loop device).
inline constexpr uint8_t kNoDesc = 0xff;
inline constexpr uint64_t kNoPage = UINT64_MAX;  // Device::refused_page: none

// The partitions a scan found (block/partitions/msdos.c through blk_add_partitions),
// by number: partition k is bit k-1 of `present`. `unknown`: the scan read a
// table the model cannot tell (bytes it does not know): what exists is then not
// predicted. `ro_policy`: BLKROSET on each partition (bit k-1).
struct Partitions {
  std::array<uint64_t, kMaxPartitions> start_sectors{};
  std::array<uint64_t, kMaxPartitions> size_sectors{};
  uint8_t present = 0;
  uint8_t unknown = 0;
  uint8_t ro_policy = 0;
  uint8_t reserved[5] = {};
  bool has(uint8_t k) const { return k >= 1 && k <= kMaxPartitions && (present >> (k - 1)) & 1; }
};

struct Device {
  uint8_t exists = 0;
  DevState state = DevState::Unbound;
  uint8_t backing_desc = kNoDesc;  // index into State::descs while Bound/Rundown
  uint8_t disk_ro = 0;             // set_disk_ro() at bind; sticky across teardown
  uint8_t bdev_ro_policy = 0;      // BLKROSET; independent of binding
  uint8_t dio = 0;                 // effective LO_FLAGS_DIRECT_IO
  // Volatile write cache advertised (flushes reach the driver): 0, 1, or
  // kWriteCacheUnknown for a device that existed before the trace (precreated):
  // a bind before the trace began turned it on for good on 6.11+.
  uint8_t write_cache = 0;
  // The device's own page cache (the block device mapping).
  uint8_t cache_populated = 0;  // some pages may be cached (after any buffered I/O)
  uint8_t cache_stale = 0;      // backing changed behind cached pages: reads unpredictable
  uint8_t orphan_dirty = 0;     // 6.1: dirty pages survived a synchronous detach
  // The mapping's writeback error sequence (errseq_t wb_err): bumped by each
  // failed writeback (1..255, 0 = none since the last teardown), and whether an
  // fsync has reported the newest one.
  uint8_t wb_err = 0;
  uint8_t wb_err_seen = 0;
  uint32_t index = 0;
  uint32_t flags = 0;            // LO_FLAGS_* except DIRECT_IO (kept in `dio`)
  uint32_t block_size = 512;     // logical = physical = io_min
  uint32_t soft_block_size = 0;  // BLKBSZGET: chosen when the first opener arrives
  // 6.13+ (DioRule::MinDioAlign): lo_min_dio_size, the backing file's minimum
  // direct-I/O size as it was at the bind (loop_assign_backing_file); later
  // changes of a lower device's block size do not reach it. 0 while unbound.
  uint32_t min_dio_bytes = 0;
  // queue/discard_granularity and the discard (= write-zeroes) limit in sectors
  // (both kDiscardLimitsUnknown on a device that existed before the trace: an
  // earlier bind's stay after its detach; a bind in the trace sets them),
  // set by the bind (loop_config_discard) and kept after the detach: 0 until then.
  uint32_t discard_granularity = 0;
  uint32_t discard_max_sectors = 0;
  uint64_t offset = 0;
  uint64_t sizelimit = 0;
  uint64_t capacity = 0;  // 512-byte sectors
  Name64 name;            // lo_file_name
  // 6.1: bound since the last open; the next open writes back and drops the cache
  // (Profile::bind_rescans_at_next_open).
  uint8_t rescan_on_open = 0;
  // Readahead may have cached folios past the backing EOF that read successfully
  // then: 6.1's zero-filled requests (loop DIO off), or a request over an EOF that
  // is not sector aligned. They keep serving once reads there would fail (the EOF
  // became a sector-aligned one, loop DIO went on). Cleared when the cache drops.
  uint8_t cached_past_eof = 0;
  // Blocks larger than the cache's folios (Machine::blocks_outgrow_cache): since the
  // cache was last dropped every read-in was refused (a 4 KiB-page bio to a queue
  // with larger blocks, blk_mq_submit_bio's bio_unaligned check), so no page holds a
  // readahead mark and the pages up to date are exactly the written ones (`dirty`,
  // `held`, [sure_lo, sure_hi)); any other page in [cache_lo, cache_hi) is absent
  // or a folio whose read failed (docs/semantics.md §11.9).
  uint8_t refused_reads_only = 1;
  // queue/rotational, and whether the bdi's read-ahead was raised from its 128 KiB
  // to twice max_sectors (2560 KiB) by a bind: it never comes down (model/readahead.cpp).
  uint8_t rotational = 0;
  uint8_t readahead_raised = 0;
  Pending pending = Pending::None;  // concurrent blocks only
  // dev_set_uevent_suppress left on: 6.12+ loop_configure turns it on before the
  // block size is checked and returns the EINVAL without turning it off, so the
  // disk's uevents are dropped until a bind succeeds (model/uevents.cpp).
  uint8_t uevents_suppressed = 0;
  ExtentList dirty;  // dirty ranges, in device byte positions
  // While cache_populated: device bytes outside [cache_lo, cache_hi) are certainly
  // not in the page cache (no buffered I/O touched them since the cache was last
  // dropped; reads count readahead up to the capacity). Both 0 otherwise.
  uint64_t cache_lo = 0;
  uint64_t cache_hi = 0;
  // [sure_lo, sure_hi): device bytes surely cached (the folios the latest buffered
  // reads and writes went through; a range not touching the last one replaces it).
  // When the backing changes under them, `held` keeps the old bytes they still
  // serve (device positions; Extent::reserved = 1 + fill byte marks a fill run).
  // [stale_lo, stale_hi): where the backing changed under pages only readahead may
  // have cached: those bytes are unpredictable (docs/semantics.md §11.2).
  uint64_t sure_lo = 0;
  uint64_t sure_hi = 0;
  uint64_t stale_lo = 0;
  uint64_t stale_hi = 0;
  // Blocks larger than the cache's folios: the page (device byte position) known to
  // hold a folio whose read was refused, kNoPage for none. It stays cached, not up
  // to date: readahead never replaces a folio that is there, and its own read
  // (->read_folio, one page) is refused again, so a read meeting it ends there
  // whatever readahead did around it (6.18.44, finding f5ed52d0). A write to it or
  // a drop of the cache ends that.
  uint64_t refused_page = kNoPage;
  ExtentList held;
  Partitions parts;
};

// An open file description. `fd` is its number while the fd is open (0 = closed);
// `holders` counts loop devices using it as their backing file, which keep it alive
// after close — as the kernel's file reference does.
struct Desc {
  DescKind kind = DescKind::None;
  Access access = Access::Rw;
  uint8_t open_flags = 0;  // OpenFlag bits
  uint8_t object = 0;      // File/Dir: object index
  uint8_t holders = 0;
  uint8_t wb_err_sample = 0;  // Loop: f_wb_err, the device's wb_err this fd has seen
  // Loop: f_ra.ra_pages was taken from the raised read-ahead at open (Device).
  uint8_t readahead_raised = 0;
  // Loop: buffered reads through this fd that ended short of what they asked for
  // (a folio read failed): each divides f_ra.ra_pages by 4 (model/readahead.cpp).
  uint8_t readahead_eio_shrinks = 0;
  uint8_t part = 0;  // Loop: 0 the whole disk, k its partition k
  uint8_t reserved[3] = {};
  uint32_t fd = 0;
  uint32_t device = 0;     // Loop: device index (not slot: slots move)
  uint32_t reserved2 = 0;  // whole 8-byte words (explore/codec.cpp)
};

inline constexpr uint8_t kWriteCacheUnknown = 2;
inline constexpr uint32_t kDiscardLimitsUnknown = UINT32_MAX;

struct State {
  // Devices sorted by index; slots [device_count, kMaxDevices) are all-zero.
  std::array<Device, kMaxDevices> devices{};
  std::array<Desc, kMaxDescs> descs{};
  std::array<Object, kMaxObjects> objects{};
  // Object names as declared (sysfs backing_file shows them).
  std::array<Name64, kMaxObjects> object_names{};
  uint8_t device_count = 0;
  uint8_t object_count = 0;
  uint8_t reserved[6] = {};
  // The uevents sent since the last `uevents` (model/uevents.cpp).
  UeventList uevents;
};

static_assert(std::has_unique_object_representations_v<Extent>);
static_assert(std::has_unique_object_representations_v<ExtentList>);
static_assert(std::has_unique_object_representations_v<Object>);
static_assert(std::has_unique_object_representations_v<Device>);
static_assert(std::has_unique_object_representations_v<Desc>);
static_assert(std::has_unique_object_representations_v<Partitions>);
static_assert(std::has_unique_object_representations_v<State>,
              "State must have no padding: hash_state and == work on its bytes");

bool operator==(const State& a, const State& b);
uint64_t hash_state(const State& s);

}  // namespace loopcheck::model
