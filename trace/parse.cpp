// The trace parser. The language is line-oriented, so the input is cut into
// lines, each line into tokens, and each line parsed on its own: an error
// abandons only the rest of its line, which lets one run report many errors.
#include "trace/parse.h"

#include <cassert>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "trace/names.h"
#include "trace/validate.h"

namespace loopcheck {

std::string ParseError::format() const {
  return fmt::format("{}:{}:{}: {}", source, line, col, message);
}

namespace {

// ---- tokens ----------------------------------------------------------------------------
enum class Tok : uint8_t {
  Word,       // identifiers, ioctl/errno/flag names, sysfs paths, `loop-control`, profiles
  Number,     // -?[0-9][A-Za-z0-9_]*, checked when converted
  String,     // "..." (decoded into Token::str)
  Directive,  // @trace, @profile, @env
  Equals,
  Arrow,   // =>
  DotDot,  // .. (a byte-count range in an expectation)
  Pipe,
  LBrace,
  RBrace,
  Comma,
  Plus,  // START+SIZE in an mbr= table
  Colon,
  At,
  Star,
  End,  // end of line
};

struct Token {
  Tok kind = Tok::End;
  std::string_view text;
  uint32_t col = 0;
  std::string str;  // Tok::String: the decoded bytes
};

bool is_word_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word_char(char c) {
  return is_word_start(c) || is_digit(c) || c == '.' || c == '-' || c == '/';
}
bool is_alnum(char c) {
  return is_word_start(c) || is_digit(c);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

// ---- numbers ----------------------------------------------------------------------------
struct Number {
  bool negative = false;
  uint64_t magnitude = 0;
};

// Ranges and the other rules the validator checks too (trace/validate.h).
using Range = ValueRange;
using namespace range;

// ---- the parser ---------------------------------------------------------------------------
class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {
    result_.trace.source = std::string(source);
  }

  ParseResult run() {
    size_t start = 0;
    uint32_t line_no = 0;
    while (start <= text_.size() && errors_left()) {
      size_t nl = text_.find('\n', start);
      size_t end = nl == std::string_view::npos ? text_.size() : nl;
      ++line_no;
      line_ = line_no;
      parse_line(text_.substr(start, end - start));
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
    if (!seen_any_ && errors_left())
      error_at(1, 1, "empty trace: the first statement must be `@trace 1`");
    if (in_block_)
      error_at(block_.pos.line, block_.pos.col,
               "this concurrent block has no `end` (close it after its last thread)");
    // The rules once more on the whole Trace: what the token checks above let
    // through would be a parser bug, reported rather than handed to a target.
    if (result_.ok()) {
      for (const TraceProblem& p : validate(result_.trace))
        error_at(p.pos.line ? p.pos.line : 1, p.pos.col ? p.pos.col : 1, p.message);
    }
    return std::move(result_);
  }

 private:
  std::string_view text_;
  std::string_view source_;
  ParseResult result_;
  uint32_t line_ = 0;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  uint32_t end_col_ = 1;
  bool seen_any_ = false;      // a non-blank line was seen
  bool body_started_ = false;  // an object or statement was seen
  bool profile_given_ = false;
  std::map<std::string, uint8_t, std::less<>> var_slots_;

  Trace& trace() { return result_.trace; }
  bool errors_left() const { return result_.errors.size() < kMaxParseErrors; }

  void error_at(uint32_t line, uint32_t col, std::string message) {
    if (!errors_left()) return;
    result_.errors.push_back(ParseError{std::string(source_), line, col, std::move(message)});
  }
  bool fail(const Token& t, std::string message) {
    error_at(line_, t.col, std::move(message));
    return false;
  }

  // ---- lexing one line ----
  // The token a single punctuation character makes; nullopt for any other character.
  static std::optional<Tok> punctuation(char c) {
    switch (c) {
      case '=':
        return Tok::Equals;
      case '|':
        return Tok::Pipe;
      case '{':
        return Tok::LBrace;
      case '}':
        return Tok::RBrace;
      case ',':
        return Tok::Comma;
      case '+':
        return Tok::Plus;
      case ':':
        return Tok::Colon;
      case '@':
        return Tok::At;
      case '*':
        return Tok::Star;
      default:
        return std::nullopt;
    }
  }

  bool lex(std::string_view line) {
    toks_.clear();
    pos_ = 0;
    size_t i = 0;
    auto col_of = [](size_t idx) { return static_cast<uint32_t>(idx + 1); };
    while (i < line.size()) {
      char c = line[i];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
        continue;
      }
      if (c == '#') break;
      Token t;
      t.col = col_of(i);
      size_t begin = i;
      if (is_word_start(c)) {
        while (i < line.size() && is_word_char(line[i])) ++i;
        t.kind = Tok::Word;
      } else if (is_digit(c) || (c == '-' && i + 1 < line.size() && is_digit(line[i + 1]))) {
        ++i;
        while (i < line.size() && is_alnum(line[i])) ++i;
        t.kind = Tok::Number;
      } else if (c == '@' && i + 1 < line.size() && is_word_start(line[i + 1])) {
        ++i;
        while (i < line.size() && is_word_char(line[i])) ++i;
        t.kind = Tok::Directive;
      } else if (c == '"') {
        if (!lex_string(line, i, t)) return false;
        t.kind = Tok::String;
      } else if (c == '=' && i + 1 < line.size() && line[i + 1] == '>') {
        i += 2;
        t.kind = Tok::Arrow;
      } else if (c == '.' && i + 1 < line.size() && line[i + 1] == '.') {
        i += 2;
        t.kind = Tok::DotDot;
      } else {
        ++i;
        const std::optional<Tok> kind = punctuation(c);
        if (!kind) {
          error_at(line_, t.col, fmt::format("unexpected character {}", describe_char(c)));
          return false;
        }
        t.kind = *kind;
      }
      t.text = line.substr(begin, i - begin);
      toks_.push_back(std::move(t));
    }
    // Trailing whitespace/comments do not move the end column past the content.
    end_col_ = static_cast<uint32_t>(line.size() + 1);
    Token end;
    end.kind = Tok::End;
    end.col = end_col_;
    toks_.push_back(end);
    return true;
  }

  bool lex_string(std::string_view line, size_t& i, Token& t) {
    size_t open = i;
    ++i;  // opening quote
    while (i < line.size() && line[i] != '"') {
      char c = line[i];
      if (c != '\\') {
        t.str.push_back(c);
        ++i;
        continue;
      }
      if (i + 1 >= line.size()) break;
      char e = line[i + 1];
      uint32_t esc_col = static_cast<uint32_t>(i + 1);
      switch (e) {
        case '"':
          t.str.push_back('"');
          i += 2;
          break;
        case '\\':
          t.str.push_back('\\');
          i += 2;
          break;
        case 'n':
          t.str.push_back('\n');
          i += 2;
          break;
        case 't':
          t.str.push_back('\t');
          i += 2;
          break;
        case 'x': {
          int hi = i + 2 < line.size() ? hex_value(line[i + 2]) : -1;
          int lo = i + 3 < line.size() ? hex_value(line[i + 3]) : -1;
          if (hi < 0 || lo < 0) {
            error_at(line_, esc_col, "\\x in a string needs exactly two hex digits (\\xHH)");
            return false;
          }
          t.str.push_back(static_cast<char>(hi * 16 + lo));
          i += 4;
          break;
        }
        default:
          error_at(line_, esc_col,
                   fmt::format("unknown escape {} in a string (use \\\" \\\\ \\n \\t \\xHH)",
                               describe_char(e)));
          return false;
      }
    }
    if (i >= line.size()) {
      error_at(line_, static_cast<uint32_t>(open + 1), "unterminated string (missing closing \")");
      return false;
    }
    ++i;  // closing quote
    return true;
  }

  // ---- token cursor ----
  const Token& peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < toks_.size() ? toks_[i] : toks_.back();
  }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  bool at(Tok k) const { return peek().kind == k; }
  bool at_word(std::string_view w) const { return peek().kind == Tok::Word && peek().text == w; }

