#include "model/profile_switches.h"

#include <fmt/format.h>

#include <optional>

#include "trace/names.h"

namespace loopcheck::model {

namespace {

std::string_view dio_rule_name(DioRule rule) {
  return rule == DioRule::MinDioAlign ? "MinDioAlign" : "BackingBdev";
}

std::string apply_bool(bool& field, const profile_file::SettingValue& v) {
  const bool* b = std::get_if<bool>(&v);
  if (b == nullptr) return "expects true or false";
  field = *b;
  return {};
}

std::string apply_block_size_arg_bits(Profile& p, const profile_file::SettingValue& v) {
  const int64_t* bits = std::get_if<int64_t>(&v);
  if (bits == nullptr || (*bits != 32 && *bits != 64)) return "expects 32 or 64";
  p.block_size_arg_bits = static_cast<uint8_t>(*bits);
  return {};
}

std::string apply_dio_rule(Profile& p, const profile_file::SettingValue& v) {
  const std::string* name = std::get_if<std::string>(&v);
  if (name && *name == dio_rule_name(DioRule::MinDioAlign)) {
    p.dio_rule = DioRule::MinDioAlign;
  } else if (name && *name == dio_rule_name(DioRule::BackingBdev)) {
    p.dio_rule = DioRule::BackingBdev;
  } else {
    return "expects \"MinDioAlign\" or \"BackingBdev\"";
  }
  return {};
}

// An errno switch: a name ("ENODEV"), or "none" for 0 (the Linux behaviour).
SwitchValue errno_value(int err) {
  return SwitchValue{err == 0 ? std::string_view("none") : errno_name(err)};
}

std::string apply_errno(int& field, const profile_file::SettingValue& v) {
  const std::string* name = std::get_if<std::string>(&v);
  if (name && *name == "none") {
    field = 0;
    return {};
  }
  std::optional<int> err = name ? errno_from_name(*name) : std::nullopt;
  if (!err) return "expects an errno name such as \"ENODEV\", or \"none\"";
  field = *err;
  return {};
}

#define LOOPCHECK_ERRNO_SWITCH(field)                                                              \
  SwitchInfo {                                                                                     \
#field, [](const Profile&                                                                      \
                   p) { return errno_value(p.field); },                                            \
                                                     [](Profile & p,                               \
                                                        const profile_file::SettingValue&          \
                                                            v) { return apply_errno(p.field, v); } \
  }

#define LOOPCHECK_SWITCH(field)                                                                   \
  SwitchInfo {                                                                                    \
#field, [](const Profile&                                                                     \
                   p) { return SwitchValue{p.field}; },                                           \
                                                     [](Profile & p,                              \
                                                        const profile_file::SettingValue&         \
                                                            v) { return apply_bool(p.field, v); } \
  }

constexpr SwitchInfo kSwitches[] = {
    LOOPCHECK_SWITCH(deferred_detach),
    LOOPCHECK_SWITCH(rw_iter_sanity_check),
    LOOPCHECK_SWITCH(configure_block_size_early),
    SwitchInfo{"block_size_arg_bits",
               [](const Profile& p) { return SwitchValue{unsigned{p.block_size_arg_bits}}; },
               apply_block_size_arg_bits},
    LOOPCHECK_SWITCH(block_size_zero_is_default),
    LOOPCHECK_SWITCH(block_size_exclusive_check),
    LOOPCHECK_SWITCH(large_block_sizes),
    SwitchInfo{"dio_rule", [](const Profile& p) { return SwitchValue{dio_rule_name(p.dio_rule)}; },
               apply_dio_rule},
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
    LOOPCHECK_ERRNO_SWITCH(unbound_io_errno),
    LOOPCHECK_ERRNO_SWITCH(read_only_write_errno),
    LOOPCHECK_ERRNO_SWITCH(io_past_capacity_errno),
    LOOPCHECK_ERRNO_SWITCH(missing_device_open_errno),
};

#undef LOOPCHECK_SWITCH
#undef LOOPCHECK_ERRNO_SWITCH

}  // namespace

std::span<const SwitchInfo> profile_switches() {
  return kSwitches;
}

const SwitchInfo* find_switch(std::string_view name) {
  for (const SwitchInfo& s : kSwitches)
    if (s.name == name) return &s;
  return nullptr;
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
