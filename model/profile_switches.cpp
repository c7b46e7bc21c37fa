#include "model/profile_switches.h"

#include <fmt/format.h>

namespace loopcheck::model {

namespace {

std::string_view dio_rule_name(DioRule rule) {
  return rule == DioRule::MinDioAlign ? "MinDioAlign" : "BackingBdev";
}

#define LOOPCHECK_SWITCH(field)                                   \
  SwitchInfo {                                                    \
#field, [](const Profile& p) { return SwitchValue{p.field}; } \
  }

constexpr SwitchInfo kSwitches[] = {
    LOOPCHECK_SWITCH(deferred_detach),
    LOOPCHECK_SWITCH(rw_iter_sanity_check),
    LOOPCHECK_SWITCH(configure_block_size_early),
    SwitchInfo{"block_size_arg_bits",
               [](const Profile& p) { return SwitchValue{unsigned{p.block_size_arg_bits}}; }},
    LOOPCHECK_SWITCH(block_size_zero_is_default),
    LOOPCHECK_SWITCH(block_size_exclusive_check),
    LOOPCHECK_SWITCH(large_block_sizes),
    SwitchInfo{"dio_rule", [](const Profile& p) { return SwitchValue{dio_rule_name(p.dio_rule)}; }},
    LOOPCHECK_SWITCH(dio_reenabled_by_reconfigure),
    LOOPCHECK_SWITCH(set_dio_reevaluates_first),
    LOOPCHECK_SWITCH(failed_set_block_size_updates_dio),
    LOOPCHECK_SWITCH(created_rotational),
    LOOPCHECK_SWITCH(rotational_follows_lower_device),
    LOOPCHECK_SWITCH(rotational_bind_raises_readahead),
    LOOPCHECK_SWITCH(partscan_rescan_caches_table),
    LOOPCHECK_SWITCH(read_past_backing_eof_is_eio),
    LOOPCHECK_SWITCH(discard_disabled_on_eopnotsupp),
    LOOPCHECK_SWITCH(discard_range_validated_first),
    LOOPCHECK_SWITCH(discard_limits_at_set_block_size),
    LOOPCHECK_SWITCH(dirty_pages_lost_on_sync_detach),
    LOOPCHECK_SWITCH(backing_io_checks_file_mode),
    LOOPCHECK_SWITCH(write_cache_cleared_on_teardown),
    LOOPCHECK_SWITCH(set_block_size_validated_first),
    LOOPCHECK_SWITCH(default_block_size_follows_dio_flag),
    LOOPCHECK_SWITCH(backing_odirect_honoured_without_dio),
    LOOPCHECK_SWITCH(unaligned_bios_refused),
    LOOPCHECK_SWITCH(request_status_einval),
    LOOPCHECK_SWITCH(odirect_file_write_partial),
    LOOPCHECK_SWITCH(bind_rescans_at_next_open),
    LOOPCHECK_SWITCH(large_folios),
    LOOPCHECK_SWITCH(bind_fsyncs_backing),
};

#undef LOOPCHECK_SWITCH

}  // namespace

std::span<const SwitchInfo> profile_switches() {
  return kSwitches;
}

std::vector<PointReleaseChange> point_release_changes(const SwitchInfo& info) {
  std::vector<PointReleaseChange> changes;
  const Profile* previous = nullptr;
  for (const Profile* p : kProfiles) {
    if (previous && previous->series == p->series && info.value(*previous) != info.value(*p))
      changes.push_back({p->series, point_release(*p), previous, p});
    previous = p;
  }
  return changes;
}

std::string format_switch_value(const SwitchValue& value) {
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "yes" : "no";
  if (const unsigned* u = std::get_if<unsigned>(&value)) return fmt::format("{}", *u);
  return std::string(std::get<std::string_view>(value));
}

}  // namespace loopcheck::model