  static std::string shown(const Token& t) {
    if (t.kind == Tok::End) return "end of line";
    return fmt::format("'{}'", t.text);
  }

  bool expect(Tok k, const char* what) {
    if (at(k)) {
      next();
      return true;
    }
    return fail(peek(), fmt::format("expected {}, got {}", what, shown(peek())));
  }

  bool expect_end(const char* after) {
    if (at(Tok::End)) return true;
    return fail(peek(), fmt::format("unexpected {} after {}", shown(peek()), after));
  }

  // ---- numbers and values ----
  std::optional<Number> number_token(const Token& t) {
    std::string_view s = t.text;
    Number n;
    if (!s.empty() && s[0] == '-') {
      n.negative = true;
      s.remove_prefix(1);
    }
    auto bad = [&](std::string why) -> std::optional<Number> {
      fail(t, fmt::format("invalid number '{}': {}", t.text, why));
      return std::nullopt;
    };
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      for (char c : s.substr(2)) {
        int h = hex_value(c);
        if (h < 0) return bad("not a hex digit");
        if (n.magnitude > (kU64Max >> 4)) return bad("does not fit in 64 bits");
        n.magnitude = (n.magnitude << 4) | static_cast<uint64_t>(h);
      }
      return n;
    }
    uint64_t scale = 1;
    if (!s.empty() && (s.back() == 'K' || s.back() == 'M' || s.back() == 'G')) {
      scale = s.back() == 'K' ? 1ull << 10 : s.back() == 'M' ? 1ull << 20 : 1ull << 30;
      s.remove_suffix(1);
    }
    if (s.empty()) return bad("no digits");
    for (char c : s) {
      if (!is_digit(c)) return bad("expected decimal digits, 0x hex, or a K/M/G suffix");
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (n.magnitude > (kU64Max - d) / 10) return bad("does not fit in 64 bits");
      n.magnitude = n.magnitude * 10 + d;
    }
    if (n.magnitude > kU64Max / scale) return bad("does not fit in 64 bits");
    n.magnitude *= scale;
    if (n.magnitude == 0) n.negative = false;  // -0 is 0
    return n;
  }

  bool in_range(const Token& t, const Number& n, const Range& r) {
    if (!fits(n.negative, n.magnitude, r))
      return fail(t, fmt::format("{} is out of range for {}", t.text, r.type));
    return true;
  }

  static Value to_value(const Number& n) {
    if (!n.negative) return Value::literal(n.magnitude);
    Value v = Value::literal(0 - n.magnitude);  // two's complement
    v.negative = true;
    return v;
  }

  std::optional<Value> literal(const Range& r, const char* what) {
    const Token& t = peek();
    if (t.kind != Tok::Number) {
      fail(t, fmt::format("expected {} (a number), got {}", what, shown(t)));
      return std::nullopt;
    }
    next();
    auto n = number_token(t);
    if (!n || !in_range(t, *n, r)) return std::nullopt;
    return to_value(*n);
  }

  // A number or a variable bound earlier.
  std::optional<Value> value(const Range& r, const char* what) {
    const Token& t = peek();
    if (t.kind == Tok::Word) {
      next();
      if (!is_identifier(t.text)) {
        fail(t, fmt::format("expected {} (a number or a variable), got {}", what, shown(t)));
        return std::nullopt;
      }
      auto it = var_slots_.find(t.text);
      if (it == var_slots_.end()) {
        fail(t, fmt::format("undefined variable '{}' (bind it first: `{} = open ...`)", t.text,
                            t.text));
        return std::nullopt;
      }
      return Value::variable(it->second);
    }
    if (t.kind != Tok::Number) {
      fail(t, fmt::format("expected {} (a number or a variable), got {}", what, shown(t)));
      return std::nullopt;
    }
    return literal(r, what);
  }

  std::optional<std::string> string_token(size_t max_len, const char* what) {
    const Token& t = peek();
    if (t.kind != Tok::String) {
      fail(t, fmt::format("expected {} (a \"string\"), got {}", what, shown(t)));
      return std::nullopt;
    }
    next();
    if (t.str.size() > max_len) {
      fail(t,
           fmt::format("{} is {} bytes long; at most {} are allowed", what, t.str.size(), max_len));
      return std::nullopt;
    }
    return t.str;
  }

  // ---- lines ----
  void parse_line(std::string_view line) {
    if (!lex(line)) return;
    if (at(Tok::End)) return;
    const Token& first = peek();
    if (!seen_any_) {
      seen_any_ = true;
      if (!(first.kind == Tok::Directive && first.text == "@trace"))
        fail(first, "the first statement must be `@trace 1`");
    }
    const bool allow_line = keyword_line("allow");
    if (!allow_line) after_block_ = false;
    if (first.kind == Tok::Directive) {
      parse_directive();
    } else if (at_word("file") || at_word("dir")) {
      body_started_ = true;
      if (in_block_) {
        fail(first, "declare files and directories before the concurrent block");
        return;
      }
      parse_object();
    } else if (keyword_line("concurrent")) {
      body_started_ = true;
      parse_concurrent();
    } else if (keyword_line("thread")) {
      parse_thread();
    } else if (keyword_line("end")) {
      parse_end();
    } else if (allow_line) {
      parse_allow();
    } else {
      body_started_ = true;
      parse_statement();
    }
  }

