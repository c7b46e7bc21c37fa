// `--strict` for run and conformance: a run passes only when every step passed
// exactly or was skipped. A step that passed inside one of the model's envelopes
// (an alternative errno, a count range) or on bytes the model could not predict
// fails it, and is listed with the rule that let it through (docs/envelopes.md).
#pragma once

#include <string>

#include "oracle/report.h"

namespace loopcheck::cli {

// kExitFail when a trace failed, or under `strict` when any step was hedged (those,
// `hedged_steps` from format_hedged_steps, are then listed on stderr); else kExitPass.
int strict_exit_code(const RunTotals& totals, bool strict, const std::string& hedged_steps);

}  // namespace loopcheck::cli
