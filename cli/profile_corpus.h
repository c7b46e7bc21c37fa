// The corpus `profile diff` and `profile infer` choose traces from, and the
// profile lookup both report with.
#pragma once

#include <string>
#include <vector>

#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck::cli {

// The checkout's traces: the hand-written conformance corpus and the ports'
// scenarios. Not the explorer's suites (corpus/generated): every one of them
// pins @env precreated=0, which a VM (loop.ko creates 8) cannot run, and a suite
// trace a target cannot run tells nothing (a 6.1.0-56 guest then came out as
// linux-6.1.70: its only traces for block_size_exclusive_check were those).
std::vector<std::string> default_profile_corpus();

// Loads the traces; prints the errors and returns false if any file is broken.
bool load_profile_corpus(const std::vector<std::string>& paths, std::vector<Trace>* out);

// The profile of that (already resolved) name, or nullptr after saying so.
const model::Profile* profile_or_complain(const std::string& name);

}  // namespace loopcheck::cli