  // A line starting with one of the block words (`concurrent`, `thread`, `end`,
  // `allow`) unless it binds a variable of that name (`end = open ...`): the
  // words are not reserved, so version-1 traces using them as names still read.
  bool keyword_line(std::string_view word) const {
    return at_word(word) && peek(1).kind != Tok::Equals;
  }

  // ---- concurrent blocks (version 2) ----
  void parse_concurrent() {
    const Token& c = next();
    if (trace().version < 2) {
      fail(c, fmt::format("a concurrent block needs `@trace 2` (this trace says @trace {})",
                          trace().version));
      return;
    }
    if (in_block_) {
      fail(c, "concurrent blocks do not nest: `end` the open one first");
      return;
    }
    if (trace().blocks.size() >= static_cast<size_t>(kMaxBlocks)) {
      fail(c,
           fmt::format("a trace holds at most {} concurrent block (split the trace)", kMaxBlocks));
      return;
    }
    block_ = ConcurrentBlock{};
    block_.pos = SourcePos{line_, c.col};
    block_.first = static_cast<uint32_t>(trace().stmts.size());
    if (at_word("repeat")) {
      next();
      if (!expect(Tok::Equals, "'=' (repeat=N)")) return;
      auto n = literal(kRepeat, "a repeat count");
      if (!n) return;
      if (n->lit == 0) {
        fail(peek(), "repeat=0 would never run the block; use 1 or more");
        return;
      }
      block_.repeat = static_cast<uint32_t>(n->lit);
    }
    if (!expect_end("`concurrent [repeat=N]`")) return;
    in_block_ = true;
  }

  void parse_thread() {
    const Token& t = next();
    if (!in_block_) {
      fail(t, "`thread` belongs inside a concurrent block (`concurrent` ... `end`)");
      return;
    }
    const Token& n = peek();
    if (n.kind != Tok::Word || !is_identifier(n.text)) {
      fail(n, fmt::format("expected a thread name ([a-z_][a-z0-9_]*), got {}", shown(n)));
      return;
    }
    next();
    for (const std::string& other : block_.threads)
      if (other == n.text) {
        fail(n, fmt::format("thread '{}' is already declared in this block", n.text));
        return;
      }
    if (block_.threads.size() >= static_cast<size_t>(kMaxThreads)) {
      fail(t, fmt::format("a concurrent block has at most {} threads", kMaxThreads));
      return;
    }
    block_.threads.emplace_back(n.text);
    block_.kinds.push_back(ThreadKind::Thread);
    thread_statements_ = 0;
    if (peek().kind == Tok::Word && peek().text == "process") {
      next();
      block_.kinds.back() = ThreadKind::Process;
    }
    expect_end("`thread NAME [process]`");
  }

  void parse_end() {
    const Token& e = next();
    if (!in_block_) {
      fail(e, "`end` without a `concurrent` block to close");
      return;
    }
    in_block_ = false;
    if (!expect_end("`end`")) return;
    block_.end = static_cast<uint32_t>(trace().stmts.size());
    block_.end_pos = SourcePos{line_, e.col};
    if (block_.threads.size() < 2) {
      fail(e, "a concurrent block needs at least two threads");
      return;
    }
    std::vector<int> per_thread(block_.threads.size(), 0);
    for (uint32_t i = block_.first; i < block_.end; ++i) ++per_thread[trace().stmts[i].thread - 1u];
    for (size_t k = 0; k < per_thread.size(); ++k)
      if (per_thread[k] == 0) {
        fail(e, fmt::format("thread '{}' has no statements", block_.threads[k]));
        return;
      }
    trace().blocks.push_back(block_);
    after_block_ = true;
  }

  void parse_allow() {
    const Token& a = next();
    if (!after_block_) {
      fail(a, "`allow` lines follow a concurrent block's `end` directly");
      return;
    }
    ConcurrentBlock& block = trace().blocks.back();
    if (block.allowed.size() >= static_cast<size_t>(kMaxAllowedTuples)) {
      fail(a, fmt::format("a block has at most {} allow lines", kMaxAllowedTuples));
      return;
    }
    OutcomeTuple tuple;
    for (size_t k = 0; k < block.threads.size(); ++k)
      if (!parse_allowed_thread(block, k, tuple)) return;
    if (!expect_end("the last thread's outcomes")) return;
    block.allowed.push_back(tuple);
  }

  // `NAME=E,E,...` for the k-th thread: one outcome per statement of it.
  bool parse_allowed_thread(const ConcurrentBlock& block, size_t k, OutcomeTuple& tuple) {
    const Token& n = peek();
    if (n.kind != Tok::Word || n.text != block.threads[k])
      return fail(n, fmt::format("expected `{}=...` (allow lists every thread, in the order they "
                                 "are declared), got {}",
                                 block.threads[k], shown(n)));
    next();
    if (!expect(Tok::Equals, "'='")) return false;
    for (uint32_t i = block.first; i < block.end; ++i) {
      if (trace().stmts[i].thread != k + 1) continue;
      if (tuple.count != i - block.first)
        return fail(peek(), "internal: thread statements are not contiguous");
      if (tuple.count > 0 && trace().stmts[i - 1].thread == k + 1 &&
          !expect(Tok::Comma, fmt::format("',' and the outcome of thread '{}' statement at line {}",
                                          block.threads[k], trace().stmts[i].pos.line)
                                  .c_str()))
        return false;
      auto outcome = tuple_element();
      if (!outcome) return false;
      tuple.at[tuple.count++] = *outcome;
    }
    if (at(Tok::Comma))
      return fail(peek(), fmt::format("thread '{}' has fewer statements than outcomes listed",
                                      block.threads[k]));
    return true;
  }

  std::optional<TupleOutcome> tuple_element() {
    const Token& t = peek();
    TupleOutcome o;
    if (t.kind == Tok::Star) {
      next();
      return o;
    }
    if (t.kind == Tok::Number) {
      auto v = literal(kI64, "a return value");
      if (!v) return std::nullopt;
      o.kind = TupleOutcome::Kind::Value;
      o.value = v->as_signed();
      return o;
    }
    if (t.kind != Tok::Word) {
      fail(t, fmt::format("expected an outcome (a number, an errno name, fd, dev, status, text "
                          "or *), got {}",
                          shown(t)));
      return std::nullopt;
    }
    next();
    using K = TupleOutcome::Kind;
    if (t.text == "fd") o.kind = K::Fd;
    if (t.text == "dev") o.kind = K::Dev;
    if (t.text == "status") o.kind = K::Status;
    if (t.text == "text") o.kind = K::Text;
    if (o.kind != K::Any) return o;
    auto e = errno_from_name(t.text);
    if (!e) {
      fail(t, fmt::format("unknown outcome '{}' (a number, an errno name, fd, dev, status, text "
                          "or *)",
                          t.text));
      return std::nullopt;
    }
    o.kind = K::Errno;
    o.err = *e;
    return o;
  }
  bool in_block_ = false;
  bool after_block_ = false;  // `allow` lines may follow `end` directly
  int thread_statements_ = 0;
  ConcurrentBlock block_;

