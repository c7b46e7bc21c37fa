// The kernel releases the in-process driver can behave as. Each switch names one
// user-visible difference between loop.c / block-layer releases (docs/semantics.md §7.1), so the
// driver code reads `if (profile.deferred_detach)` rather than comparing versions.
// This is the driver's own table: it must not share code with model/profile.h,
// or a differential test between the two would prove nothing. A switch for a fact
// the model also names carries the model's name, so the two tables can be checked
// against each other (tests/targets/inproc_profile_test.cpp).
#pragma once

#include <cerrno>
#include <cstdint>
#include <string_view>

namespace loopcheck::inproc {

// How lo_can_use_dio decides whether the device can do direct I/O.
enum class DioRule : uint8_t {
  // Before f4774e92aab8: the backing file's bdev logical block size bounds the
  // alignment (none on tmpfs).
  BackingBdev,
  // f4774e92aab8 (6.15): the filesystem's minimum DIO alignment (statx
  // dio_offset_align), else the bdev's logical block size, else 512.
  MinDioAlign,
};

struct DriverProfile {
  std::string_view name;
  // 18048c1af783 (6.11): LOOP_CLR_FD by the sole opener leaves the device in
  // Rundown until the last close, and open() refuses Rundown/Deleting with ENXIO.
  // Without it (6.1) CLR_FD tears down synchronously inside the ioctl.
  bool deferred_detach = true;
  // f5c84eff634b (6.15, 6.12.29): LOOP_SET_FD/CONFIGURE/CHANGE_FD reject files
  // without read_iter/write_iter (directories) with EINVAL before the state check.
  bool rw_iter_sanity_check = true;
  // 6.1 validates loop_config.block_size before the status fields; 6.11+ lets
  // the block layer validate it after them (and after setting the ro bit).
  bool configure_block_size_early = false;
  // Bits of the LOOP_SET_BLOCK_SIZE argument that reach validation: 6.1's
  // loop_set_block_size checks the whole unsigned long (64) and has no default
  // for 0; 6.11+ hand the low 32 bits to the queue limits API, where 0 is the
  // default block size.
  uint8_t block_size_arg_bits = 32;
  // 7e49538288e5 (6.17, 6.12.43, 6.1.192): LOOP_SET_BLOCK_SIZE claims the bdev → EBUSY
  // when someone else holds it exclusively.
  bool block_size_exclusive_check = true;
  // 47dd67532303 (6.15): logical block sizes up to 64 KiB on THP kernels.
  bool large_block_sizes = true;
  DioRule dio_rule = DioRule::MinDioAlign;
  // Before f4774e92aab8 (6.15) LOOP_SET_BLOCK_SIZE re-evaluates DIO with the
  // backing file's O_DIRECT as a request, so it can turn DIO back on.
  bool dio_reenabled_by_reconfigure = false;
  // Before the 6.14 rewrite LOOP_SET_DIRECT_IO re-evaluates DIO first
  // (model/profile.h set_dio_reevaluates_first).
  bool set_dio_reevaluates_first = false;
  // 6.11 to 6.14: a LOOP_SET_BLOCK_SIZE the block layer refused still re-evaluates
  // DIO (model/profile.h failed_set_block_size_updates_dio).
  bool failed_set_block_size_updates_dio = false;
  // queue/rotational and read-ahead (model/profile.h created_rotational,
  // rotational_follows_lower_device, rotational_bind_raises_readahead).
  bool created_rotational = false;
  bool rotational_follows_lower_device = true;
  bool rotational_bind_raises_readahead = true;
  bool partscan_rescan_caches_table = false;  // (model/profile.h)
  // f2fed441c69b (6.15, 6.12.25): a backing read that hits EOF fails the request
  // with EIO. Before it the VFS helper zero-filled the rest and succeeded.
  bool read_past_backing_eof_is_eio = true;
  // 5f75e081ab5c (6.10): an EOPNOTSUPP from fallocate disables discard for good.
  bool discard_disabled_on_eopnotsupp = true;
  // BLKDISCARD's order (model/profile.h): 6.12+ validate the whole range before
  // truncating the cache; 6.1 truncates first and checks the block size after.
  bool discard_range_validated_first = true;
  // The discard limits follow LOOP_SET_BLOCK_SIZE (6.12+) or LOOP_SET_STATUS (6.1).
  bool discard_limits_at_set_block_size = true;
  // 6.1 reads the backing file through vfs_iter_read, which refuses a file not
  // open for reading (EBADF -> EIO), in buffered mode only: loop DIO (every
  // release) and 6.12.25+/6.15+ call ->read_iter directly.
  bool backing_io_checks_file_mode = false;
  // 6.1's __loop_clr_fd turns the volatile write cache off; 6.11+ leave it on,
  // so a flush on a formerly bound, now unbound device reaches the driver (EIO).
  bool write_cache_cleared_on_teardown = false;
  // 6.1's LOOP_SET_BLOCK_SIZE validates its argument before the "same size"
  // shortcut; 6.11+ take the shortcut, sync and drop the cache, then validate.
  bool set_block_size_validated_first = false;
  // f6f9e32fe1e4 (6.15, 6.12.31): LOOP_CONFIGURE with block_size 0 picks the DIO
  // default when the DIO flag is requested; 6.1 only when the backing file was
  // opened O_DIRECT.
  bool default_block_size_follows_dio_flag = true;
  // Before f2fed441c69b the backing file's own O_DIRECT flag was honoured even with
  // loop DIO off, so misaligned requests failed.
  bool backing_odirect_honoured_without_dio = false;
  // BLK_STS_INVAL (6.11+): a request failed with EINVAL (a misaligned O_DIRECT
  // retry of the backing file) reaches an O_DIRECT reader of the device as
  // EINVAL. Before it errno_to_blk_status() had no such status and made it
  // BLK_STS_IOERR: EIO (6.1.192 in QEMU, dio_write_only_backing_cut_eof's
  // O_DIRECT reads; model switch of the same name).
  bool request_status_einval = true;
  // 6.12+: the block layer refuses bios that are not whole logical blocks (model
  // switch of the same name). So a soft block size below the logical one makes
  // writeback fail, and with a capacity that is not a whole number of logical
  // blocks the folio holding the partial last block can be neither read nor
  // written (buffered I/O stops before it). 6.1 lets them through: its buffer
  // heads trim the bio at the device end (guard_bio_eod), and 6.1.192 in QEMU
  // read 3584 bytes at 61440 of a 65024-byte device with 1 KiB blocks, and wrote
  // 512 there.
  bool unaligned_bios_refused = true;
  // 6.1: the first open after a bind writes the dirty pages back and drops the
  // cache (bdev_disk_changed for GD_NEED_PART_SCAN; model switch of the same name).
  bool bind_rescans_at_next_open = false;
  // The kernel under the backing file (model switch of the same name): before
  // 6.18 a misaligned O_DIRECT file write fails with EINVAL having written
  // nothing. The host's kernel (6.18) writes the leading mappings, so the driver
  // refuses such a write itself for the profiles that say so.
  bool odirect_file_write_partial = true;
  // 86947bdc2889 (6.15): LOOP_CONFIGURE / LOOP_SET_FD and LOOP_CHANGE_FD fsync the
  // new backing file (model switch of the same name).
  bool bind_fsyncs_backing = true;

  // Ports (model switches of the same names; 0 is Linux, errno values positive).
  // DragonOS checks its device state before any I/O (ENODEV unless Bound),
  // answers a write to a read-only binding with EROFS, refuses a request that
  // passes the capacity whole (ENOSPC), and has no autoload: opening a device
  // LOOP_CTL_REMOVE deleted finds no node (ENOENT).
  int unbound_io_errno = 0;
  int read_only_write_errno = EPERM;
  int io_past_capacity_errno = 0;
  int missing_device_open_errno = 0;
};

// The profiles the driver implements, by variant name ("linux-6.1.70") or series
// ("linux-6.1": its newest variant); nullptr for an unknown name.
// "" selects the default (linux-6.18).
const DriverProfile* find_profile(std::string_view name);
const DriverProfile& default_profile();

}  // namespace loopcheck::inproc
