// Every interleaving of a concurrent block on the model (docs/concurrency.md):
// the statements before the block run in order, then the threads' micro-steps
// (block_machine.h) in every order the kernel's locking allows. The result is
// the set of outcome tuples the model allows, a witness order for each, and any
// invariant broken in any intermediate state.
//
// Reductions, each optional so that their savings can be measured:
//  - state caching: a configuration (state, cursors, variables, outcomes so far)
//    met before is not expanded again;
//  - sleep sets (Godefroid): after exploring thread t's step, a sibling branch
//    need not try t again until a step dependent on it ran. Independence is
//    decided by running both orders from the configuration at hand and
//    comparing the results, so it is exact for the model (two steps on
//    different devices commute; two opens do not, they take fd numbers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/profile.h"
#include "model/state.h"
#include "trace/trace.h"

namespace loopcheck::model {

struct InterleavingOptions {
  bool cache_states = true;
  bool sleep_sets = true;
  uint64_t max_configs = 5'000'000;  // stop (complete = false) past this many expansions
};

struct AllowedTuple {
  OutcomeTuple tuple;
  std::vector<uint8_t> witness;  // thread (0-based) of each micro-step, in order
};

struct InterleavingResult {
  std::vector<AllowedTuple> tuples;     // sorted by tuple, distinct
  std::vector<std::string> violations;  // invariants broken (the first few)
  uint64_t expanded = 0;                // configurations expanded
  uint64_t transitions = 0;             // micro-steps executed for the search
  uint64_t independence_checks = 0;
  uint64_t executions = 0;  // complete interleavings reached (end of block)
  bool complete = true;
  double seconds = 0;
};

// `env`: the trace's environment as the run fills it in (Target::describe_env).
InterleavingResult explore_interleavings(const Trace& trace, const Profile& profile, const Env& env,
                                         const InterleavingOptions& options = {});

// The model's state and variables after the statements before the block, run in
// order (their written expectations are the runner's business, not checked here).
struct BlockStart {
  State state;
  std::vector<int64_t> vars;
};
BlockStart run_prefix(const Trace& trace, const Profile& profile, const Env& env);

}  // namespace loopcheck::model