  void parse_directive() {
    const Token& d = next();
    if (d.text == "@trace") {
      if (trace_seen_) {
        fail(d, "duplicate @trace (it must appear once, first)");
        return;
      }
      trace_seen_ = true;
      auto v = literal(kU32, "a language version");
      if (!v) return;
      if (v->lit < 1 || v->lit > static_cast<uint64_t>(kLanguageVersion)) {
        fail(d, fmt::format("unsupported trace language version {}; this loopcheck reads versions "
                            "1 to {} (a newer loopcheck wrote it: update this one)",
                            v->lit, kLanguageVersion));
        return;
      }
      trace().version = static_cast<int>(v->lit);
      expect_end("@trace N");
      return;
    }
    if (body_started_) {
      fail(d, fmt::format("{} must come before objects and statements", d.text));
      return;
    }
    if (d.text == "@profile") {
      if (profile_given_) {
        fail(d, "duplicate @profile");
        return;
      }
      const Token& p = peek();
      if (p.kind != Tok::Word) {
        fail(p, fmt::format("expected a profile name such as linux-6.18, got {}", shown(p)));
        return;
      }
      next();
      profile_given_ = true;
      trace().profile = std::string(p.text);
      expect_end("the profile name");
      return;
    }
    if (d.text == "@env") {
      if (at(Tok::End)) {
        fail(peek(), "@env needs at least one KEY=VALUE");
        return;
      }
      while (!at(Tok::End)) {
        if (!parse_env_pair()) return;
      }
      return;
    }
    fail(d, fmt::format("unknown directive {} (expected @trace, @profile or @env)", d.text));
  }
  bool trace_seen_ = false;

  bool parse_env_pair() {
    const Token& k = peek();
    if (k.kind != Tok::Word) return fail(k, fmt::format("expected an @env key, got {}", shown(k)));
    next();
    auto key = env_key_from_name(k.text);
    if (!key)
      return fail(k, fmt::format("unknown @env key '{}' (known: precreated cap_sys_admin dio_align "
                                 "bdev_block_size thp max_part rotational cgroup "
                                 "msdos_partitions)",
                                 k.text));
    uint16_t bit = uint16_t(1u << static_cast<int>(*key));
    if (trace().env_given & bit) return fail(k, fmt::format("@env key '{}' given twice", k.text));
    if (!expect(Tok::Equals, "'='")) return false;
    bool boolean = *key == EnvKey::CapSysAdmin || *key == EnvKey::Thp ||
                   *key == EnvKey::Rotational || *key == EnvKey::Cgroup ||
                   *key == EnvKey::MsdosPartitions;
    const Token& vt = peek();
    auto v = literal(boolean ? Range{"a boolean (0 or 1)", false, 0, 1} : kU32, "an @env value");
    if (!v) return false;
    (void)vt;
    Env& env = trace().env;
    auto u32 = static_cast<uint32_t>(v->lit);
    switch (*key) {
      case EnvKey::Precreated:
        env.precreated = u32;
        break;
      case EnvKey::CapSysAdmin:
        env.cap_sys_admin = v->lit != 0;
        break;
      case EnvKey::DioAlign:
        env.dio_align = u32;
        break;
      case EnvKey::BdevBlockSize:
        env.bdev_block_size = u32;
        break;
      case EnvKey::Thp:
        env.thp = v->lit != 0;
        break;
      case EnvKey::MaxPart:
        env.max_part = u32;
        break;
      case EnvKey::Rotational:
        env.rotational = v->lit != 0;
        break;
      case EnvKey::Cgroup:
        env.cgroup = v->lit != 0;
        break;
      case EnvKey::MsdosPartitions:
        env.msdos_partitions = v->lit != 0;
        break;
    }
    trace().env_given |= bit;
    return true;
  }

  std::optional<size_t> find_object(std::string_view name) const {
    const auto& objs = result_.trace.objects;
    for (size_t i = 0; i < objs.size(); ++i)
      if (objs[i].name == name) return i;
    return std::nullopt;
  }

  void parse_object() {
    const Token& kw = next();
    ObjectDecl decl;
    decl.kind = kw.text == "file" ? ObjectDecl::Kind::File : ObjectDecl::Kind::Dir;
    decl.pos = SourcePos{line_, kw.col};
    const Token& nt = peek();
    if (nt.kind == Tok::Equals) {
      fail(kw, fmt::format("'{}' is a reserved word and cannot be a variable", kw.text));
      return;
    }
    if (nt.kind != Tok::Word || !is_identifier(nt.text)) {
      fail(nt, fmt::format("expected a {} name ([a-z_][a-z0-9_]*), got {}", kw.text, shown(nt)));
      return;
    }
    next();
    if (auto prev = find_object(nt.text)) {
      fail(nt, fmt::format("object '{}' is already declared at line {}", nt.text,
                           trace().objects[*prev].pos.line));
      return;
    }
    if (trace().objects.size() >= static_cast<size_t>(kMaxObjects)) {
      fail(nt, fmt::format("too many file/dir declarations (at most {})", kMaxObjects));
      return;
    }
    decl.name = std::string(nt.text);
    bool size_seen = false, fill_seen = false, mbr_seen = false;
    while (!at(Tok::End)) {
      const Token& a = peek();
      if (decl.kind == ObjectDecl::Kind::Dir) {
        fail(a, fmt::format("a dir takes no attributes, got {}", shown(a)));
        return;
      }
      if (at_word("mbr")) {
        if (mbr_seen) {
          fail(a, "mbr given twice");
          return;
        }
        next();
        if (!expect(Tok::Equals, "'='") || !parse_partition_table(decl.mbr)) return;
        mbr_seen = true;
        continue;
      }
      bool is_size = at_word("size"), is_fill = at_word("fill");
      if (!is_size && !is_fill) {
        fail(a, fmt::format("expected size=N, fill=0xHH or mbr=START+SIZE,..., got {}", shown(a)));
        return;
      }
      if ((is_size && size_seen) || (is_fill && fill_seen)) {
        fail(a, fmt::format("{} given twice", a.text));
        return;
      }
      next();
      if (!expect(Tok::Equals, "'='")) return;
      auto v = literal(is_size ? kSize : kU8, is_size ? "a file size" : "a fill byte");
      if (!v) return;
      if (is_size) {
        decl.size = v->lit;
        size_seen = true;
      } else {
        decl.fill = static_cast<uint8_t>(v->lit);
        fill_seen = true;
      }
    }
    trace().objects.push_back(std::move(decl));
  }

