#include "cli/strict.h"

#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"

namespace loopcheck::cli {

int strict_exit_code(const RunTotals& totals, bool strict, const std::string& hedged_steps) {
  const bool hedged = strict && totals.hedged() != 0;
  if (hedged) {
    // On stderr, so that --json output stays one document.
    fmt::print(stderr,
               "strict: {} steps passed only inside a model envelope or with bytes the model "
               "could not predict:\n{}",
               totals.hedged(), hedged_steps);
  }
  return totals.failed != 0 || hedged ? kExitFail : kExitPass;
}

}  // namespace loopcheck::cli
