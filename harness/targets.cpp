#include "harness/targets.h"

#include <fmt/format.h>

#ifdef LOOPCHECK_HAVE_INPROC
#include "harness/inproc/inproc_target.h"
#endif

namespace loopcheck {

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
  choice.error = fmt::format("unknown target '{}': the targets this build has are: {}", name,
                             fmt::join(available_targets(), ", "));
  return choice;
}

std::vector<std::string> available_targets() {
  std::vector<std::string> names{"model"};
#ifdef LOOPCHECK_HAVE_INPROC
  names.push_back("inproc");
#endif
  return names;
}

}  // namespace loopcheck