  // `START+SIZE[,START+SIZE...]`: one entry per MBR slot, at most four.
  bool parse_partition_table(PartitionTable& table) {
    while (true) {
      if (table.count >= kMaxPartitions) {
        fail(peek(), fmt::format("an MBR has {} entries at most", kMaxPartitions));
        return false;
      }
      auto start = literal(kU32, "a partition's first sector");
      if (!start || !expect(Tok::Plus, "'+' (START+SIZE)")) return false;
      auto size = literal(kU32, "a partition's size in sectors");
      if (!size) return false;
      table.entry[table.count++] =
          PartitionEntry{static_cast<uint32_t>(start->lit), static_cast<uint32_t>(size->lit)};
      if (!at(Tok::Comma)) return true;
      next();
    }
  }

  // ` part K` after a loop index (open, sysfs): 0 when absent.
  bool parse_optional_part(Op& op) {
    if (!at_word("part")) return true;
    next();
    const Token& number_token = peek();
    auto k = literal(kPartNumber, "a partition number");
    if (!k) return false;
    if (k->lit == 0)
      return fail(number_token,
                  "partitions are numbered from 1 (`part 0` is the whole disk: "
                  "leave `part` out)");
    op.part = static_cast<uint8_t>(k->lit);
    return true;
  }

  void parse_statement() {
    Statement st;
    st.pos = SourcePos{line_, peek().col};
    std::optional<std::string_view> bind_name;
    const Token* bind_tok = nullptr;
    if (peek().kind == Tok::Word && peek(1).kind == Tok::Equals) {
      bind_tok = &next();
      next();  // '='
      if (!is_identifier(bind_tok->text)) {
        fail(*bind_tok,
             fmt::format("invalid variable name '{}' (use [a-z_][a-z0-9_]*)", bind_tok->text));
        return;
      }
      if (is_reserved(bind_tok->text)) {
        fail(*bind_tok,
             fmt::format("'{}' is a reserved word and cannot be a variable", bind_tok->text));
        return;
      }
      bind_name = bind_tok->text;
    }
    if (in_block_) {
      if (block_.threads.empty()) {
        fail(peek(),
             "a statement in a concurrent block belongs to a thread: write `thread NAME` "
             "first");
        return;
      }
      if (thread_statements_ >= kMaxThreadStatements ||
          trace().stmts.size() - block_.first >= static_cast<size_t>(kMaxBlockStatements)) {
        fail(peek(), fmt::format("too many statements: a thread has at most {}, a block at most {}",
                                 kMaxThreadStatements, kMaxBlockStatements));
        return;
      }
      ++thread_statements_;
      st.thread = static_cast<uint8_t>(block_.threads.size());
    }
    bool ok = parse_op(st.op);
    if (ok && bind_name && st.op.kind != OpKind::Open && st.op.kind != OpKind::Ioctl) {
      fail(*bind_tok, "only open and ioctl produce a value that a variable can hold");
      ok = false;
    }
    // Bind even after an error, so later lines do not report the name as undefined.
    if (bind_name) {
      auto it = var_slots_.find(*bind_name);
      if (it != var_slots_.end()) {
        st.bind = it->second;
      } else if (trace().vars.size() >= static_cast<size_t>(kMaxVars)) {
        fail(*bind_tok, fmt::format("too many variables (at most {})", kMaxVars));
        return;
      } else {
        auto slot = static_cast<uint8_t>(trace().vars.size());
        trace().vars.emplace_back(*bind_name);
        var_slots_.emplace(std::string(*bind_name), slot);
        st.bind = slot;
      }
    }
    if (!ok) return;
    if (at(Tok::Arrow)) {
      if (in_block_)
        return (void)fail(peek(),
                          "a statement in a concurrent block takes no `=>`: list the "
                          "outcomes a run may show in `allow` lines after `end`");
      next();
      if (!parse_expectation(st.op, st.expect)) return;
    }
    if (!expect_end("the statement")) return;
    trace().stmts.push_back(st);
  }

  // ---- operations ----
  bool parse_op(Op& op) {
    const Token& t = peek();
    if (t.kind != Tok::Word)
      return fail(t, fmt::format("expected an operation (open close ioctl pread pwrite fsync "
                                 "fallocate truncate sysfs allocated uevents), got {}",
                                 shown(t)));
    next();
    std::string_view w = t.text;
    if (w == "open") return parse_open(op);
    if (w == "close" || w == "fsync") {
      op.kind = w == "close" ? OpKind::Close : OpKind::Fsync;
      auto fd = value(kI32, "an fd");
      if (!fd) return false;
      op.subject = *fd;
      return true;
    }
    if (w == "ioctl") return parse_ioctl(op);
    if (w == "pread" || w == "pwrite") return parse_io(op, w == "pwrite");
    if (w == "fallocate") return parse_fallocate(op);
    if (w == "truncate") {
      op.kind = OpKind::Truncate;
      if (!parse_file_ref(op)) return false;
      auto size = literal(kSize, "a new size");
      if (!size) return false;
      op.offset = *size;
      return true;
    }
    if (w == "allocated") {
      op.kind = OpKind::Allocated;
      return parse_file_ref(op);
    }
    if (w == "uevents") {
      op.kind = OpKind::Uevents;
      return true;
    }
    if (w == "sysfs") {
      op.kind = OpKind::Sysfs;
      auto n = value(kIndex, "a loop device index");
      if (!n) return false;
      op.subject = *n;
      if (!parse_optional_part(op)) return false;
      const Token& a = peek();
      if (a.kind != Tok::Word)
        return fail(a, fmt::format("expected a sysfs attribute, got {}", shown(a)));
      next();
      auto attr = sysattr_from_path(a.text);
      if (!attr) return fail(a, fmt::format("unknown sysfs attribute '{}'", a.text));
      if (op.part ? !sysattr_of_partition(*attr) : !sysattr_of_disk(*attr))
        return fail(a, fmt::format("'{}' is not an attribute of a {} (a partition has size, ro, "
                                   "start and partition)",
                                   a.text, op.part ? "partition" : "whole disk"));
      op.attr = *attr;
      return true;
    }
    return fail(t, fmt::format("unknown operation '{}' (expected open close ioctl pread pwrite "
                               "fsync truncate sysfs)",
                               w));
  }

  std::optional<uint8_t> object_ref(ObjectDecl::Kind want) {
    const Token& n = peek();
    const char* kind_word = want == ObjectDecl::Kind::File ? "file" : "dir";
    if (n.kind != Tok::Word) {
      fail(n, fmt::format("expected a {} name, got {}", kind_word, shown(n)));
      return std::nullopt;
    }
    next();
    auto idx = find_object(n.text);
    if (!idx) {
      fail(n, fmt::format("unknown {} '{}' (declare it first: `{} {}`)", kind_word, n.text,
                          kind_word, n.text));
      return std::nullopt;
    }
    if (trace().objects[*idx].kind != want) {
      const char* is = want == ObjectDecl::Kind::File ? "dir" : "file";
      fail(n, fmt::format("'{}' is a {}; use `{} {}`", n.text, is, is, n.text));
      return std::nullopt;
    }
    return static_cast<uint8_t>(*idx);
  }

