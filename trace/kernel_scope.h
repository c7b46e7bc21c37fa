// Which traces may share a kernel with other traces running at the same time.
// Used by the parallel runner (traces in one process) and the host target (a
// machine-wide lock across loopcheck processes).
#pragma once

#include "trace/trace.h"

namespace loopcheck {

// Whether a trace observes kernel-global loop state that a concurrent trace would
// change under it: LOOP_CTL_GET_FREE (which device is free), or a LOOP_CTL_ADD /
// LOOP_CTL_REMOVE of a literal index. Indices the trace got from LOOP_CTL_ADD -1
// are renamed consistently, so such traces run side by side soundly.
bool needs_exclusive_kernel(const Trace& trace);

}  // namespace loopcheck
