// The profile switches as data, for `loopcheck profiles`: each switch's name and
// its value in a profile, and the point release of a series where it changes.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/profile.h"
#include "profile_file/profile_document.h"

namespace loopcheck::model {

using SwitchValue = std::variant<bool, unsigned, std::string_view>;

struct SwitchInfo {
  std::string_view name;
  SwitchValue (*value)(const Profile&);
  // Sets the switch from a profile file's value; an error text ("expects true
  // or false") when the value does not fit, and the profile is left unchanged.
  std::string (*apply)(Profile&, const profile_file::SettingValue&);
};

// The switch of that name; nullptr when there is none.
const SwitchInfo* find_switch(std::string_view name);

// Every switch of Profile, in declaration order (tests/model/lifecycle_test.cpp
// checks that none is missing).
std::span<const SwitchInfo> profile_switches();

// A switch whose value differs between two consecutive variants of one series.
struct PointReleaseChange {
  std::string_view series;
  std::string release;  // the later variant's first point release, "6.1.192"
  const Profile* before;
  const Profile* after;
};

std::vector<PointReleaseChange> point_release_changes(const SwitchInfo& info);

std::string format_switch_value(const SwitchValue& value);

}  // namespace loopcheck::model
