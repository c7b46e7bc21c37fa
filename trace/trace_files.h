// Loading traces named on a command line: files, or directories searched
// recursively for *.trace, in a stable (sorted) order.
#pragma once

#include <string>
#include <vector>

#include "trace/trace.h"

namespace loopcheck {

struct LoadedTraces {
  std::vector<Trace> traces;
  std::vector<std::string> errors;  // "FILE:LINE:COL: message" or "PATH: message"
  bool ok() const { return errors.empty(); }
};

// Expands directories to their *.trace files (sorted by path).
std::vector<std::string> expand_trace_paths(const std::vector<std::string>& paths,
                                            std::vector<std::string>* errors);

// Reads and parses every trace; a trace with any error is not returned.
LoadedTraces load_traces(const std::vector<std::string>& paths);

}  // namespace loopcheck
