// A target executes trace operations on something real (or on the model) and
// reports outcomes in the model's terms. The runner (oracle/runner.h) drives a
// target beside the model and compares step by step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trace/trace.h"

namespace loopcheck {

struct TargetError {
  bool failed = false;
  std::string message;  // names the problem and the fix
  // The target is not the machine the trace's @env describes (a kernel without
  // a partition parser, a disk of the other kind): the trace is not run there,
  // which the run reports as a skipped trace, never as a pass or a failure.
  bool environment = false;
};

// A statement as a runner plans it: the op with its variable references, and the
// slot its result binds (-1: none).
struct PlannedStatement {
  Op op;
  int16_t bind = -1;
  uint8_t thread = 0;  // a concurrent block's thread (Statement::thread); 0: sequential
  ThreadKind kind = ThreadKind::Thread;  // that thread's (ConcurrentBlock::kinds)
};

// Something that went wrong on the target itself rather than an outcome: a kernel
// crash or warning, a hang, a dead guest, state a reset could not undo.
struct TargetIncident {
  std::string kind;     // "Oops", "WARNING", "Kernel panic", "hang", "guest died", "leaked state"
  std::string where;    // the kernel function the report names; empty when it names none
  size_t step = 0;      // 1-based step during or after which it showed; 0: set-up
  std::string excerpt;  // the console lines, or what the host saw
};

// One statement of a concurrent block as a target ran it: the outcome, and the
// CLOCK_MONOTONIC interval of its system call (the linearizability checker
// places the statement's effects inside it).
struct CallRecord {
  uint32_t stmt = 0;   // Trace::stmts index
  uint8_t thread = 0;  // 0-based block thread
  Outcome outcome;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

// One thread of a concurrent block: its statements in order (Trace::stmts indices
// and the planned ops with their variable references).
struct BlockThread {
  ThreadKind kind = ThreadKind::Thread;  // Process: a process of its own (trace.h)
  std::vector<uint32_t> stmts;
  std::vector<PlannedStatement> statements;
};

struct BlockHistory {
  std::vector<CallRecord> calls;  // one per block statement, in Trace::stmts order
  std::string error;              // set when the block could not run at all
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string_view name() const = 0;

  // Prepare a fresh sandbox for one trace: create its files and directories.
  // `profile` is the model profile the run compares against (a target that
  // implements several releases selects its behaviour from it).
  virtual TargetError start(const Trace& trace, std::string_view profile, const Env& env) = 0;

  // Fills in the environment facts this target knows of itself (whether its
  // backing files' disk is rotational) for the keys the trace does not pin
  // (`pinned`: Trace::env_given). Runners call it before start() and give the
  // model and start() the result; start() refuses a pinned fact it does not have.
  virtual void describe_env(Env& /*env*/, uint16_t /*pinned*/) const {}

  // Execute one operation. Every Value in `op` is a literal in this target's own
  // terms (its fds, its device indices). Data reads fill `digest` and keep the
  // bytes available through last_read() until the next call.
  virtual Outcome execute(const Op& op) = 0;
  virtual std::span<const uint8_t> last_read() const { return {}; }

  // A short summary of the target's state for divergence reports.
  virtual std::string summary() const { return {}; }

  // Undo everything execute() did (close fds, unbind, remove what it created).
  // A target may keep its sandbox's files for the next start() to reset, but
  // removes them when it is destroyed.
  virtual void finish() = 0;

  // Whether plan() is worth calling: a target whose every call is a round trip
  // (the VM) runs a whole program at once instead.
  virtual bool wants_plan() const { return false; }
  // Called before start(): the statements the coming execute() calls will come
  // from, in order. A target may run them all at start() and answer each
  // execute() from what came back; every execute() still receives its op bound
  // to what earlier steps returned (binding as oracle/lockstep.cpp does).
  virtual void plan(std::span<const PlannedStatement> /*statements*/) {}

  // Why the target last skipped a step ("" when it keeps no reasons): a skipped
  // block run names it, since a block has no per-step report.
  virtual std::string last_skip_reason() const { return {}; }

  // Whether run_block() is implemented: the target can run a concurrent block's
  // threads truly at once.
  virtual bool runs_blocks() const { return false; }
  // Runs a concurrent block: one OS thread per block thread, all released by one
  // barrier; each binds its statements from `vars` (this target's values after the
  // statements before the block) and its own results, in order. Afterwards the
  // target's bookkeeping is as if the calls had run one by one.
  virtual BlockHistory run_block(std::span<const BlockThread> /*threads*/,
                                 std::span<const int64_t> /*vars*/) {
    return BlockHistory{{}, std::string(name()) + " cannot run concurrent blocks"};
  }

  // Incidents since the last call (the kernel's own reports, hangs, leaks), for
  // the fuzzer to turn into findings. Most targets have none.
  virtual std::vector<TargetIncident> take_incidents() { return {}; }
};

}  // namespace loopcheck