  bool parse_open(Op& op) {
    op.kind = OpKind::Open;
    const Token& p = peek();
    if (at_word("loop-control")) {
      next();
      op.node = Node::LoopControl;
    } else if (at_word("loop")) {
      next();
      op.node = Node::Loop;
      auto n = value(kIndex, "a loop device index");
      if (!n) return false;
      op.subject = *n;
      if (!parse_optional_part(op)) return false;
    } else if (at_word("file") || at_word("dir")) {
      next();
      bool file = p.text == "file";
      op.node = file ? Node::File : Node::Dir;
      auto obj = object_ref(file ? ObjectDecl::Kind::File : ObjectDecl::Kind::Dir);
      if (!obj) return false;
      op.object = *obj;
    } else {
      return fail(
          p, fmt::format("expected loop-control, loop N, file NAME or dir NAME, got {}", shown(p)));
    }
    const Token& a = peek();
    auto access = a.kind == Tok::Word ? access_from_name(a.text) : std::nullopt;
    if (!access)
      return fail(a, fmt::format("expected the access mode ro, wo or rw, got {}", shown(a)));
    next();
    op.access = *access;
    while (peek().kind == Tok::Word) {
      const Token& f = next();
      auto flag = open_flag_from_name(f.text);
      if (!flag)
        return fail(
            f, fmt::format("unknown open flag '{}' (expected excl direct sync nonblock)", f.text));
      if (op.open_flags & *flag) return fail(f, fmt::format("open flag '{}' given twice", f.text));
      op.open_flags |= *flag;
    }
    return true;
  }

  // `FD OFF LEN`, shared by pread, pwrite and fallocate; LEN within `len_range`.
  bool parse_fd_offset_length(Op& op, const ValueRange& len_range) {
    auto fd = value(kI32, "an fd");
    if (!fd) return false;
    op.subject = *fd;
    auto off = literal(kI64, "an offset");
    if (!off) return false;
    op.offset = *off;
    auto len = literal(len_range, "a length");
    if (!len) return false;
    op.length = len->lit;
    return true;
  }

  // `fallocate FD OFF LEN [MODE...]`: MODE words each at most once.
  bool parse_fallocate(Op& op) {
    op.kind = OpKind::Fallocate;
    if (!parse_fd_offset_length(op, kSize)) return false;
    while (peek().kind == Tok::Word) {
      const Token& f = next();
      auto flag = falloc_flag_from_name(f.text);
      if (!flag)
        return fail(f, fmt::format("unknown fallocate mode '{}' (expected keep_size punch_hole "
                                   "zero_range no_hide_stale)",
                                   f.text));
      if (op.falloc_mode & *flag)
        return fail(f, fmt::format("fallocate mode '{}' given twice", f.text));
      op.falloc_mode |= *flag;
    }
    return true;
  }

  bool parse_io(Op& op, bool write) {
    op.kind = write ? OpKind::Pwrite : OpKind::Pread;
    if (!parse_fd_offset_length(op, kIoLen)) return false;
    if (!write) return true;
    if (!at_word("pattern"))
      return fail(peek(), fmt::format("expected pattern=SEED, got {}", shown(peek())));
    next();
    if (!expect(Tok::Equals, "'='")) return false;
    auto seed = literal(kU32, "a pattern seed");
    if (!seed) return false;
    op.seed = static_cast<uint32_t>(seed->lit);
    return true;
  }

  static std::string pointer_reqs() {
    return "LOOP_SET_STATUS, LOOP_SET_STATUS64, LOOP_GET_STATUS, LOOP_GET_STATUS64, "
           "LOOP_CONFIGURE, BLKDISCARD, BLKZEROOUT and BLKSECDISCARD";
  }

  // `file NAME`: the sandbox file truncate and allocated name (Op::object).
  bool parse_file_ref(Op& op) {
    if (!at_word("file"))
      return fail(peek(), fmt::format("expected `file NAME`, got {}", shown(peek())));
    next();
    auto obj = object_ref(ObjectDecl::Kind::File);
    if (!obj) return false;
    op.object = *obj;
    return true;
  }

  // `START LEN`: the uint64_t[2] BLKDISCARD, BLKZEROOUT and BLKSECDISCARD read
  // (literals only).
  bool parse_range(Op& op, const std::string& name, bool none, const Token& a) {
    if (none) return fail(a, fmt::format("{} needs START LEN (bytes) or `null`", name));
    auto start = value(kU64, "the range's start");
    if (!start) return false;
    auto len = value(kU64, "the range's length");
    if (!len) return false;
    if (start->kind == Value::Kind::Var || len->kind == Value::Kind::Var)
      return fail(a, fmt::format("{}'s START and LEN are numbers, not variables", name));
    op.arg_kind = ArgKind::Range;
    op.offset = *start;
    op.arg = *len;
    return true;
  }

  // REQ: a name, or a number (a known one becomes its name).
  bool parse_request(Op& op) {
    const Token& r = peek();
    if (r.kind == Tok::Word) {
      next();
      auto req = req_from_name(r.text);
      if (!req) return fail(r, fmt::format("unknown ioctl '{}'", r.text));
      op.req = *req;
    } else if (r.kind == Tok::Number) {
      next();
      auto n = number_token(r);
      if (!n || !in_range(r, *n, kRequest)) return false;
      op.req = req_from_number(n->magnitude);
      if (op.req == Req::Unknown) op.raw_req = n->magnitude;
    } else {
      return fail(r, fmt::format("expected an ioctl name or request number, got {}", shown(r)));
    }
    return true;
  }

