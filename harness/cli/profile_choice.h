// Which model profile a trace runs under: the --profile option, else the
// trace's @profile line, else the target's default.
#pragma once

#include <string>
#include <string_view>

#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck::cli {

struct ProfileChoice {
  const model::Profile* profile = nullptr;
  std::string error;
};

inline ProfileChoice choose_profile(std::string_view cli_profile, const Trace& trace) {
  std::string_view name = !cli_profile.empty() ? cli_profile : std::string_view(trace.profile);
  if (name.empty()) return {&model::kDefaultProfile, {}};
  if (const model::Profile* p = model::find_profile(name)) return {p, {}};
  std::string known;
  for (const model::Profile* p : model::kProfiles) known += (known.empty() ? "" : ", ") + std::string(p->name);
  return {nullptr, std::string(trace.source) + ": unknown profile '" + std::string(name) + "' (known: " + known + ")"};
}

}  // namespace loopcheck::cli
