// Outcome tuples: what one run of a concurrent block showed, one coarse outcome
// per statement (TupleOutcome, trace/trace.h). `allow` lines are sets of them,
// the model's interleavings produce them, and a report lists the tuples a real
// kernel showed beside those the model allows.
#pragma once

#include <span>
#include <string>

#include "trace/trace.h"

namespace loopcheck {

// The coarse form of an outcome: an errno, `fd`, `dev`, a number (a byte count
// for reads and writes), `status`, `text`. Precondition: not Skipped.
TupleOutcome tuple_outcome(const Outcome& outcome);

// `*`, `0`, `4096`, `fd`, `dev`, `EBUSY`, `status`, `text`.
std::string format_tuple_outcome(const TupleOutcome& outcome);

// Whether `observed` is one of the tuples `allowed` describes (`*` matches anything).
bool tuple_allowed(const OutcomeTuple& allowed, const OutcomeTuple& observed);
bool tuple_allowed(std::span<const OutcomeTuple> allowed, const OutcomeTuple& observed);

// An `allow` line's body: `remover=0 opener=ENXIO,EBADF` (threads in declaration
// order, each thread's statements in order).
std::string format_tuple(const Trace& trace, const ConcurrentBlock& block,
                         const OutcomeTuple& tuple);

}  // namespace loopcheck
