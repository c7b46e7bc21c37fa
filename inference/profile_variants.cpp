#include "inference/profile_variants.h"

#include <cassert>
#include <iterator>

#include "model/profile_registry.h"

namespace loopcheck::inference {

profile_file::SettingValue setting_of(const model::SwitchValue& value) {
  if (const bool* b = std::get_if<bool>(&value)) return *b;
  if (const unsigned* u = std::get_if<unsigned>(&value)) return int64_t{*u};
  return std::string(std::get<std::string_view>(value));
}

std::vector<const model::Profile*> known_profiles() {
  std::vector<const model::Profile*> out(std::begin(model::kProfiles), std::end(model::kProfiles));
  for (const model::Profile* p : model::registered_profiles()) out.push_back(p);
  return out;
}

std::vector<profile_file::SettingValue> candidate_values(const model::SwitchInfo& info) {
  std::vector<profile_file::SettingValue> values;
  auto add = [&](const profile_file::SettingValue& v) {
    for (const profile_file::SettingValue& known : values)
      if (known == v) return;
    values.push_back(v);
  };
  for (const model::Profile* p : known_profiles()) add(setting_of(info.value(*p)));
  if (std::holds_alternative<bool>(values.front())) {
    add(true);
    add(false);
  }
  return values;
}

model::Profile with_change(const model::Profile& base, const SwitchChange& change) {
  model::Profile p = base;
  const std::string error = change.info->apply(p, change.value);
  assert(error.empty() && "candidate values come from profiles that applied");
  (void)error;
  return p;
}

std::string format_change(const SwitchChange& change) {
  return std::string(change.info->name) + " = " + profile_file::format_setting(change.value);
}

}  // namespace loopcheck::inference
