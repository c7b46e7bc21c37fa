// Profiles one switch apart: the vocabulary `profile infer` and `profile diff`
// search in. A switch's candidate values are both values of a yes/no switch and
// every value some known profile (built-in or read from a file) gives it, so a
// port's file (profiles/dragonos.toml) teaches the search its errno values.
#pragma once

#include <string>
#include <vector>

#include "model/profile.h"
#include "model/profile_switches.h"
#include "profile_file/profile_document.h"

namespace loopcheck::inference {

struct SwitchChange {
  const model::SwitchInfo* info = nullptr;
  profile_file::SettingValue value;
};

// The value as a profile file writes it.
profile_file::SettingValue setting_of(const model::SwitchValue& value);

// Every value worth trying for the switch, the profile's own included.
std::vector<profile_file::SettingValue> candidate_values(const model::SwitchInfo& info);

// `base` with one switch changed; the name stays the base's.
model::Profile with_change(const model::Profile& base, const SwitchChange& change);

// Built-in profiles, then those registered from files.
std::vector<const model::Profile*> known_profiles();

// "read_only_write_errno = \"EROFS\"".
std::string format_change(const SwitchChange& change);

}  // namespace loopcheck::inference
