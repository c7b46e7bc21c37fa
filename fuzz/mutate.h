// Structure-aware mutation of fuzz inputs (the format of fuzz/decode.h):
// whole operations are inserted, deleted, duplicated and swapped, and single
// arguments are moved to another boundary value, so almost every mutation gives a
// different, meaningful program. Used by the libFuzzer custom mutator
// (fuzz/libfuzzer/fuzz_inproc.cpp) and by the in-process loop of `loopcheck fuzz`.
//
// In place, no allocation; all randomness from the caller's seeded Prng, so the
// same seed gives the same mutations.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fuzz/prng.h"

namespace loopcheck::fuzz {

enum class Mutation : uint8_t {
  InsertOp,
  DeleteOp,
  DuplicateOp,
  SwapOps,
  ChangeArgument,
  ChangeOperation,
  ChangeProfile,
  kCount,
};

// Mutates data[0, size) into at most max_size bytes and returns the new size
// (always >= kHeaderBytes when max_size allows it). Trailing bytes that make no
// whole record are dropped first. `applied`, when given, says what was done.
size_t mutate(uint8_t* data, size_t size, size_t max_size, Prng& rng, Mutation* applied = nullptr);

// A prefix of records from `a` followed by a suffix of records from `b`, into
// `out` (at most max_out bytes). Returns the size written.
size_t cross_over(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size, uint8_t* out,
                  size_t max_out, Prng& rng);

// A random well-formed input of `records` operations.
size_t random_input(uint8_t* out, size_t max_out, size_t records, Prng& rng);

}  // namespace loopcheck::fuzz
