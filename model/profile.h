// Kernel-release profiles: every place where Linux releases differ in loop
// semantics is one named switch here, never an `if version` in the model.
// The values and their sources are in docs/semantics.md (§0.2 lists the switches,
// §7.1 compares the releases) and docs/profiles.md; a statement there names the
// probe or trace that settled it on a real kernel.
#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace loopcheck::model {

// How "can this device do direct I/O" is decided.
enum class DioRule : uint8_t {
  // 6.1 / 6.12: backing file must support O_DIRECT; if the filesystem has a block
  // device, loop's logical block size >= its logical block size and the offset
  // is a multiple of it. No block device (tmpfs): only O_DIRECT support matters.
  BackingBdev,
  // 6.15+ (6.18): min-DIO alignment = statx dio_offset_align, else the fs block
  // device's logical block size, else 512; lbs >= it and offset % it == 0.
  MinDioAlign,
};

struct Profile {
  // The variant's name: the series ("linux-6.12") when the series has one variant,
  // else the series and the first point release it covers ("linux-6.1.192").
  std::string_view name;
  // The kernel series ("linux-6.1"). A trace pinned to it runs on every variant.
  std::string_view series;
  // First point release of the series this variant covers (0: the whole series).
  // A variant reaches up to the next variant of its series in kProfiles.
  uint16_t since_patch;
  // Last point release it is known to cover when that is not the next variant's
  // predecessor (0: up to the next variant, or open-ended).
  uint16_t until_patch;

  // 18048c1af783 (6.11): LOOP_CLR_FD with the caller as sole opener moves to a
  // long-lived Rundown state torn down at last close; open() in Rundown/Deleting
  // fails with ENXIO. Off: 6.1 tears down synchronously inside the ioctl.
  bool deferred_detach;

  // f5c84eff634b (6.15, stable 6.12.29): SET_FD/CONFIGURE/CHANGE_FD reject a
  // backing file without read_iter (or write_iter when opened for write) with
  // EINVAL before the state check (so a directory on a Bound device is EINVAL).
  bool rw_iter_sanity_check;

  // 6.1: LOOP_CONFIGURE validates block_size right after the flags check, before
  // the key-size/crypt/overflow checks, and touches nothing on failure. 6.11+:
  // block size is validated last by the block layer, after the ro bit was set.
  bool configure_block_size_early;

  // Bits of the LOOP_SET_BLOCK_SIZE / loop_config.block_size argument that reach
  // validation: 64 = the whole unsigned long (6.1), 32 (6.12.2+, 6.18).
  uint8_t block_size_arg_bits;

  // 6.11+: block size 0 means "the default" and succeeds; 6.1: EINVAL.
  bool block_size_zero_is_default;

  // 7e49538288e5 (6.17, stable 6.12.43, 6.1.192): LOOP_SET_BLOCK_SIZE claims the
  // device and fails with EBUSY if someone else holds it exclusively.
  bool block_size_exclusive_check;

  // 47dd67532303 (6.15): block sizes up to 64 KiB when THP is configured; else
  // the page size is the maximum.
  bool large_block_sizes;

  DioRule dio_rule;

  // 6.1 / 6.12: LOOP_SET_BLOCK_SIZE and LOOP_CHANGE_FD re-evaluate DIO with the
  // backing file's O_DIRECT as the request, so they can turn DIO on. 6.18: only off.
  bool dio_reenabled_by_reconfigure;
  // 6.1 / 6.12 (before the 6.14 rewrite of loop_set_dio): LOOP_SET_DIRECT_IO first
  // re-evaluates DIO for the requested value (__loop_update_dio, with its fsync of
  // the backing file when the mode changes), then answers EINVAL unless the device
  // ended in that mode: asking for the mode it is already in can turn DIO off.
  // 6.18: the same mode is 0 at once.
  bool set_dio_reevaluates_first;

  // 6.11 to 6.14 (Debian 6.12.117): LOOP_SET_BLOCK_SIZE re-evaluates DIO even when
  // the block layer refused the new size (loop_update_dio runs after a failed
  // queue_limits_commit_update), so an invalid size can turn DIO back on for an
  // O_DIRECT backing file (6.12.117 in QEMU: gen-7703-0021,
  // linux-6.12/failed_set_block_size_turns_dio_back_on.trace). 6.1 validates
  // first; 6.18 returns before it.
  bool failed_set_block_size_updates_dio;

