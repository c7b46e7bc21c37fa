// Comparing a target's outcome with the model's, up to a consistent renaming of
// fds, device indices and file identities, and translating a target's outcome
// into the model's names (so that written expectations read the same everywhere).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "oracle/renaming.h"
#include "trace/trace.h"

namespace loopcheck {

// How a target's outcome met the model's, when it did.
enum class Match : uint8_t {
  Exact,          // the model's main outcome, bytes included
  EnvelopeErrno,  // the model's alternative errno (Outcome::also_err)
  EnvelopeCount,  // a byte count inside the model's range, short of its main count
  UncheckedData,  // the main count, but the model could not predict the bytes
};

struct Comparison {
  bool equal = true;
  Match match = Match::Exact;
  EnvelopeRule rule = EnvelopeRule::None;  // the model rule behind a non-exact match
  std::string why;                         // set when !equal
  bool data_unchecked() const { return equal && match == Match::UncheckedData; }
};

// `bytes` are the bytes the target read (empty when it kept none: then Outcome::digest
// is compared). Records new renaming pairs in `names`.
Comparison compare_outcomes(const Outcome& model, const Outcome& target,
                            std::span<const uint8_t> bytes, Renaming& names);

// The target's outcome with every renamed number replaced by its model-side name.
Outcome to_model_names(const Outcome& target, const Renaming& names);
// The events' device numbers in the model's terms (those not yet seen unchanged).
UeventList to_model_names(const UeventList& target, const Renaming& names);

}  // namespace loopcheck
