// Which (operation, outcome) pairs a search never reached: the pairs docs/semantics.md says
// each operation the scope tries can produce (a catalogue, docs/explorer.md),
// minus the ones the search saw.
#pragma once

#include <string>
#include <vector>

#include "explore/explore.h"

namespace loopcheck::model {

struct CoverageGap {
  std::string op;
  std::string outcome;
};

std::vector<CoverageGap> coverage_gaps(const ExploreOptions& options, const ExploreResult& result);

}  // namespace loopcheck::model
