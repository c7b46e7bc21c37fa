// Trace -> text, in the one canonical form: parse_trace(print_trace(t)) == t for
// every valid trace (ignoring source positions and the source name), and
// printing is a fixed point (print(parse(print(t))) == print(t)).
#pragma once

#include <string>

#include "trace/trace.h"

namespace loopcheck {

std::string print_trace(const Trace& trace);

// One statement on one line, without a newline, naming the trace's variables.
std::string print_statement(const Trace& trace, const Statement& stmt);

// An outcome in expectation syntax: `0`, `EBUSY`, `{offset=.. name=".."}` (every
// field of StatusInfo), `4096 data=pattern:7`, `"2048"`, `SKIPPED`. A model
// envelope (Outcome::also_err) is shown as a second alternative: `0 | EIO`.
// A read whose bytes are known only by digest prints as `N data=bytes:0xDIGEST`.
std::string format_outcome(const Outcome& outcome);

// The expectation `loopcheck record` writes for an observed outcome.
// Precondition: outcome.kind != Skipped (a skipped step observed nothing).
ExpectAlt expectation_from(const Outcome& outcome);

// expectation_from widened by the model's envelope: a count range `MIN..MAX` for
// min_value, the alternative errno (also_err) as a second alternative.
Expectation expectation_with_envelope_from(const Outcome& outcome);

// Pieces the reporters reuse.
std::string format_expect_alt(const ExpectAlt& alt);
std::string format_data_desc(const DataDesc& desc);
std::string quote_string(std::string_view bytes);  // "..." with the language's escapes

}  // namespace loopcheck
