// Runs one property under one profile: builds its query in a fresh Z3 context,
// asks the solver with a per-query timeout, and reports the result, the
// counterexample's concrete inputs and the wall time taken.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proofs/properties.h"
#include "proofs/subjects.h"

namespace loopcheck::proofs {

inline constexpr unsigned kDefaultTimeoutMs = 30000;

struct Verdict {
  std::string_view profile;
  std::string_view property;
  Result result = Result::Unknown;
  Result expected = Result::Proved;
  // Inputs of a counterexample as decimal text ("true"/"false" for conditions).
  std::vector<std::pair<std::string, std::string>> counterexample;
  std::string unknown_reason;  // Z3's reason, e.g. "timeout" or "canceled"
  double milliseconds = 0;     // wall time: varies from run to run
  // Set when the query was the very same formula as under an earlier profile, whose
  // answer is reused (the arithmetic does not differ there).
  std::string_view same_query_as;

  bool as_expected() const { return result == expected && result != Result::Unknown; }
};

// `timeout_ms` > 0, per solver call.
Verdict prove(const Property& property, const ProfilePair& profile, const Subjects& subjects,
              unsigned timeout_ms);

// Every property under every profile, profile by profile in the given order. A
// query identical to one already answered is not asked again.
std::vector<Verdict> prove_all(std::span<const ProfilePair> profiles,
                               std::span<const Property> properties, const Subjects& subjects,
                               unsigned timeout_ms);

}  // namespace loopcheck::proofs
