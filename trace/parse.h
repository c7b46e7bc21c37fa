// Text -> Trace. A hand-written lexer and recursive-descent parser for the whole
// language of docs/trace-format.md. It validates everything a target would
// otherwise trip over (names, arity, ranges, variables, what each expectation may
// say), so a Trace that parses is safe to hand to any target.
//
// Robustness contract: any byte string is accepted as input; parsing never
// crashes, never reads out of bounds and is linear in the input size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trace/trace.h"

namespace loopcheck {

// Parsing stops collecting after this many errors (later ones are usually echoes).
inline constexpr size_t kMaxParseErrors = 20;

struct ParseError {
  std::string source;
  uint32_t line = 0, col = 0;  // 1-based; col counts bytes
  std::string message;
  std::string format() const;  // "FILE:LINE:COL: message"
};

struct ParseResult {
  Trace trace;  // complete only when ok(); never execute a trace with errors
  std::vector<ParseError> errors;
  bool ok() const { return errors.empty(); }
};

ParseResult parse_trace(std::string_view text, std::string_view source_name);

}  // namespace loopcheck
