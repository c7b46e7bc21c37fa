#include "inproc/driver_profile.h"

#include <array>

#include "inproc/driver_profile_registry.h"

namespace loopcheck::inproc {
namespace {

constexpr DriverProfile kLinux618{.name = "linux-6.18"};

// Debian's 6.12.y (6.12.100+) carries every stable backport docs/semantics.md §7.2 lists.
constexpr DriverProfile kLinux612{
    .name = "linux-6.12",
    .large_block_sizes = false,
    .dio_rule = DioRule::BackingBdev,
    .dio_reenabled_by_reconfigure = true,
    .set_dio_reevaluates_first = true,
    .failed_set_block_size_updates_dio = true,
    .rotational_bind_raises_readahead = false,
    .partscan_rescan_caches_table = true,
    .odirect_file_write_partial = false,
    .bind_fsyncs_backing = false,
};

// 6.1.192: 7e49538288e5 backported (checked in QEMU on Debian 6.1.0-55 and 6.1.0-56).
constexpr DriverProfile kLinux61{
    .name = "linux-6.1.192",
    .deferred_detach = false,
    .rw_iter_sanity_check = false,
    .configure_block_size_early = true,
    .block_size_arg_bits = 64,
    .large_block_sizes = false,
    .dio_rule = DioRule::BackingBdev,
    .dio_reenabled_by_reconfigure = true,
    .set_dio_reevaluates_first = true,
    .created_rotational = true,
    .rotational_follows_lower_device = false,
    .rotational_bind_raises_readahead = false,
    .partscan_rescan_caches_table = true,
    .read_past_backing_eof_is_eio = false,
    .discard_disabled_on_eopnotsupp = false,
    .discard_range_validated_first = false,
    .discard_limits_at_set_block_size = false,
    .backing_io_checks_file_mode = true,
    .write_cache_cleared_on_teardown = true,
    .set_block_size_validated_first = true,
    .default_block_size_follows_dio_flag = false,
    .backing_odirect_honoured_without_dio = true,
    .request_status_einval = false,
    .unaligned_bios_refused = false,
    .bind_rescans_at_next_open = true,
    .odirect_file_write_partial = false,
    .bind_fsyncs_backing = false,
};

// 6.1.70 to 6.1.190: 6.1.192 except that loop_set_block_size takes no claim on
// the bdev (checked in QEMU on Debian 6.1.0-47 and 6.1.0-54).
constexpr DriverProfile kLinux61Before192 = [] {
  DriverProfile p = kLinux61;
  p.name = "linux-6.1.70";
  p.block_size_exclusive_check = false;
  return p;
}();

constexpr std::array<const DriverProfile*, 4> kProfiles{&kLinux618, &kLinux612, &kLinux61,
                                                        &kLinux61Before192};

}  // namespace

const DriverProfile& default_profile() {
  return kLinux618;
}

const DriverProfile* find_profile(std::string_view name) {
  if (name.empty()) return &kLinux618;
  if (name == "linux-6.1") return &kLinux61;  // the series: its newest point release
  for (const DriverProfile* p : kProfiles)
    if (p->name == name) return p;
  return find_registered_driver_profile(name);
}

}  // namespace loopcheck::inproc
