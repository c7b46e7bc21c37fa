#include "inproc/driver_profile_registry.h"

#include <deque>
#include <mutex>
#include <optional>

#include "trace/names.h"

namespace loopcheck::inproc {
namespace {

using profile_file::SettingValue;

// One switch of DriverProfile: read it (as the file writes it) and set it.
struct DriverSwitch {
  std::string_view name;
  SettingValue (*get)(const DriverProfile&);
  bool (*set)(DriverProfile&, const SettingValue&);  // false: the value does not fit
};

bool set_bool(bool& field, const SettingValue& v) {
  const bool* b = std::get_if<bool>(&v);
  if (b) field = *b;
  return b != nullptr;
}

#define DRIVER_SWITCH(field)                                                                     \
  DriverSwitch {                                                                                 \
#field, [](const DriverProfile&                                                              \
                   p) { return SettingValue{p.field}; },                                         \
                                                      [](DriverProfile & p,                      \
                                                         const SettingValue&                     \
                                                             v) { return set_bool(p.field, v); } \
  }

// An errno switch: "none" for 0, else the errno's name.
SettingValue errno_setting(int err) {
  return err == 0 ? std::string("none") : std::string(errno_name(err));
}
bool set_errno(int& field, const SettingValue& v) {
  const std::string* name = std::get_if<std::string>(&v);
  if (name == nullptr) return false;
  if (*name == "none") {
    field = 0;
    return true;
  }
  std::optional<int> err = errno_from_name(*name);
  if (err) field = *err;
  return err.has_value();
}

#define DRIVER_ERRNO_SWITCH(field)                                                                 \
  DriverSwitch {                                                                                   \
#field, [](const DriverProfile&                                                                \
                   p) { return errno_setting(p.field); },                                          \
                                                       [](DriverProfile & p,                       \
                                                          const SettingValue&                      \
                                                              v) { return set_errno(p.field, v); } \
  }

SettingValue get_dio_rule(const DriverProfile& p) {
  return std::string(p.dio_rule == DioRule::MinDioAlign ? "MinDioAlign" : "BackingBdev");
}
bool set_dio_rule(DriverProfile& p, const SettingValue& v) {
  const std::string* s = std::get_if<std::string>(&v);
  if (s == nullptr || (*s != "MinDioAlign" && *s != "BackingBdev")) return false;
  p.dio_rule = *s == "MinDioAlign" ? DioRule::MinDioAlign : DioRule::BackingBdev;
  return true;
}
SettingValue get_arg_bits(const DriverProfile& p) {
  return int64_t{p.block_size_arg_bits};
}
bool set_arg_bits(DriverProfile& p, const SettingValue& v) {
  const int64_t* bits = std::get_if<int64_t>(&v);
  if (bits == nullptr || (*bits != 32 && *bits != 64)) return false;
  p.block_size_arg_bits = static_cast<uint8_t>(*bits);
  return true;
}

const DriverSwitch kDriverSwitches[] = {
    DRIVER_SWITCH(deferred_detach),
    DRIVER_SWITCH(rw_iter_sanity_check),
    DRIVER_SWITCH(configure_block_size_early),
    DriverSwitch{"block_size_arg_bits", get_arg_bits, set_arg_bits},
    DRIVER_SWITCH(block_size_exclusive_check),
    DRIVER_SWITCH(large_block_sizes),
    DriverSwitch{"dio_rule", get_dio_rule, set_dio_rule},
    DRIVER_SWITCH(dio_reenabled_by_reconfigure),
    DRIVER_SWITCH(set_dio_reevaluates_first),
    DRIVER_SWITCH(failed_set_block_size_updates_dio),
    DRIVER_SWITCH(created_rotational),
    DRIVER_SWITCH(rotational_follows_lower_device),
    DRIVER_SWITCH(rotational_bind_raises_readahead),
    DRIVER_SWITCH(partscan_rescan_caches_table),
    DRIVER_SWITCH(read_past_backing_eof_is_eio),
    DRIVER_SWITCH(discard_disabled_on_eopnotsupp),
    DRIVER_SWITCH(discard_range_validated_first),
    DRIVER_SWITCH(discard_limits_at_set_block_size),
    DRIVER_SWITCH(backing_io_checks_file_mode),
    DRIVER_SWITCH(write_cache_cleared_on_teardown),
    DRIVER_SWITCH(set_block_size_validated_first),
    DRIVER_SWITCH(default_block_size_follows_dio_flag),
    DRIVER_SWITCH(backing_odirect_honoured_without_dio),
    DRIVER_SWITCH(request_status_einval),
    DRIVER_SWITCH(unaligned_bios_refused),
    DRIVER_SWITCH(bind_rescans_at_next_open),
    DRIVER_SWITCH(odirect_file_write_partial),
    DRIVER_SWITCH(bind_fsyncs_backing),
    DRIVER_ERRNO_SWITCH(unbound_io_errno),
    DRIVER_ERRNO_SWITCH(read_only_write_errno),
    DRIVER_ERRNO_SWITCH(io_past_capacity_errno),
    DRIVER_ERRNO_SWITCH(missing_device_open_errno),
};

