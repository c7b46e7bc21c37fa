// Structure-aware mutation of fuzz inputs (the format of fuzz/decode.h):
// whole operations are inserted, deleted, duplicated and swapped, and single
// arguments are moved to another boundary value, so almost every mutation gives a
// different, meaningful program. Used by the libFuzzer custom mutator
// (fuzz/libfuzzer/differential.h) and by the builtin engine (fuzz/campaign.h).
//
// The mutators are a table of named functions, and every input records the
// sequence applied to make it from its parent (as libFuzzer prints
// `MS: 2 InsertByte-ChangeBit-`), so a finding says how it was reached.
//
// In place, no allocation; all randomness from the caller's seeded Prng, so the
// same seed gives the same mutations.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz/prng.h"

namespace loopcheck::fuzz {

// Every step a sequence can record. The first kMutatorCount are the table's
// mutators, which mutate() picks from; the others are steps the engines take
// around it (crossing two inputs, libFuzzer's own byte mutations).
enum class Mutation : uint8_t {
  InsertOp,
  DeleteOp,
  DuplicateOp,
  SwapOps,
  ChangeArgument,
  ChangeOperation,
  ChangeProfile,
  CrossOver,
  LibFuzzerMutate,
  kCount,
};
inline constexpr size_t kMutatorCount = static_cast<size_t>(Mutation::CrossOver);

// One mutator: in place on `records` whole records after the header byte. It may
// assume `applicable(records, room)` held; it updates `records` when it adds or
// removes one.
struct Mutator {
  Mutation id;
  std::string_view name;
  bool (*applicable)(size_t records, size_t room);
  void (*apply)(uint8_t* data, size_t& records, Prng& rng);
};

// The table, indexed by Mutation (first kMutatorCount entries).
std::span<const Mutator> mutators();
std::string_view mutation_name(Mutation m);  // "InsertOp", "CrossOver", "LibFuzzerMutate"

// The steps that made an input from its parent.
struct MutationSequence {
  // Where the input came from: a parent mutated (the steps say how), a seed file
  // as given, a fresh random input, or a crash input libFuzzer saved (whose steps
  // this process never saw).
  enum class Origin : uint8_t { Mutant, Seed, Random, Unknown };
  static constexpr size_t kMaxSteps = 32;
  Origin origin = Origin::Mutant;
  uint8_t count = 0;  // steps taken; only the first kMaxSteps are kept
  std::array<Mutation, kMaxSteps> steps{};

  void push(Mutation m) {
    if (count < kMaxSteps) steps[count] = m;
    if (count < UINT8_MAX) ++count;
  }
  // "3 InsertOp-ChangeArgument-SwapOps", "0 (seed input)", "unknown (libFuzzer input)".
  std::string format() const;
};

// Picks the mutator mutate() applies next to an input of `size` bytes (at most
// `max_size`): a uniform draw, redirected when the input has too few records.
Mutation pick_mutation(size_t size, size_t max_size, Prng& rng);

// Applies mutator `m` (one of the table's; it must be what pick_mutation chose for
// this size) and returns the new size. Trailing bytes that make no whole record
// are dropped first.
size_t apply_mutation(Mutation m, uint8_t* data, size_t size, size_t max_size, Prng& rng);

// Mutates data[0, size) into at most max_size bytes and returns the new size
// (always >= kHeaderBytes when max_size allows it): pick_mutation, then
// apply_mutation. `sequence`, when given, gets the step.
size_t mutate(uint8_t* data, size_t size, size_t max_size, Prng& rng,
              MutationSequence* sequence = nullptr);

// A prefix of records from `a` followed by a suffix of records from `b`, into
// `out` (at most max_out bytes). Returns the size written.
size_t cross_over(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size, uint8_t* out,
                  size_t max_out, Prng& rng);

// A random well-formed input of `records` operations.
size_t random_input(uint8_t* out, size_t max_out, size_t records, Prng& rng);

}  // namespace loopcheck::fuzz