  // queue/rotational of a device LOOP_CTL_ADD (or module init) just made: 6.1's
  // blk-mq queue starts rotational (no QUEUE_FLAG_NONROT), 6.12 and 6.18 start
  // without BLK_FEAT_ROTATIONAL (6.1.0-56, 6.12.117 in QEMU, 6.18.44).
  bool created_rotational;
  // Whose rotational flag a bind copies for a loop device as backing: on 6.1
  // loop_update_rotational looks at inode->i_sb->s_bdev, which a block device has
  // not (nonrot); 6.11+ loop_update_limits looks at the block device itself.
  bool rotational_follows_lower_device;
  // blk_apply_bdi_limits (6.18): a rotational queue without io_opt reads ahead
  // twice its max_sectors (read_ahead_kb 2560), and ra_pages never decreases, so a
  // bind to a file on a rotational disk raises it for good (6.18.44: 128 at
  // LOOP_CTL_ADD, 2560 after LOOP_SET_FD and after LOOP_CLR_FD;
  // common/readahead_follows_rotational_backing.trace). 6.1 sizes read-ahead from
  // io_opt only, and so does 6.12 (blk_apply_bdi_limits of the 6.12.118 source; the
  // guests' NVMe disk cannot show it).
  bool rotational_bind_raises_readahead;
  // LOOP_SET_STATUS turning PARTSCAN on rescans the partitions through the page
  // cache, which then holds folio 0 (6.12.117 in QEMU: a read of it in Rundown
  // served; gen-7703-0147). 6.18.44 (max_part 0): nothing cached, the read fails.
  // 6.1.0-56 and 6.1.0-47 in QEMU: after LOOP_CONFIGURE with PARTSCAN over a lower
  // device torn down at once, a partial-page write needed no read (3072; without
  // PARTSCAN EIO; gen-7702-0128, linux-6.1/configure_partscan_caches_page_zero).
  bool partscan_rescan_caches_table;

  // f2fed441c69b (6.15, stable 6.12.25): buffered reads of a region at or past the
  // backing EOF fail with EIO. Off: short reads are zero-filled (6.1).
  bool read_past_backing_eof_is_eio;

  // fallocate EOPNOTSUPP clears the discard limit (5f75e081ab5c, 6.10).
  bool discard_disabled_on_eopnotsupp;
  // BLKDISCARD as 6.12 has it (blk_ioctl_discard reworked in 6.10): the range is
  // copied first (EFAULT before EOPNOTSUPP and EBADF), a read-only device is EPERM,
  // and the block size, a zero length and the end are checked before the cache is
  // truncated. 6.1 checks EBADF first and only the 512-byte alignment and the end
  // before it truncates, the rest after: a {0, 0} discard drops the whole cache,
  // dirty pages too, then fails EINVAL (6.1.0-56 in QEMU;
  // linux-6.1/discard_zero_length_drops_whole_cache.trace).
  bool discard_range_validated_first;
  // The discard limits are recomputed by LOOP_SET_BLOCK_SIZE (loop_update_limits,
  // 6.12+) or by LOOP_SET_STATUS (loop_config_discard, 6.1), besides the bind. Over
  // a lower loop device of discard granularity 0, 6.1 takes its block size instead.
  bool discard_limits_at_set_block_size;

  // 6.1: dirty pages of the loop device's page cache that were not written back
  // before a synchronous LOOP_CLR_FD teardown are lost (written to a device of
  // capacity 0 at last close, or to a new binding). 6.11+: teardown happens in
  // release after the block layer flushed the mapping — which reaches the backing
  // file only if the device is still Bound; in Rundown the writeback fails with
  // EIO and the data is lost too (docs/model.md, "Dirty pages at detach").
  bool dirty_pages_lost_on_sync_detach;

  // 6.1 reads/writes the backing file through vfs_iter_read/write, which check the
  // file's FMODE_READ/FMODE_WRITE: a write-only backing file makes device reads fail
  // with EIO. f2fed441c69b (6.15, stable 6.12.25) calls ->read_iter directly.
  bool backing_io_checks_file_mode;

