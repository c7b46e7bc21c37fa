// `loopcheck profile diff A B`: the switches where two profiles differ, and the
// corpus traces whose model outcomes differ between them, each with the first
// statement where they part and the switches that alone make it part.
#pragma once

#include <string>
#include <vector>

#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck::inference {

struct SwitchDifference {
  std::string name, a, b;           // values as profile files write them
  std::vector<std::string> traces;  // sources of the traces this switch alone tells apart
};

struct TraceDifference {
  std::string location;  // "file:line" of the first statement whose outcome differs
  std::string statement;
  std::string a, b;                   // the outcomes under each profile
  std::vector<std::string> switches;  // each alone (A with B's value) changes the trace
};

struct ProfileDiff {
  std::vector<SwitchDifference> switches;
  std::vector<TraceDifference> traces;  // in corpus order
  size_t traces_compared = 0;
};

ProfileDiff diff_profiles(const model::Profile& a, const model::Profile& b,
                          const std::vector<Trace>& corpus);

}  // namespace loopcheck::inference
