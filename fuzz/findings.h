// Where fuzz findings live (reports/findings/ by default): one minimized trace per
// signature, named by a hash of the signature, with the signature, the mutators
// that made the input and what each side did in comment lines at the top. The
// file is a runnable trace.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/exec.h"
#include "fuzz/mutate.h"
#include "trace/trace.h"

namespace loopcheck::fuzz {

// The signatures of every finding already stored in `dir` (its `# signature:` lines).
std::set<std::string> known_signatures(const std::string& dir);

// `finding-<16 hex digits of XXH3-64(signature)>.trace`: stable across runs.
std::string finding_file_name(const std::string& signature);

// The file's text: comment header (signature, target, mutations, detail) and the
// trace. `origin` says how it was found ("loopcheck fuzz --target inproc");
// `mutations`, when the finding came from a fuzzer, how its input was made
// (`# mutations: 2 InsertOp-SwapOps`).
std::string finding_file_text(const Trace& trace, const Finding& finding, std::string_view origin,
                              const std::optional<MutationSequence>& mutations = std::nullopt);

// Writes the finding into `dir` (created if needed) unless its signature is known.
// Returns the path written, or "" when it was already there; throws on I/O errors.
std::string store_finding(const std::string& dir, const Trace& trace, const Finding& finding,
                          std::string_view origin,
                          const std::optional<MutationSequence>& mutations = std::nullopt);

// ---- editing a stored finding's header ---------------------------------------------
// The header is the comment lines before the first statement line.

// The rest of the first header line starting with `prefix` ("# signature: "), or
// nullopt when there is none.
std::optional<std::string> header_value(std::string_view text, std::string_view prefix);

// The text with its `# signature:` line replaced by `signature` (added first when
// missing).
std::string with_signature(std::string_view text, std::string_view signature);

// The text with `lines` (one `# triage KERNEL (...)` line per kernel, recorded by
// `loopcheck findings triage --record`) in its header: each replaces the old line
// of the same kernel; lines of kernels not triaged this time stay, and old lines
// naming no kernel (`# triage (open): ...`) go. New kernels follow the remaining
// triage lines, or the signature line.
std::string with_triage_lines(std::string_view text, const std::vector<std::string>& lines);

// Writes through a ".partial" file and a rename: never a half-written finding.
void write_finding_file(const std::string& path, std::string_view text);

}  // namespace loopcheck::fuzz
