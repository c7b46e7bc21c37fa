// The kernel releases the in-process driver can behave as. Each switch names one
// user-visible difference between loop.c / block-layer releases (docs/semantics.md §7.1), so the
// driver code reads `if (profile.deferred_detach)` rather than comparing versions.
// This is the driver's own table: it must not share code with model/profile.h,
// or a differential test between the two would prove nothing.
#pragma once

#include <cstdint>
#include <string_view>

namespace loopcheck::inproc {

struct Profile {
  std::string_view name;
  // 18048c1af783 (6.11): LOOP_CLR_FD by the sole opener leaves the device in
  // Rundown until the last close, and open() refuses Rundown/Deleting with ENXIO.
  // Without it (6.1) CLR_FD tears down synchronously inside the ioctl.
  bool deferred_detach = true;
  // f5c84eff634b (6.15, 6.12.29): LOOP_SET_FD/CONFIGURE/CHANGE_FD reject files
  // without read_iter/write_iter (directories) with EINVAL before the state check.
  bool iter_sanity_check = true;
  // 6.1 validates loop_config.block_size before the status fields; 6.11+ lets
  // the block layer validate it after them (and after setting the ro bit).
  bool block_size_checked_first = false;
  // f2fed441c69b (6.15, 6.12.25): a backing read that hits EOF fails the request
  // with EIO. Before it the VFS helper zero-filled the rest and succeeded.
  bool read_past_eof_is_error = true;
  // Before f2fed441c69b the backing file's own O_DIRECT flag was honoured even with
  // loop DIO off, so misaligned requests failed.
  bool backing_odirect_honoured_without_dio = false;
  // 6.11+: LOOP_SET_BLOCK_SIZE(0) selects the default block size instead of EINVAL.
  bool block_size_zero_is_default = true;
  // 7e49538288e5 (6.17, 6.12.43): LOOP_SET_BLOCK_SIZE claims the bdev → EBUSY
  // when someone else holds it exclusively.
  bool set_block_size_claims_bdev = true;
  // 47dd67532303 (6.15): logical block sizes up to 64 KiB on THP kernels.
  bool large_block_sizes_with_thp = true;
  // f4774e92aab8 (6.15): DIO feasibility uses the filesystem's minimum DIO
  // alignment (statx) rather than the backing bdev's logical block size, and
  // reconfiguration never turns DIO back on.
  bool dio_uses_min_alignment = true;
  // 6.17+: the backing size comes from getattr (same value for regular files here).
  // 5f75e081ab5c (6.10): an EOPNOTSUPP from fallocate disables discard for good.
  bool fallocate_unsupported_disables_discard = true;
  // 6.1's __loop_clr_fd turns the volatile write cache off; 6.11+ leave it on,
  // so a flush on a formerly bound, now unbound device reaches the driver (EIO).
  bool teardown_disables_write_cache = false;
  // 6.1 reads the backing file through vfs_iter_read, which refuses a file not
  // open for reading (EBADF -> EIO); 6.12.25+/6.15+ call ->read_iter directly.
  bool backing_reads_check_file_mode = false;
};

// The profiles the driver implements; nullptr for an unknown name.
// "" selects the default (linux-6.18).
const Profile* find_profile(std::string_view name);
const Profile& default_profile();

}  // namespace loopcheck::inproc
