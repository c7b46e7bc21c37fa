#include "mutants/mutant.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace loopcheck::mutants {

std::string_view operator_name(Operator op) {
  static constexpr std::array<std::string_view, kOperatorCount> kNames = {
      "relational",    "arithmetic", "errno",       "negated-condition",
      "deleted-guard", "off-by-one", "swapped-flag"};
  return kNames[static_cast<size_t>(op)];
}

bool apply_mutant(std::string_view source, const Mutant& mutant, std::string* out,
                  std::string* why) {
  std::string result;
  result.reserve(source.size() + 64);
  size_t at = 0;
  for (const Edit& e : mutant.edits) {
    if (e.offset < at || size_t(e.offset) + e.length > source.size()) {
      *why = fmt::format(
          "mutant {}: edit at byte {} (+{}) overlaps or leaves the source "
          "({} bytes); was it generated from another loop.c?",
          mutant.id, e.offset, e.length, source.size());
      return false;
    }
    result.append(source.substr(at, e.offset - at));
    result.append(e.text);
    at = e.offset + e.length;
  }
  result.append(source.substr(at));
  *out = std::move(result);
  return true;
}

namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

std::string mutant_diff(std::string_view source, const Mutant& mutant, std::string_view path) {
  std::string mutated, why;
  if (mutant.edits.empty() || !apply_mutant(source, mutant, &mutated, &why)) return why;
  const std::vector<std::string_view> a = split_lines(source), b = split_lines(mutated);
  // The common prefix and suffix of lines; everything between them changed.
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  constexpr size_t kContext = 3;
  const size_t from = prefix > kContext ? prefix - kContext : 0;
  const size_t a_end = std::min(a.size(), a.size() - suffix + kContext);
  const size_t b_end = std::min(b.size(), b.size() - suffix + kContext);
  std::string out = fmt::format("--- a/{0}\n+++ b/{0}\n@@ -{1},{2} +{1},{3} @@\n", path, from + 1,
                                a_end - from, b_end - from);
  for (size_t i = from; i < prefix; ++i) out += fmt::format(" {}\n", a[i]);
  for (size_t i = prefix; i < a.size() - suffix; ++i) out += fmt::format("-{}\n", a[i]);
  for (size_t i = prefix; i < b.size() - suffix; ++i) out += fmt::format("+{}\n", b[i]);
  for (size_t i = a.size() - suffix; i < a_end; ++i) out += fmt::format(" {}\n", a[i]);
  return out;
}

std::string describe(const Mutant& mutant) {
  std::string original = mutant.original, replacement = mutant.replacement;
  constexpr size_t kMax = 60;  // a deleted guard can span lines: keep the line short
  for (std::string* s : {&original, &replacement}) {
    std::replace(s->begin(), s->end(), '\n', ' ');
    std::replace(s->begin(), s->end(), '\t', ' ');
    if (s->size() > kMax) *s = s->substr(0, kMax) + "...";
  }
  return fmt::format("{}:{}:{} {} `{}` -> `{}`", mutant.function, mutant.line, mutant.column,
                     operator_name(mutant.op), original, replacement);
}

}  // namespace loopcheck::mutants
