// Which model profile a trace runs under: the --profile option; else, on a real
// kernel, the variant of the kernel's own release; else the trace's @profile line
// (a series such as linux-6.1 means its newest variant); else the default.
// A trace pinned to another series or variant than the kernel under test's is not
// run there (it would compare one release's kernel with another release's model).
#pragma once

#include <string>
#include <string_view>

#include "cli/profile_file_option.h"
#include "targets/registry.h"
#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck::cli {

struct ProfileChoice {
  const model::Profile* profile = nullptr;
  bool not_applicable = false;  // pinned to another release than the target's kernel
  std::string error;            // set when profile is null and the trace is applicable
};

inline ProfileChoice choose_profile(std::string_view cli_profile, const Trace& trace,
                                    const TargetChoice& target) {
  auto unknown = [&](std::string_view name) {
    std::string known;
    for (const model::Profile* p : model::kProfiles) {
      if (p->since_patch != 0 && known.find(p->series) == std::string::npos)
        known += (known.empty() ? "" : ", ") + std::string(p->series);
      known += (known.empty() ? "" : ", ") + std::string(p->name);
    }
    return ProfileChoice{
        nullptr, false,
        trace.source + ": unknown profile '" + std::string(name) + "' (known: " + known + ")"};
  };
  if (!cli_profile.empty()) {
    if (const model::Profile* p = model::find_profile(cli_profile)) return {p, false, {}};
    return unknown(cli_profile);
  }
  if (target.native_profile) {
    if (!trace.profile.empty() && !model::pin_admits(trace.profile, *target.native_profile))
      return {nullptr, true, {}};
    return {target.native_profile, false, {}};
  }
  if (target.target && !target.error.empty()) return {nullptr, false, target.error};
  if (trace.profile.empty()) return {&model::kDefaultProfile, false, {}};
  if (const model::Profile* p = model::find_profile(trace.profile)) return {p, false, {}};
  std::string error;  // a pin naming a file in profiles/ ("@profile dragonos")
  if (!load_named_profile(trace.profile, &error).empty())
    return {model::find_profile(trace.profile), false, {}};
  if (!error.empty()) return {nullptr, false, error};
  return unknown(trace.profile);
}

}  // namespace loopcheck::cli
