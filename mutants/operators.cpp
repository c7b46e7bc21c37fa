// The mutation operators of generator.h: rules over the annotated token stream.
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "mutants/generator.h"

namespace loopcheck::mutants {

std::string_view unreachable_reason(Unreachable why) {
  switch (why) {
    case Unreachable::Reachable:
      return "";
    case Unreachable::ModuleInitExit:
      return "module init/exit: runs at load/unload, not in a trace's loop semantics";
    case Unreachable::ModuleParam:
      return "module parameter setter: the agent loads loop.ko without parameters";
    case Unreachable::Compat:
      return "32-bit compat ioctl: the agent is a 64-bit program";
    case Unreachable::IdleTimer:
      return "idle-worker timer: fires after 60 s idle, no trace idles that long";
  }
  return "";
}

Unreachable reachability(std::string_view name) {
  static const std::map<std::string_view, Unreachable> kSkip = {
      {"loop_init", Unreachable::ModuleInitExit},
      {"loop_exit", Unreachable::ModuleInitExit},
      {"max_loop_setup", Unreachable::ModuleInitExit},
      {"max_loop_param_set_int", Unreachable::ModuleParam},
      {"loop_set_hw_queue_depth", Unreachable::ModuleParam},
      {"lo_compat_ioctl", Unreachable::Compat},
      {"loop_info64_from_compat", Unreachable::Compat},
      {"loop_info64_to_compat", Unreachable::Compat},
      {"loop_set_status_compat", Unreachable::Compat},
      {"loop_get_status_compat", Unreachable::Compat},
      {"loop_free_idle_workers_timer", Unreachable::IdleTimer},
  };
  auto it = kSkip.find(name);
  return it == kSkip.end() ? Unreachable::Reachable : it->second;
}

namespace {

struct Context {
  const ParsedSource& parsed;
  std::vector<Mutant>* out;
};

const Token* at(const ParsedSource& p, size_t i) {
  return i < p.tokens.size() ? &p.tokens[i] : nullptr;
}

// An operand ends here: `a`, `1`, `)`, `]` (keywords such as `return` do not).
bool ends_operand(const Token* t) {
  return t && (t->kind == TokenKind::Identifier || t->kind == TokenKind::Literal ||
               t->text == ")" || t->text == "]");
}

void add(const Context& c, Operator op, const Token& t, std::vector<Edit> edits) {
  Mutant m;
  m.op = op;
  m.function = c.parsed.functions[size_t(t.function)].name;
  m.line = t.line;
  m.column = t.column;
  m.original = t.text;
  m.replacement = edits.front().text;
  m.edits = std::move(edits);
  c.out->push_back(std::move(m));
}

void add_replacement(const Context& c, Operator op, const Token& t, std::string text) {
  add(c, op, t, {Edit{t.offset, uint32_t(t.text.size()), std::move(text)}});
}

void relational(const Context& c, size_t i) {
  static const std::map<std::string_view, std::string_view> kSwap = {
      {"<", "<="}, {"<=", "<"}, {">", ">="}, {">=", ">"}, {"==", "!="}, {"!=", "=="}};
  const Token& t = c.parsed.tokens[i];
  auto it = kSwap.find(t.text);
  if (it == kSwap.end() || t.role == TokenRole::UnaryOperator || !ends_operand(at(c.parsed, i - 1)))
    return;
  add_replacement(c, Operator::Relational, t, std::string(it->second));
}

void arithmetic(const Context& c, size_t i) {
  static const std::map<std::string_view, std::string_view> kSwap = {
      {"+", "-"},   {"-", "+"},   {"*", "/"},   {"/", "*"}, {"<<", ">>"},
      {">>", "<<"}, {"+=", "-="}, {"-=", "+="}, {"%", "*"}};
  const Token& t = c.parsed.tokens[i];
  auto it = kSwap.find(t.text);
  if (it == kSwap.end() || t.role == TokenRole::UnaryOperator || !ends_operand(at(c.parsed, i - 1)))
    return;
  // `*` and `/` also declare pointers and end comments: only the AST can tell.
  if ((t.text == "*" || t.text == "/") && t.role != TokenRole::BinaryOperator) return;
  add_replacement(c, Operator::Arithmetic, t, std::string(it->second));
}

}  // namespace

namespace {

// Each errno becomes one a trace can tell apart from it (EINVAL and EBUSY are
// the answers loop.c gives most; the others fall back to EINVAL).
std::optional<std::string_view> errno_swap(std::string_view name) {
  static const std::map<std::string_view, std::string_view> kSwap = {
      {"EINVAL", "EBUSY"},       {"EBUSY", "EINVAL"},     {"ENXIO", "EINVAL"},
      {"EPERM", "EACCES"},       {"EACCES", "EPERM"},     {"EFAULT", "EINVAL"},
      {"ENOMEM", "EINVAL"},      {"ENODEV", "EINVAL"},    {"EBADF", "EINVAL"},
      {"EIO", "EINVAL"},         {"ENOTTY", "EINVAL"},    {"EAGAIN", "EINVAL"},
      {"EEXIST", "EINVAL"},      {"ENOSPC", "EINVAL"},    {"EOPNOTSUPP", "EINVAL"},
      {"EROFS", "EINVAL"},       {"EOVERFLOW", "EINVAL"}, {"ENOENT", "EINVAL"},
      {"ENOIOCTLCMD", "EINVAL"}, {"EINTR", "EINVAL"}};
  auto it = kSwap.find(name);
  if (it == kSwap.end()) return std::nullopt;
  return it->second;
}

void errno_constant(const Context& c, size_t i) {
  const Token& t = c.parsed.tokens[i];
  const Token* before = at(c.parsed, i - 1);
  auto swap = errno_swap(t.text);
  if (t.kind != TokenKind::Identifier || !swap || !before || before->text != "-") return;
  add_replacement(c, Operator::ErrnoConstant, t, std::string(*swap));
}

// The index of the token closing the bracket opened at `open`, or 0.
size_t matching(const ParsedSource& p, size_t open) {
  const std::string& o = p.tokens[open].text;
  const std::string_view close = o == "(" ? ")" : o == "{" ? "}" : "]";
  int depth = 0;
  for (size_t j = open; j < p.tokens.size(); ++j) {
    if (p.tokens[j].text == o) ++depth;
    if (p.tokens[j].text == close && --depth == 0) return j;
  }
  return 0;
}

void negated_condition(const Context& c, size_t i) {
  const Token& t = c.parsed.tokens[i];
  const Token* open = at(c.parsed, i + 1);
  if (t.text != "if" || !open || open->text != "(") return;
  const size_t close = matching(c.parsed, i + 1);
  if (!close) return;
  const Token& last = c.parsed.tokens[close];
  Mutant m;
  add(c, Operator::NegatedCondition, t, {Edit{open->offset, 1, "(!("}, Edit{last.offset, 1, "))"}});
  c.out->back().original = "if (";
  c.out->back().replacement = "if (!(";
}

// The last token of a guard's body starting at `b`: `return -E…;`, `goto L;`,
// or a short block `{ …; return -E…; }` / `{ …; goto L; }` with no control flow
// of its own; 0 when the statement is no guard.
size_t guard_body_end(const ParsedSource& p, size_t b) {
  auto text = [&](size_t j) -> std::string_view {
    return j < p.tokens.size() ? std::string_view(p.tokens[j].text) : "";
  };
  auto statement_end = [&](size_t j) {
    while (j < p.tokens.size() && text(j) != ";") ++j;
    return j < p.tokens.size() ? j : 0;
  };
  if (text(b) == "return" && text(b + 1) == "-" && errno_swap(text(b + 2))) return statement_end(b);
  if (text(b) == "goto") return statement_end(b);
  if (text(b) != "{") return 0;
  const size_t close = matching(p, b);
  constexpr size_t kShortBlock = 24;
  if (!close || close - b > kShortBlock) return 0;
  bool exits = false;
  for (size_t j = b + 1; j < close; ++j) {
    const std::string_view s = text(j);
    if (s == "if" || s == "for" || s == "while" || s == "switch") return 0;
    if (s == "goto" || (s == "return" && text(j + 1) == "-" && errno_swap(text(j + 2))))
      exits = true;
  }
  return exits ? close : 0;
}

void deleted_guard(const Context& c, size_t i, std::string_view source) {
  const Token& t = c.parsed.tokens[i];
  if (t.text != "if" || !at(c.parsed, i + 1) || c.parsed.tokens[i + 1].text != "(") return;
  const size_t close = matching(c.parsed, i + 1);
  const size_t end = close ? guard_body_end(c.parsed, close + 1) : 0;
  if (!end) return;
  if (const Token* after = at(c.parsed, end + 1); after && after->text == "else") return;
  const Token& last = c.parsed.tokens[end];
  const uint32_t stop = last.offset + uint32_t(last.text.size());
  const std::string_view removed = source.substr(t.offset, stop - t.offset);
  // Keep the newlines so every later line keeps its number (diffs, __LINE__).
  std::string text = "/* guard deleted */;";
  text.append(size_t(std::count(removed.begin(), removed.end(), '\n')), '\n');
  add(c, Operator::DeletedGuard, t, {Edit{t.offset, stop - t.offset, text}});
  c.out->back().original = std::string(removed);
}

}  // namespace

namespace {

bool is_arithmetic(std::string_view s) {
  static constexpr std::array<std::string_view, 13> kOps = {"+", "-", "*",  "/",  "%",   "<<", ">>",
                                                            "&", "|", "+=", "-=", "<<=", ">>="};
  return std::find(kOps.begin(), kOps.end(), s) != kOps.end();
}

bool is_comparison(std::string_view s) {
  return s == "<" || s == "<=" || s == ">" || s == ">=" || s == "==" || s == "!=";
}

// A decimal or hex literal with an optional U/L suffix: value, and how to print one.
struct Literal {
  uint64_t value = 0;
  bool hex = false;
  std::string suffix;
};

std::optional<Literal> parse_literal(std::string_view s) {
  Literal lit;
  size_t end = s.find_first_of("uUlL");
  if (end == std::string_view::npos) end = s.size();
  lit.suffix = std::string(s.substr(end));
  std::string_view digits = s.substr(0, end);
  lit.hex = digits.starts_with("0x") || digits.starts_with("0X");
  if (lit.hex) digits.remove_prefix(2);
  if (digits.empty()) return std::nullopt;
  for (char ch : digits) {
    const int d =
        lit.hex && std::isxdigit(static_cast<unsigned char>(ch))
            ? (std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0' : (ch | 0x20) - 'a' + 10)
            : (std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0' : -1);
    if (d < 0) return std::nullopt;
    lit.value = lit.value * (lit.hex ? 16 : 10) + uint64_t(d);
  }
  return lit;
}

// Integer literals in size and offset arithmetic: an operand of an arithmetic
// operator, or compared against (a comparison with 0 is an error check, which
// the relational operator covers).
void off_by_one(const Context& c, size_t i) {
  const Token& t = c.parsed.tokens[i];
  if (t.kind != TokenKind::Literal || t.role != TokenRole::IntegerLiteral) return;
  const Token* before = at(c.parsed, i - 1);
  const Token* after = at(c.parsed, i + 1);
  auto lit = parse_literal(t.text);
  if (!lit) return;
  const bool arith = (before && is_arithmetic(before->text) && ends_operand(at(c.parsed, i - 2))) ||
                     (after && is_arithmetic(after->text));
  const bool compared = lit->value != 0 && ((before && is_comparison(before->text)) ||
                                            (after && is_comparison(after->text)));
  if (!arith && !compared) return;
  for (int delta : {+1, -1}) {
    if (delta < 0 && lit->value == 0) continue;
    const uint64_t v = lit->value + uint64_t(int64_t(delta));
    add_replacement(c, Operator::OffByOne, t,
                    (lit->hex ? fmt::format("0x{:x}", v) : fmt::format("{}", v)) + lit->suffix);
  }
}

// Each flag becomes a sibling of its family: a mask that tests, sets or clears
// the wrong bit.
void swapped_flag(const Context& c, size_t i) {
  static const std::map<std::string_view, std::string_view> kSwap = {
      {"LO_FLAGS_READ_ONLY", "LO_FLAGS_AUTOCLEAR"},
      {"LO_FLAGS_AUTOCLEAR", "LO_FLAGS_PARTSCAN"},
      {"LO_FLAGS_PARTSCAN", "LO_FLAGS_DIRECT_IO"},
      {"LO_FLAGS_DIRECT_IO", "LO_FLAGS_READ_ONLY"},
      {"FMODE_READ", "FMODE_WRITE"},
      {"FMODE_WRITE", "FMODE_READ"},
      {"FMODE_EXCL", "FMODE_WRITE"},
      {"LOOP_SET_STATUS_SETTABLE_FLAGS", "LOOP_SET_STATUS_CLEARABLE_FLAGS"},
      {"LOOP_SET_STATUS_CLEARABLE_FLAGS", "LOOP_SET_STATUS_SETTABLE_FLAGS"},
      {"LOOP_CONFIGURE_SETTABLE_FLAGS", "LOOP_SET_STATUS_SETTABLE_FLAGS"},
      {"FALLOC_FL_PUNCH_HOLE", "FALLOC_FL_ZERO_RANGE"},
      {"FALLOC_FL_ZERO_RANGE", "FALLOC_FL_PUNCH_HOLE"},
      {"O_DIRECT", "O_SYNC"},
  };
  const Token& t = c.parsed.tokens[i];
  auto it = kSwap.find(t.text);
  if (t.kind != TokenKind::Identifier || it == kSwap.end()) return;
  add_replacement(c, Operator::SwappedFlag, t, std::string(it->second));
}

}  // namespace

std::vector<Mutant> generate_mutants(const ParsedSource& parsed, std::string_view source) {
  std::vector<Mutant> out;
  const Context c{parsed, &out};
  for (size_t i = 0; i < parsed.tokens.size(); ++i) {
    const Token& t = parsed.tokens[i];
    if (!t.mutable_ || t.function < 0 ||
        parsed.functions[size_t(t.function)].reach != Unreachable::Reachable)
      continue;
    relational(c, i);
    arithmetic(c, i);
    errno_constant(c, i);
    negated_condition(c, i);
    deleted_guard(c, i, source);
    off_by_one(c, i);
    swapped_flag(c, i);
  }
  // Source order (two edits at one token keep the operator order above).
  std::stable_sort(out.begin(), out.end(), [](const Mutant& a, const Mutant& b) {
    return a.edits.front().offset < b.edits.front().offset;
  });
  for (size_t k = 0; k < out.size(); ++k) out[k].id = uint32_t(k + 1);
  return out;
}

std::vector<Mutant> select_mutants(std::vector<Mutant> all, size_t max_count, uint64_t seed) {
  if (all.size() > max_count) {
    // Rank each mutant by a seeded hash of what it is (not of its id), and keep
    // each operator's share of the best-ranked.
    std::vector<std::pair<uint64_t, size_t>> ranked;
    for (size_t k = 0; k < all.size(); ++k) {
      const std::string key = describe(all[k]) + fmt::format("@{}", all[k].edits.front().offset);
      ranked.emplace_back(XXH3_64bits_withSeed(key.data(), key.size(), seed), k);
    }
    std::sort(ranked.begin(), ranked.end());
    std::array<size_t, kOperatorCount> total{}, taken{};
    for (const Mutant& m : all) ++total[size_t(m.op)];
    std::vector<bool> keep(all.size(), false);
    size_t kept = 0;
    for (const auto& [hash, k] : ranked) {
      const size_t op = size_t(all[k].op);
      const size_t share = (total[op] * max_count + all.size() - 1) / all.size();
      if (taken[op] >= share || kept >= max_count) continue;
      keep[k] = true;
      ++taken[op];
      ++kept;
    }
    std::vector<Mutant> chosen;
    for (size_t k = 0; k < all.size(); ++k)
      if (keep[k]) chosen.push_back(std::move(all[k]));
    all = std::move(chosen);
  }
  for (size_t k = 0; k < all.size(); ++k) all[k].id = uint32_t(k + 1);
  return all;
}

}  // namespace loopcheck::mutants
