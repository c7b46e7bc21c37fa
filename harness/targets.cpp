#include "harness/targets.h"

#include <fmt/format.h>

#include "harness/host/host_target.h"
#ifdef LOOPCHECK_HAVE_INPROC
#include "harness/inproc/inproc_target.h"
#endif

namespace loopcheck {

namespace {

std::string target_names() {
  std::string names;
  for (const TargetAvailability& t : known_targets()) names += (names.empty() ? "" : ", ") + t.name;
  return names;
}

}  // namespace

TargetChoice make_target(std::string_view name) {
  TargetChoice choice;
  if (name == "model") {
    choice.ok = true;
    return choice;
  }
#ifdef LOOPCHECK_HAVE_INPROC
  if (name == "inproc") {
    choice.ok = true;
    choice.target = std::make_unique<inproc::InprocTarget>();
    return choice;
  }
#endif
  if (name == "host") {
    std::string why;
    if (!host_loop_available(&why)) {
      choice.error = fmt::format("target 'host' cannot run here: {}", why);
      return choice;
    }
    std::string release = host_kernel_release();
    choice.native_profile = model::profile_for_release(release);
    if (!choice.native_profile) {
      choice.error = fmt::format(
          "target 'host': no model profile covers this kernel ({}); pass --profile linux-6.1|linux-6.12|linux-6.18 "
          "to compare against one anyway",
          release);
    }
    choice.ok = true;  // usable with an explicit --profile even when no profile fits
    choice.target = std::make_unique<HostTarget>();
    return choice;
  }
  choice.error = fmt::format("unknown target '{}': the targets this build has are: {}", name, target_names());
  return choice;
}

std::vector<TargetAvailability> known_targets() {
  std::vector<TargetAvailability> targets{{"model", true, {}}};
#ifdef LOOPCHECK_HAVE_INPROC
  targets.push_back({"inproc", true, {}});
#endif
  TargetAvailability host{"host", false, {}};
  host.available = host_loop_available(&host.why_not);
  targets.push_back(host);
  return targets;
}

}  // namespace loopcheck
