// Turning what the explorer found into traces that test real targets.
//
// build_suite picks, for every reachable (abstract class, operation, outcome)
// triple, the BFS-first transition that realises it, deepest first, and writes the
// path to it as a trace — unless an earlier trace already passed through that
// triple. Each trace:
//   * names every fd and device index by a variable (`ctl = open loop-control rw`,
//     `n1 = ioctl ctl LOOP_CTL_ADD -1`, ...), so it runs where numbers differ;
//   * carries the model's outcome as the expectation of every statement that binds
//     nothing (fd/index values are compared by the runner's renaming instead);
//   * ends by putting everything back, computed by running the model: LOOP_CLR_FD
//     of every bound device (opening one if needed), closing every fd, and
//     LOOP_CTL_REMOVE of every device it added — and fails to build if the model
//     does not end with no device and no open file.
#pragma once

#include <string>
#include <vector>

#include "explore/explore.h"
#include "trace/trace.h"

namespace loopcheck::model {

struct SuiteTrace {
  std::string name;                 // file name without directory: "0007-loop_set_fd-ebusy.trace"
  std::vector<std::string> covers;  // the triples it was written for, as text
  Trace trace;
};

// Every trace of the suite, in a stable order. On failure returns what it has and
// sets *error.
std::vector<SuiteTrace> build_suite(const ExploreOptions& options, const ExploreResult& result,
                                    std::string* error);

// Writes the suite to `dir` (created if needed). Earlier explorer-written traces in
// `dir` (first line `# loopcheck explore`) are removed first, so a smaller scope
// leaves no stale files; other files are left alone.
bool write_suite(const std::vector<SuiteTrace>& suite, const std::string& dir, std::string* error);

// A path as a trace with literal fds and indices (for violation reports: it runs
// on the model exactly as explored).
Trace literal_trace(const ExploreOptions& options, const ConcretePath& path);

}  // namespace loopcheck::model
