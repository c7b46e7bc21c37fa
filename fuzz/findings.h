// Where fuzz findings live (corpus/findings/ by default): one minimized trace per
// signature, named by a hash of the signature, with the signature and what each
// side did in comment lines at the top. The file is a runnable trace.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "fuzz/exec.h"
#include "trace/trace.h"

namespace loopcheck::fuzz {

// The signatures of every finding already stored in `dir` (its `# signature:` lines).
std::set<std::string> known_signatures(const std::string& dir);

// `finding-<16 hex digits of XXH3-64(signature)>.trace`: stable across runs.
std::string finding_file_name(const std::string& signature);

// The file's text: comment header (signature, target, detail) and the trace.
// `origin` says how it was found ("loopcheck fuzz --target inproc").
std::string finding_file_text(const Trace& trace, const Finding& finding, std::string_view origin);

// Writes the finding into `dir` (created if needed) unless its signature is known.
// Returns the path written, or "" when it was already there; throws on I/O errors.
std::string store_finding(const std::string& dir, const Trace& trace, const Finding& finding,
                          std::string_view origin);

}  // namespace loopcheck::fuzz