#undef DRIVER_SWITCH
#undef DRIVER_ERRNO_SWITCH

const DriverSwitch* find_driver_switch(std::string_view name) {
  for (const DriverSwitch& s : kDriverSwitches)
    if (s.name == name) return &s;
  return nullptr;
}

struct Registered {
  std::string name;
  DriverProfile profile;
};

std::mutex registry_mutex;
std::deque<Registered>& registry() {
  static std::deque<Registered> profiles;
  return profiles;
}

const DriverProfile* find_locked(std::string_view name) {
  for (const Registered& r : registry())
    if (r.name == name) return &r.profile;
  return nullptr;
}

void apply_settings(const profile_file::ProfileDocument& d, DriverProfile& p,
                    DriverProfileLoad& load) {
  for (const profile_file::SwitchSetting& s : d.settings) {
    const DriverSwitch* sw = find_driver_switch(s.name);
    if (sw == nullptr) {
      load.not_implemented.push_back(s.name);
    } else if (!sw->set(p, s.value)) {
      load.errors.push_back(s.source + ": inproc: switch '" + s.name + "' cannot be " +
                            profile_file::format_setting(s.value));
    }
  }
}

}  // namespace

DriverProfileLoad register_driver_profile(const profile_file::ProfileDocument& d) {
  DriverProfileLoad load;
  const DriverProfile* base = d.base.empty() ? &default_profile() : find_profile(d.base);
  if (base == nullptr) {
    load.errors.push_back(d.path + ": inproc: base '" + d.base + "' is not a driver profile");
    return load;
  }
  Registered r{d.name, *base};
  apply_settings(d, r.profile, load);
  if (!load.errors.empty()) return load;
  const DriverProfile* existing = find_profile(d.name);  // a built-in (takes the lock itself)
  std::lock_guard lock(registry_mutex);
  if (existing == nullptr) existing = find_locked(d.name);
  if (existing != nullptr) {
    for (const std::string& diff : driver_switch_differences(r.profile, *existing))
      load.errors.push_back(d.path + ": inproc: '" + d.name +
                            "' is already a driver profile, and this file differs from it in " +
                            diff);
    if (load.errors.empty()) load.profile = existing;
    return load;
  }
  registry().push_back(std::move(r));
  registry().back().profile.name = registry().back().name;
  load.profile = &registry().back().profile;
  return load;
}

const DriverProfile* find_registered_driver_profile(std::string_view name) {
  std::lock_guard lock(registry_mutex);
  return find_locked(name);
}

std::vector<std::string_view> driver_switch_names() {
  std::vector<std::string_view> names;
  for (const DriverSwitch& s : kDriverSwitches) names.push_back(s.name);
  return names;
}

std::vector<std::string> driver_switch_differences(const DriverProfile& a, const DriverProfile& b) {
  std::vector<std::string> out;
  for (const DriverSwitch& s : kDriverSwitches)
    if (s.get(a) != s.get(b))
      out.push_back(std::string(s.name) + " (" + profile_file::format_setting(s.get(a)) + " vs " +
                    profile_file::format_setting(s.get(b)) + ")");
  return out;
}

}  // namespace loopcheck::inproc
