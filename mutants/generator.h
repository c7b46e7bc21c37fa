// Mutant generation for drivers/block/loop.c with libclang: the file is parsed
// against the kernel's own headers (the flags Kbuild would pass), then
// tokenized and annotated with the AST. The AST gives the functions, which
// preprocessor branches are compiled out (clang_getSkippedRanges), and which
// `*` / `-` tokens are binary operators; the operators (mutant.h) are rules over
// that token stream, so they are testable on a few lines of C.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mutants/mutant.h"

namespace loopcheck::mutants {

enum class TokenKind : uint8_t { Punctuation, Keyword, Identifier, Literal, Comment };

// What the AST says a token belongs to, as far as the operators care.
enum class TokenRole : uint8_t {
  Other,
  BinaryOperator,
  UnaryOperator,
  IfStatement,
  IntegerLiteral
};

struct Token {
  TokenKind kind = TokenKind::Punctuation;
  TokenRole role = TokenRole::Other;
  std::string text;
  uint32_t offset = 0, line = 0, column = 0;
  int function = -1;     // index into ParsedSource::functions, -1 outside any
  bool mutable_ = true;  // false: compiled out, a preprocessor line, or a printk argument
};

// Why no trace can reach a function: its mutants are skipped, not counted.
enum class Unreachable : uint8_t {
  Reachable,
  ModuleInitExit,  // loop_init/loop_exit/__setup: run before the agent's first trace
  ModuleParam,     // parameter setters: the agent loads loop.ko without parameters
  Compat,          // 32-bit compat ioctls: the agent is a 64-bit program
  IdleTimer,       // the idle-worker timer fires after 60 s idle; no trace idles that long
};
std::string_view unreachable_reason(Unreachable why);

struct FunctionSpan {
  std::string name;
  uint32_t begin = 0, end = 0;  // byte offsets of the definition (end exclusive)
  uint32_t line = 0;
  Unreachable reach = Unreachable::Reachable;
};

struct ParsedSource {
  std::vector<Token> tokens;  // the whole file, in order
  std::vector<FunctionSpan> functions;
  size_t diagnostics_errors = 0;  // clang's error count (the kernel needs gcc extensions)
};

// The clang arguments Kbuild's gcc line amounts to for an out-of-tree module
// built against `headers_dir` (/usr/src/linux-headers-RELEASE and its -common
// sibling, which Debian splits out). Empty with `why` when the headers are missing.
std::vector<std::string> kernel_clang_args(const std::string& headers_dir, std::string* why);

// Parses `source` (named `file_name` in messages) with libclang.
bool parse_source(std::string_view source, std::string_view file_name,
                  const std::vector<std::string>& args, ParsedSource* out, std::string* why);

// Every mutant the operators make of the reachable, mutable tokens, in source
// order, ids 1..N. Function reachability is decided by name (reachability()).
std::vector<Mutant> generate_mutants(const ParsedSource& parsed, std::string_view source);

// The reachability verdict for a function name of loop.c.
Unreachable reachability(std::string_view function_name);

// A deterministic sample of at most `max_count` mutants (each operator keeps its
// share), renumbered 1..N in source order. `seed` picks the sample.
std::vector<Mutant> select_mutants(std::vector<Mutant> all, size_t max_count, uint64_t seed);

}  // namespace loopcheck::mutants