  bool parse_ioctl(Op& op) {
    op.kind = OpKind::Ioctl;
    auto fd = value(kI32, "an fd");
    if (!fd) return false;
    op.subject = *fd;
    if (!parse_request(op)) return false;
    std::string name =
        op.req == Req::Unknown ? fmt::format("{:#x}", op.raw_req) : std::string(req_name(op.req));
    const Token& a = peek();
    bool none = a.kind == Tok::End || a.kind == Tok::Arrow;
    ReqArg shape = req_arg(op.req);
    if (a.kind == Tok::LBrace && shape != ReqArg::StructIn)
      return fail(a, fmt::format("a {{struct}} argument is only for LOOP_SET_STATUS, "
                                 "LOOP_SET_STATUS64 and LOOP_CONFIGURE, not {}",
                                 name));
    if (at_word("null") || at_word("fault")) {
      const std::string word(a.text);
      if (shape != ReqArg::StructIn && shape != ReqArg::StructOut && shape != ReqArg::Range)
        return fail(a, fmt::format("`{}` is only for {}, not {}", word, pointer_reqs(), name));
      next();
      op.arg_kind = word == "null" ? ArgKind::Null : ArgKind::Fault;
      return true;
    }
    switch (shape) {
      case ReqArg::Ignored:
      case ReqArg::Number:
      case ReqArg::Int: {
        if (none) {
          if (shape == ReqArg::Ignored || op.req == Req::Unknown) return true;
          return fail(a, fmt::format("{} needs an argument", name));
        }
        auto v = value(shape == ReqArg::Int ? kI32 : kULong, "the ioctl argument");
        if (!v) return false;
        op.arg_kind = ArgKind::Number;
        op.arg = *v;
        return true;
      }
      case ReqArg::Out:
        if (!none)
          return fail(
              a, fmt::format("{} takes no argument (the target supplies the result buffer)", name));
        return true;
      case ReqArg::StructOut:
        if (!none)
          return fail(a, fmt::format("{} takes no argument or `null` (the target supplies the "
                                     "struct), got {}",
                                     name, shown(a)));
        return true;
      case ReqArg::Range:
        return parse_range(op, name, none, a);
      case ReqArg::StructIn:
        if (a.kind != Tok::LBrace)
          return fail(a, fmt::format("{} needs a {{struct}} or `null`, got {}", name, shown(a)));
        op.arg_kind = ArgKind::Struct;
        return parse_struct(req_struct(op.req), name, /*expectation=*/false, op.fields);
    }
    return false;
  }

  static const char* struct_label(StructKind st) {
    switch (st) {
      case StructKind::LoopInfo:
        return "struct loop_info";
      case StructKind::LoopInfo64:
        return "struct loop_info64";
      case StructKind::LoopConfig:
        return "struct loop_config";
      case StructKind::None:
        break;
    }
    return "no struct";
  }

  // `{FIELD=VALUE ...}`. In an expectation values are literals only.
  bool parse_struct(StructKind st, const std::string& owner, bool expectation, StructFields& out) {
    if (!expect(Tok::LBrace, "'{'")) return false;
    while (!at(Tok::RBrace)) {
      const Token& ft = peek();
      if (ft.kind == Tok::End) return fail(ft, "unterminated {struct} (missing '}')");
      if (ft.kind != Tok::Word)
        return fail(ft, fmt::format("expected a field name, got {}", shown(ft)));
      next();
      auto f = field_from_name(ft.text);
      if (!f) return fail(ft, fmt::format("unknown field '{}'", ft.text));
      if (!struct_has_field(st, *f))
        return fail(ft, fmt::format("field '{}' does not belong to {} ({})", ft.text, owner,
                                    struct_label(st)));
      if (out.has(*f)) return fail(ft, fmt::format("field '{}' given twice", ft.text));
      if (!expect(Tok::Equals, "'='")) return false;
      if (*f == Field::Name) {
        auto s = string_token(kNameSize, "name");
        if (!s) return false;
        out.present |= field_bit(Field::Name);
        std::copy(s->begin(), s->end(), out.name.bytes.begin());
        out.name.len = static_cast<uint8_t>(s->size());
        continue;
      }
      Range r = field_range(st, *f);
      std::optional<Value> v;
      if (*f == Field::Flags)
        v = flag_expr(r, expectation);
      else
        v = expectation ? literal(r, "a field value") : value(r, "a field value");
      if (!v) return false;
      out.set(*f, *v);
    }
    next();  // '}'
    return true;
  }

  // NAME|NAME|0x2, a single number (may be negative in the legacy int), or a variable.
  std::optional<Value> flag_expr(const Range& r, bool expectation) {
    const Token& first = peek();
    if (first.kind == Tok::Word && is_identifier(first.text)) {
      if (expectation) {
        fail(first, fmt::format("expected flag names or a number, got {}", shown(first)));
        return std::nullopt;
      }
      return value(r, "flags");
    }
    if (first.kind == Tok::Number && peek(1).kind != Tok::Pipe) return literal(r, "flags");
    uint64_t bits = 0;
    for (;;) {
      const Token& t = peek();
      if (t.kind == Tok::Word) {
        next();
        auto fl = lo_flag_from_name(t.text);
        if (!fl) {
          fail(t,
               fmt::format("unknown flag '{}' (expected READ_ONLY AUTOCLEAR PARTSCAN DIRECT_IO or "
                           "a number)",
                           t.text));
          return std::nullopt;
        }
        bits |= *fl;
      } else if (t.kind == Tok::Number) {
        next();
        auto n = number_token(t);
        if (!n) return std::nullopt;
        if (n->negative || n->magnitude > 0xffffffffull) {
          fail(t, fmt::format("{} is out of range for a flag bit set (u32)", t.text));
          return std::nullopt;
        }
        bits |= n->magnitude;
      } else {
        fail(t, fmt::format("expected a flag name or a number, got {}", shown(t)));
        return std::nullopt;
      }
      if (!at(Tok::Pipe)) break;
      next();
    }
    if (bits > r.pos_max) {
      fail(first, fmt::format("flags {:#x} are out of range for {}", bits, r.type));
      return std::nullopt;
    }
    return Value::literal(bits);
  }

  // ---- expectations ----
  bool parse_expectation(const Op& op, Expectation& ex) {
    for (;;) {
      const Token& t = peek();
      if (ex.count >= kMaxAlternatives)
        return fail(t, fmt::format("too many alternatives (at most {})", kMaxAlternatives));
      ExpectAlt alt;
      if (!parse_alternative(op, alt)) return false;
      ex.alt[ex.count++] = std::move(alt);
      if (!at(Tok::Pipe)) return true;
      next();
    }
  }

