// The corpus `profile diff` and `profile infer` choose traces from, and the
// profile lookup both report with.
#pragma once

#include <string>
#include <vector>

#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck::cli {

// The checkout's traces: the hand-written conformance corpus, the explorer's
// suites (corpus/generated: one trace per reachable operation outcome of each
// profile) and the ports' scenarios.
std::vector<std::string> default_profile_corpus();

// Loads the traces; prints the errors and returns false if any file is broken.
bool load_profile_corpus(const std::vector<std::string>& paths, std::vector<Trace>* out);

// The profile of that (already resolved) name, or nullptr after saying so.
const model::Profile* profile_or_complain(const std::string& name);

}  // namespace loopcheck::cli