  // 6.1's teardown turns the volatile write cache off; 6.12/6.18 leave the queue
  // feature set, so a flush (fsync) on an unbound, once-writable device reaches the
  // driver and fails with EIO: probed on 6.18.44 (lifecycle.c, pagecache.c); the
  // 6.1 half is source reading (docs/semantics.md §5.4).
  bool write_cache_cleared_on_teardown;

  // 6.1: LOOP_SET_BLOCK_SIZE validates its argument in the driver (512..PAGE_SIZE,
  // power of two, 0 invalid) before the "same size" shortcut and before touching
  // the page cache. 6.11+: the shortcut comes first, then the cache is synced and
  // dropped, then the block layer validates.
  bool set_block_size_validated_first;

  // LOOP_CONFIGURE with block_size 0 uses the DIO default (backing bdev / minimum
  // DIO alignment) when the DIO flag is requested (f6f9e32fe1e4, 6.15, stable
  // 6.12.31). 6.1: only when the backing file itself was opened O_DIRECT.
  bool default_block_size_follows_dio_flag;

  // 6.1's simple (non-DIO) path reads and writes the backing file with
  // vfs_iter_read/write, so a backing file opened O_DIRECT does direct I/O even
  // with loop DIO off: a misaligned backing position fails (EIO to the device).
  // 6.12+: buffered kiocbs, the file's O_DIRECT is ignored.
  bool backing_odirect_honoured_without_dio;

  // 6.12+: the block layer refuses a bio that is not a whole number of logical
  // blocks, so buffer heads smaller than a block (a soft block size below the
  // logical one) and the folio holding a lower device's partial last block
  // cannot be read or written. 6.1 lets them through. Probes b2, c2; 6.1.0-56
  // and 6.12.117 in QEMU, 6.18.44 (docs/semantics.md §11.8, §11.9).
  bool unaligned_bios_refused;

  // BLK_STS_INVAL (6.11+): a request that failed with EINVAL (the misaligned
  // O_DIRECT retry of a DIO-mode read at an unaligned backing EOF) reaches an
  // O_DIRECT reader of the device as EINVAL. Before it errno_to_blk_status() had
  // no such status: EIO (6.1.192 in QEMU, dio_write_only_backing_cut_eof's
  // O_DIRECT reads; loopcheck gen seed 7302 trace 30).
  bool request_status_einval;

  // An O_DIRECT write to the backing file with an aligned start and an unaligned
  // length: 6.18.44 writes the mappings before the last one, then fails with
  // EINVAL (iomap_dio_rw checks each mapping when it reaches it; probe g2). 6.1.192
  // and 6.12.117 in QEMU fail with EINVAL having written nothing
  // (common/odirect_file_write_einval_after_extents.trace). A fact of the kernel
  // under the backing file, kept with the loop driver's series.
  bool odirect_file_write_partial;

  // 6.1: binding marks the disk for a partition rescan (disk_force_media_change
  // sets GD_NEED_PART_SCAN), and the next open of the device runs
  // bdev_disk_changed, which writes the dirty pages back (sync_blockdev) and drops
  // the cache (invalidate_bdev). 6.1.0-56 in QEMU: a reopen after a write put the
  // bytes in the backing file, and a read after it saw the backing file's new
  // bytes; 6.12.117 and 6.18.44 do neither
  // (linux-6.1/reopen_after_bind_writes_back_and_drops_cache.trace).
  bool bind_rescans_at_next_open;

  // 6.18: the block device's page cache takes large folios, which readahead
  // grows up to its 128 KiB window and a buffered write makes up to its own size
  // (generic_perform_write); a folio holding a backing EOF fails whole, and an
  // O_DIRECT read's writeback writes the dirty folios it meets whole. 6.12 uses
  // 4 KiB folios. Probe d1 on 6.18.44 and on 6.12.117 in QEMU; 6.18.44: an
  // O_DIRECT read of 512 bytes at 512 after an 8 KiB write wrote both pages back,
  // after two 4 KiB writes only the first.
  bool large_folios;