  bool parse_alternative(const Op& op, ExpectAlt& alt) {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::Number: {
        auto v = literal(kI64, "a return value");
        if (!v) return false;
        alt.kind = ExpectAlt::Kind::Value;
        alt.value = v->as_signed();
        if (op.kind == OpKind::Sysfs)
          return fail(t, "sysfs yields text: expect a \"string\" or an errno");
        if (op.kind == OpKind::Uevents)
          return fail(t, "uevents yields events: expect a \"string\" of them or an errno");
        if (at(Tok::DotDot)) return parse_range_end(op, t, alt);
        if (!at_word("data")) return true;
        const Token& d = next();
        if (op.kind != OpKind::Pread) return fail(d, "data= applies only to pread");
        if (alt.value < 0 || static_cast<uint64_t>(alt.value) > kMaxIoLength)
          return fail(t, "the byte count of a read must be 0..64M");
        if (!expect(Tok::Equals, "'='")) return false;
        alt.kind = ExpectAlt::Kind::Data;
        alt.has_data = true;
        return parse_data(static_cast<uint64_t>(alt.value), alt.data);
      }
      case Tok::Word: {
        next();
        alt.kind = ExpectAlt::Kind::Errno;
        if (t.text == "errno") {
          if (!expect(Tok::Colon, "':' (errno:N)")) return false;
          auto v = literal(kErrno, "an errno number");
          if (!v) return false;
          if (v->lit == 0) return fail(t, "errno:0 is not an error; expect 0 instead");
          alt.err = static_cast<int32_t>(v->lit);
          return true;
        }
        auto e = errno_from_name(t.text);
        if (!e) return fail(t, fmt::format("unknown errno name '{}'", t.text));
        alt.err = *e;
        return true;
      }
      case Tok::LBrace:
        if (!returns_status(op))
          return fail(t,
                      "a {struct} expectation applies only to LOOP_GET_STATUS and "
                      "LOOP_GET_STATUS64");
        alt.kind = ExpectAlt::Kind::Status;
        // GET_STATUS results are widened to loop_info64 (StatusInfo).
        return parse_struct(StructKind::LoopInfo64, "a status expectation", true, alt.fields);
      case Tok::String: {
        if (op.kind == OpKind::Uevents) return parse_uevents_expectation(alt);
        if (op.kind != OpKind::Sysfs)
          return fail(t, "a \"string\" expectation applies only to sysfs and uevents");
        auto s = string_token(kMaxTextSize - 1, "a sysfs value");
        if (!s) return false;
        alt.kind = ExpectAlt::Kind::Text;
        alt.text = std::move(*s);
        return true;
      }
      default:
        return fail(t,
                    fmt::format("expected an expectation (a number, an errno name, a {{struct}} or "
                                "a \"string\"), got {}",
                                shown(t)));
    }
  }

  // `uevents => "change loop0, add loop0p1"`: the events in their text form.
  bool parse_uevents_expectation(ExpectAlt& alt) {
    const Token& t = peek();
    auto s = string_token(kMaxUeventsText, "a list of uevents");
    if (!s) return false;
    std::string why;
    auto list = parse_uevents(*s, &why);
    if (!list) return fail(t, why);
    alt.kind = ExpectAlt::Kind::Uevents;
    alt.uevents = *list;
    return true;
  }

  // `MIN..MAX` after MIN: any byte count in [MIN, MAX] (the model's count
  // envelope, where readahead decides how much a read returns). The bytes of such
  // a count are not described: data= cannot follow.
  bool parse_range_end(const Op& op, const Token& first, ExpectAlt& alt) {
    next();
    if (op.kind != OpKind::Pread && op.kind != OpKind::Pwrite)
      return fail(first, "a count range MIN..MAX applies only to pread and pwrite");
    const Token& t = peek();
    auto hi = literal(kI64, "the range's upper count");
    if (!hi) return false;
    alt.ranged = true;
    alt.range_min = alt.value;
    alt.value = hi->as_signed();
    if (alt.range_min < 0 || alt.range_min >= alt.value)
      return fail(t, fmt::format("a count range needs 0 <= MIN < MAX, got {}..{}", alt.range_min,
                                 alt.value));
    if (at_word("data"))
      return fail(peek(),
                  "data= cannot follow a count range: the bytes of a short count are "
                  "not described");
    return true;
  }

  // data=SEG[,SEG...]; see docs/trace-format.md, "Data descriptors".
  bool parse_data(uint64_t count, DataDesc& out) {
    uint64_t covered = 0;
    bool open_ended = false;
    const Token& desc_start = peek();
    const Token* last_run = &desc_start;
    for (;;) {
      const Token& s = peek();
      last_run = &s;
      if (open_ended) return fail(s, "only the last run may omit its length (*LEN)");
      if (out.count >= kMaxDataSegments)
        return fail(
            s, fmt::format("too many runs in a data descriptor (at most {})", kMaxDataSegments));
      DataSegment seg;
      if (s.kind != Tok::Word)
        return fail(
            s, fmt::format("expected zero, fill:B, pattern:S or bytes:DIGEST, got {}", shown(s)));
      next();
      if (!parse_data_run_kind(s, seg)) return false;
      if (at(Tok::Star)) {
        next();
        const Token& lt = peek();
        auto len = literal(kRunLen, "a run length");
        if (!len) return false;
        if (len->lit == 0)
          return fail(
              lt, "a run length must be at least 1 (omit *LEN on the last run for \"the rest\")");
        seg.length = len->lit;
        if (seg.length > count - covered)
          return fail(lt, fmt::format("the data runs cover more than the {} bytes read", count));
        covered += seg.length;
      } else {
        open_ended = true;
      }
      out.seg[out.count++] = seg;
      if (!at(Tok::Comma)) break;
      next();
    }
    const std::string why = data_desc_problem(count, out);
    if (!why.empty()) return fail(open_ended ? *last_run : desc_start, why);
    return true;
  }

  // What one run of a data descriptor holds, after its kind word `s` (consumed):
  // zero, fill:B, pattern:S[@INDEX] or bytes:DIGEST.
  bool parse_data_run_kind(const Token& s, DataSegment& seg) {
    if (s.text == "zero") {
      seg.kind = DataSegment::Kind::Zero;
    } else if (s.text == "fill") {
      seg.kind = DataSegment::Kind::Fill;
      if (!expect(Tok::Colon, "':' (fill:0xHH)")) return false;
      auto b = literal(kU8, "a fill byte");
      if (!b) return false;
      seg.fill = static_cast<uint8_t>(b->lit);
    } else if (s.text == "pattern") {
      seg.kind = DataSegment::Kind::Pattern;
      if (!expect(Tok::Colon, "':' (pattern:SEED)")) return false;
      auto seed = literal(kU32, "a pattern seed");
      if (!seed) return false;
      seg.seed = static_cast<uint32_t>(seed->lit);
      if (at(Tok::At)) {
        next();
        auto idx = literal(kSize, "a pattern index");
        if (!idx) return false;
        seg.index = idx->lit;
      }
    } else if (s.text == "bytes") {
      seg.kind = DataSegment::Kind::Bytes;
      if (!expect(Tok::Colon, "':' (bytes:0xDIGEST)")) return false;
      auto d = literal(kU64, "a digest");
      if (!d) return false;
      seg.digest = d->lit;
    } else {
      return fail(
          s, fmt::format("unknown data run '{}' (expected zero, fill, pattern or bytes)", s.text));
    }
    return true;
  }
};

}  // namespace

ParseResult parse_trace(std::string_view text, std::string_view source_name) {
  return Parser(text, source_name).run();
}

}  // namespace loopcheck
