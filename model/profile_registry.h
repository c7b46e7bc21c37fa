// Profiles loaded from files (profiles/*.toml) beside the compiled ones: a file
// names a base profile and overrides switches through profile_switches(). Once
// registered, a profile is found by name like a built-in one (find_profile), and
// lives as long as the process, so a `const Profile*` to it stays valid.
#pragma once

#include <string>
#include <vector>

#include "model/profile.h"
#include "profile_file/profile_document.h"

namespace loopcheck::model {

struct ProfileLoad {
  const Profile* profile = nullptr;
  std::vector<std::string> errors;  // each names the file and line; empty on success
};

// Builds the profile a document describes and registers it. A document that
// names a built-in profile (or one registered before) must describe it switch
// for switch, and then yields that profile; any difference is an error listing
// each switch with both values. A document without a base sets every switch.
ProfileLoad register_profile(const profile_file::ProfileDocument& document);

// The profiles registered from files, in registration order.
std::vector<const Profile*> registered_profiles();

// A registered profile by name or series (nullptr: none). find_profile() asks
// this after the built-ins.
const Profile* find_registered_profile(std::string_view name);

// Every switch where `a` and `b` differ, as "name (a-value vs b-value)".
std::vector<std::string> switch_differences(const Profile& a, const Profile& b);

}  // namespace loopcheck::model