  // 6.15+ (86947bdc2889 "loop: move vfs_fsync() out of loop_update_dio()"):
  // LOOP_CONFIGURE / LOOP_SET_FD and LOOP_CHANGE_FD vfs_fsync the new backing file
  // once it passed every check, DIO or not. A lower loop device's dirty pages go
  // to its file, and a failed writeback is reported to that open file there, not
  // to its next fsync. 6.18.44: after LOOP_CONFIGURE of an upper device over it,
  // the lower device's written page was in its file; 6.1.0-47…57 and
  // 6.12.100…118 in QEMU: not (linux-6.18/bind_writes_back_lower_device.trace).
  bool bind_fsyncs_backing;

  // Port switches: every Linux release has the first value; a port's profile file
  // (profiles/dragonos.toml) sets the others. 0 is "no error": Linux's behaviour.
  // Linux: I/O on a device that is not Bound sees capacity 0 (a read returns 0,
  // a write ENOSPC). DragonOS (LoopDevice::io_start, a74d4b7e6): a read, write or
  // fsync of more than 0 bytes fails with ENODEV unless the device is Bound.
  int unbound_io_errno;
  // blkdev_write_iter: a write to a read-only device is EPERM. DragonOS
  // (io_snapshot): EROFS.
  int read_only_write_errno;
  // Linux: a read ending past the capacity is cut short (0 at the end), a write
  // is cut at the capacity (ENOSPC only from the end on). DragonOS
  // (translate_io_range): a request whose end passes the capacity fails whole.
  int io_past_capacity_errno;
  // Linux: opening /dev/loopN of a device that does not exist creates it (the
  // legacy autoload, CONFIG_BLOCK_LEGACY_AUTOLOAD). DragonOS: LOOP_CTL_REMOVE
  // deletes the devfs node, and the open fails with ENOENT.
  int missing_device_open_errno;
};

// 6.1.192 on (Debian 6.1.0-55 and later): 7e49538288e5 backported; settled in
// QEMU on Debian 6.1.0-55 and 6.1.0-56 (both 6.1.192).
inline constexpr Profile kLinux61{
    .name = "linux-6.1.192",
    .series = "linux-6.1",
    .since_patch = 192,
    .until_patch = 0,
    .deferred_detach = false,
    .rw_iter_sanity_check = false,
    .configure_block_size_early = true,
    .block_size_arg_bits = 64,
    .block_size_zero_is_default = false,
    .block_size_exclusive_check = true,
    .large_block_sizes = false,
    .dio_rule = DioRule::BackingBdev,
    .dio_reenabled_by_reconfigure = true,
    .set_dio_reevaluates_first = true,
    .failed_set_block_size_updates_dio = false,
    .created_rotational = true,
    .rotational_follows_lower_device = false,
    .rotational_bind_raises_readahead = false,
    .partscan_rescan_caches_table = true,
    .read_past_backing_eof_is_eio = false,
    .discard_disabled_on_eopnotsupp = false,
    .discard_range_validated_first = false,
    .discard_limits_at_set_block_size = false,
    .dirty_pages_lost_on_sync_detach = true,
    .backing_io_checks_file_mode = true,
    .write_cache_cleared_on_teardown = true,
    .set_block_size_validated_first = true,
    .default_block_size_follows_dio_flag = false,
    .backing_odirect_honoured_without_dio = true,
    .unaligned_bios_refused = false,
    .request_status_einval = false,
    .odirect_file_write_partial = false,
    .bind_rescans_at_next_open = true,
    .large_folios = false,
    .bind_fsyncs_backing = false,
    .unbound_io_errno = 0,
    .read_only_write_errno = EPERM,
    .io_past_capacity_errno = 0,
    .missing_device_open_errno = 0,
};

// 6.1.70 (max_loop change) up to 6.1.190: 6.1.192 less the exclusive-owner check
// in LOOP_SET_BLOCK_SIZE, its only difference. Settled in QEMU on Debian 6.1.0-47
// (6.1.170) and 6.1.0-54 (6.1.190); 6.1.191 has no Debian package and belongs to
// no variant.
inline constexpr Profile kLinux61Before192 = [] {
  Profile p = kLinux61;
  p.name = "linux-6.1.70";
  p.since_patch = 70;
  p.until_patch = 190;  // 6.1.191: never run
  p.block_size_exclusive_check = false;
  return p;
}();

