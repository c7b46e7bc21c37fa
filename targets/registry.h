// Making a target from its command-line name ("model", "inproc", "host").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "targets/target.h"
#include "model/profile.h"

namespace loopcheck {

struct TargetChoice {
  bool ok = false;
  std::unique_ptr<Target> target;  // null for "model": the model runs alone
  // A real kernel is one release: traces run under its profile unless --profile
  // says otherwise. Null: the target can stand for any profile.
  const model::Profile* native_profile = nullptr;
  // The kernel is this machine's, shared by every worker of a parallel run (each
  // VM has its own): traces reading global loop state must then run alone.
  bool shared_kernel = false;
  std::string error;  // names the problem and the fix
};

TargetChoice make_target(std::string_view name);

// A profile file read and registered with both the model and the in-process
// driver (each keeps its own switch table): the profile's name, or the errors,
// each naming the file and line. `--profile FILE.toml` and `inproc:FILE.toml`
// both come here.
struct ProfileFileRegistration {
  std::string name;
  std::vector<std::string> errors;
};
ProfileFileRegistration register_profile_file(const std::string& path);

struct TargetAvailability {
  std::string name;
  bool available = false;
  std::string why_not;  // for a loud "skipped" line
};

// Every target this build knows, in a stable order ("model" first), with whether
// this machine can run it.
std::vector<TargetAvailability> known_targets();

}  // namespace loopcheck
