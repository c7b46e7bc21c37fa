// The discriminating suite `profile infer` runs on a target: for every switch
// and every value it may take other than the base profile's, the shortest traces
// of the corpus whose model outcomes change when that one switch changes; where
// the corpus has none, seeded generated traces (fuzz/generator.h) are searched
// for one. A target's outcomes on them tell the switch's value; a value no trace
// tells apart is listed, so the report says what the inference could not see.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "inference/profile_variants.h"
#include "trace/trace.h"

namespace loopcheck::inference {

// The model's outcome of every statement, as text ("0", "ENXIO", "512
// data=zero"); a trace with a concurrent block gives none.
std::vector<std::string> model_outcomes(const Trace& trace, const model::Profile& profile);

struct Discriminator {
  SwitchChange change;
  std::vector<size_t> traces;  // into DiscriminatingSuite::traces, fewest statements first
};

struct DiscriminatingSuite {
  std::vector<Trace> traces;                  // corpus traces first, then generated ones
  std::vector<Discriminator> discriminators;  // one per (switch, value other than the base's)
  std::vector<SwitchChange> undiscriminated;  // values no trace was found to tell apart
  size_t generated = 0;                       // traces the generator search contributed
};

struct SuiteOptions {
  size_t per_change = 2;         // at most this many traces per switch value
  uint64_t search_traces = 400;  // generated traces tried per value the corpus cannot tell
  uint64_t search_seed = 1;      // the generator's seed: the same seed, the same suite
};

DiscriminatingSuite build_suite(const std::vector<Trace>& corpus, const model::Profile& base,
                                const SuiteOptions& options);

// The first statement where the two profiles' outcomes differ (its index), or
// nullopt-like npos when they agree on the whole trace.
inline constexpr size_t kAgree = static_cast<size_t>(-1);
size_t first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b);

}  // namespace loopcheck::inference
