// Driver profiles loaded from profile files (profiles/*.toml): the same
// document the model reads, applied through the driver's own switch table, so
// `--profile profiles/dragonos.toml` configures the in-process driver as that
// port. A switch the driver does not implement (one the model alone names) is
// left out and listed, never guessed.
#pragma once

#include <string>
#include <vector>

#include "inproc/driver_profile.h"
#include "profile_file/profile_document.h"

namespace loopcheck::inproc {

struct DriverProfileLoad {
  const DriverProfile* profile = nullptr;
  std::vector<std::string> errors;           // empty on success
  std::vector<std::string> not_implemented;  // switches of the file the driver has no twin of
};

// Builds and registers the driver profile a document describes; a document
// naming an existing profile must agree with it and yields that profile.
DriverProfileLoad register_driver_profile(const profile_file::ProfileDocument& document);

// A registered profile by name (nullptr: none); find_profile() asks this after
// the built-ins.
const DriverProfile* find_registered_driver_profile(std::string_view name);

// The driver's switch names, in DriverProfile's order.
std::vector<std::string_view> driver_switch_names();

// Every switch where the two differ, by name.
std::vector<std::string> driver_switch_differences(const DriverProfile& a, const DriverProfile& b);

}  // namespace loopcheck::inproc
