// Running many traces on several target instances at once. Real-kernel control
// ioctls spend most of their time waiting (an RCU grace period per
// LOOP_SET_STATUS64), so a second worker with its own devices nearly doubles
// host throughput. Each worker owns one target instance (its own sandbox and
// devices); results come back in input order, so output stays deterministic for
// targets that are.
#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "oracle/runner.h"
#include "model/profile.h"
#include "trace/kernel_scope.h"
#include "trace/trace.h"

namespace loopcheck {

struct PlannedRun {
  const Trace* trace = nullptr;
  const model::Profile* profile = nullptr;
  // Runs with no other trace in flight (see needs_exclusive_kernel).
  bool exclusive = false;
};

// Traces marked exclusive run alone: every earlier one has finished and no later
// one starts until it is done. `on_result(i, result)` is called on the calling thread for i = 0, 1,
// 2, ... in order, as soon as result i and all before it are done. Returns false (and runs nothing)
// when the target cannot be made; `error` says why.
bool run_traces_parallel(std::span<const PlannedRun> runs, std::string_view target_name,
                         unsigned jobs, const RunOptions& options,
                         const std::function<void(size_t, const TraceResult&)>& on_result,
                         std::string* error);

}  // namespace loopcheck
