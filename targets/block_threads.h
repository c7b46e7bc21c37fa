// Running a concurrent block's threads at once (Target::run_block): one OS
// thread per block thread, a start barrier they all spin on, per-call
// CLOCK_MONOTONIC timestamps. Targets supply how one call runs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "targets/target.h"

namespace loopcheck {

// The interval of the call in progress on this thread: a target that does work
// around its system call (sandbox checks) narrows it to the call itself.
struct CallClock {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  void start();
  void end();
};
int64_t monotonic_ns();

// Executes one bound op of block thread `thread`. Whatever it does not time
// itself (CallClock left at 0) is timed around the whole call.
using BlockCall = std::function<Outcome(size_t thread, const Op& op, CallClock& clock)>;

// Runs every thread's statements in order, binding variables as the runner does
// (an unbound or failed result reads as -1), all threads released together.
BlockHistory run_block_threads(std::span<const BlockThread> threads, std::span<const int64_t> vars,
                               const BlockCall& call);

}  // namespace loopcheck
