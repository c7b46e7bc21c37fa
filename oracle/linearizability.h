// Linearizability of a concurrent block's history against the model
// (docs/concurrency.md): is there an order of the model's micro-steps
// (model/concurrency.h), each placed inside its call's [start, end] interval, in
// which every statement returns what the target returned — and in which the
// statements after the block then return what they returned?
//
// Wing & Gong's search, as Porcupine runs it, generalised to calls of several
// micro-steps: a depth-first search over which thread moves next, with a time
// cursor T (every step so far fits at or before it). A step of call c moves T to
// max(T, start(c)) and is allowed only while T stays at or before the end of
// every call not yet finished. Configurations (model state, threads, variables,
// renaming, T) that failed once are not searched again.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "explore/block_machine.h"
#include "oracle/renaming.h"
#include "targets/target.h"

namespace loopcheck {

// A statement after the block as the target ran it.
struct SuffixCall {
  uint32_t stmt = 0;  // Trace::stmts index
  Outcome outcome;
};

struct LinearizabilityInput {
  const Trace* trace = nullptr;
  const model::Profile* profile = nullptr;
  Env env;
  model::BlockConfig start;           // the model after the statements before the block
  Renaming names;                     // the renaming after them
  std::span<const CallRecord> calls;  // the block's calls, Trace::stmts order
  std::span<const SuffixCall> suffix;
  uint64_t max_nodes = 2'000'000;
};

struct LinearizabilityResult {
  bool linearizable = false;
  bool complete = true;  // false: stopped at max_nodes (neither proved nor refuted)
  // A legal order when linearizable: the block thread (0-based) of each micro-step.
  std::vector<uint8_t> witness;
  uint64_t nodes = 0;  // search nodes visited
  double seconds = 0;
  // When not: the furthest the search got and what stopped it there, and the
  // same without line numbers (a finding's signature, fuzz/findings.h).
  std::string why;
  std::string signature;
};

LinearizabilityResult check_linearizable(const LinearizabilityInput& input);

}  // namespace loopcheck
