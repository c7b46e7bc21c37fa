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

struct Comparison {
  bool equal = true;
  bool data_unchecked =
      false;        // the model could not predict the bytes; only the count was compared
  std::string why;  // set when !equal
};

// `bytes` are the bytes the target read (empty when it kept none: then Outcome::digest
// is compared). Records new renaming pairs in `names`.
Comparison compare_outcomes(const Outcome& model, const Outcome& target,
                            std::span<const uint8_t> bytes, Renaming& names);

// The target's outcome with every renamed number replaced by its model-side name.
Outcome to_model_names(const Outcome& target, const Renaming& names);

}  // namespace loopcheck