inline constexpr Profile kLinux612{
    .name = "linux-6.12",
    .series = "linux-6.12",
    .since_patch = 0,
    .until_patch = 0,
    .deferred_detach = true,
    .rw_iter_sanity_check = true,
    .configure_block_size_early = false,
    .block_size_arg_bits = 32,
    .block_size_zero_is_default = true,
    .block_size_exclusive_check = true,
    .large_block_sizes = false,
    .dio_rule = DioRule::BackingBdev,
    .dio_reenabled_by_reconfigure = true,
    .set_dio_reevaluates_first = true,
    .failed_set_block_size_updates_dio = true,
    .created_rotational = false,
    .rotational_follows_lower_device = true,
    .rotational_bind_raises_readahead = false,
    .partscan_rescan_caches_table = true,
    .read_past_backing_eof_is_eio = true,
    .discard_disabled_on_eopnotsupp = true,
    .discard_range_validated_first = true,
    .discard_limits_at_set_block_size = true,
    .dirty_pages_lost_on_sync_detach = false,
    .backing_io_checks_file_mode = false,
    .write_cache_cleared_on_teardown = false,
    .set_block_size_validated_first = false,
    .default_block_size_follows_dio_flag = true,
    .backing_odirect_honoured_without_dio = false,
    .unaligned_bios_refused = true,
    .request_status_einval = true,
    .odirect_file_write_partial = false,
    .bind_rescans_at_next_open = false,
    .large_folios = false,
    .bind_fsyncs_backing = false,
    .unbound_io_errno = 0,
    .read_only_write_errno = EPERM,
    .io_past_capacity_errno = 0,
    .missing_device_open_errno = 0,
};

inline constexpr Profile kLinux618{
    .name = "linux-6.18",
    .series = "linux-6.18",
    .since_patch = 0,
    .until_patch = 0,
    .deferred_detach = true,
    .rw_iter_sanity_check = true,
    .configure_block_size_early = false,
    .block_size_arg_bits = 32,
    .block_size_zero_is_default = true,
    .block_size_exclusive_check = true,
    .large_block_sizes = true,
    .dio_rule = DioRule::MinDioAlign,
    .dio_reenabled_by_reconfigure = false,
    .set_dio_reevaluates_first = false,
    .failed_set_block_size_updates_dio = false,
    .created_rotational = false,
    .rotational_follows_lower_device = true,
    .rotational_bind_raises_readahead = true,
    .partscan_rescan_caches_table = false,
    .read_past_backing_eof_is_eio = true,
    .discard_disabled_on_eopnotsupp = true,
    .discard_range_validated_first = true,
    .discard_limits_at_set_block_size = true,
    .dirty_pages_lost_on_sync_detach = false,
    .backing_io_checks_file_mode = false,
    .write_cache_cleared_on_teardown = false,
    .set_block_size_validated_first = false,
    .default_block_size_follows_dio_flag = true,
    .backing_odirect_honoured_without_dio = false,
    .unaligned_bios_refused = true,
    .request_status_einval = true,
    .odirect_file_write_partial = true,
    .bind_rescans_at_next_open = false,
    .large_folios = true,
    .bind_fsyncs_backing = true,
    .unbound_io_errno = 0,
    .read_only_write_errno = EPERM,
    .io_past_capacity_errno = 0,
    .missing_device_open_errno = 0,
};

// Variants of one series are adjacent, oldest first.
inline constexpr const Profile* kProfiles[] = {&kLinux61Before192, &kLinux61, &kLinux612,
                                               &kLinux618};
inline constexpr const Profile& kDefaultProfile = kLinux618;

// A variant by its name, or a series by its name ("linux-6.1": its newest variant);
// nullptr when `name` is neither.
const Profile* find_profile(std::string_view name);

// Whether a trace's @profile `pin` (a series or a variant name) admits `profile`.
bool pin_admits(std::string_view pin, const Profile& profile);

// The point release where `profile`'s variant starts, as "6.1.192"; empty for the
// only variant of a series.
std::string point_release(const Profile& profile);

// The profile for a kernel release string such as "6.1.0-56-cloud-amd64",
// "6.12.117+deb12-cloud-amd64", "6.1.190-1" (a Debian package version) or
// "6.18.44-fc-v669"; nullptr when none fits.
const Profile* profile_for_release(std::string_view release);

// Why profile_for_release(release) is nullptr, for an error message.
std::string no_profile_reason(std::string_view release);

}  // namespace loopcheck::model
