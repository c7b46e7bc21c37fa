// One fuzz program run inside the guest in a single round trip (protocol.h
// RunProgram): its statements are bound and executed here, with exactly the
// rules of oracle/lockstep.cpp, so the host can replay the outcomes through its
// lockstep as if each step had been a round trip of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include "targets/host/child_executor.h"
#include "targets/vm/protocol.h"

namespace loopcheck::vm::agent {

struct ProgramRun {
  std::vector<Outcome> outcomes;        // one per statement
  std::vector<CallInterval> intervals;  // one per statement: its call, guest clock
  uint32_t taint_step = 0;     // first step (1-based) after which the taint changed; 0: none
  uint64_t taint = 0;          // after the last step
  std::set<uint64_t> touched;  // device indices the program opened, added or removed
};

// Runs one bound op: `thread` 0 for a sequential statement, k >= 1 on the OS
// thread of a concurrent block's thread k (each needs its own executor).
using ExecuteOn = std::function<Outcome(size_t thread, const Op& op)>;
// Makes the process of a block's `process` thread (host/child_executor.h).
using MakeChild = std::function<std::unique_ptr<host::ChildExecutor>()>;

// Runs every statement: a variable a step binds holds the returned fd or index
// (-1 when the call failed); a statement reading a variable whose step was
// skipped is skipped too (Outcome::skipped), never run on a stand-in value.
// A concurrent block's statements run on their threads at once
// (targets/block_threads.h); inside a block a skipped variable reads as -1. A
// process thread's calls run in a child `make_child` makes for the block.
ProgramRun run_program(std::span<const ProgramStatement> statements, const ExecuteOn& execute,
                       const MakeChild& make_child);

}  // namespace loopcheck::vm::agent
