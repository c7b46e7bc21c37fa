#include "targets/vm/report_location.h"

#include <cctype>

namespace loopcheck::vm {
namespace {

// "name+0x1a/0x5d0" at `pos` -> "name"; empty unless that shape is there.
std::string symbol_at(std::string_view text, size_t pos) {
  size_t end = pos;
  while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                               text[end] == '_' || text[end] == '.'))
    ++end;
  if (end == pos || text.substr(end, 3) != "+0x") return {};
  return std::string(text.substr(pos, end - pos));
}

// The first line of `text` holding `marker`, from just after it.
std::string_view after_marker(std::string_view text, std::string_view marker) {
  const size_t at = text.find(marker);
  if (at == std::string_view::npos) return {};
  const size_t from = at + marker.size();
  const size_t eol = text.find('\n', from);
  return text.substr(from, eol == std::string_view::npos ? std::string_view::npos : eol - from);
}

}  // namespace

std::string report_location(std::string_view excerpt) {
  // An oops, a BUG or a general protection fault names the faulting function in RIP.
  std::string_view rip = after_marker(excerpt, "RIP: ");
  if (!rip.empty()) {
    const size_t colon = rip.find(':');
    std::string name = symbol_at(rip, colon == std::string_view::npos ? 0 : colon + 1);
    if (!name.empty()) return name;
  }
  // KASAN, KFENCE and friends: "BUG: KASAN: slab-use-after-free in name+0x../0x..".
  std::string_view bug = after_marker(excerpt, "BUG: ");
  if (const size_t in = bug.find(" in "); in != std::string_view::npos) {
    std::string name = symbol_at(bug, in + 4);
    if (!name.empty()) return name;
  }
  // A WARNING: "WARNING: CPU: 0 PID: 1 at FILE:LINE name+0x../0x.. [module]".
  std::string_view warning = after_marker(excerpt, "WARNING: ");
  const size_t at = warning.find(" at ");
  if (at != std::string_view::npos) {
    const size_t space = warning.find(' ', at + 4);
    if (space != std::string_view::npos) return symbol_at(warning, space + 1);
  }
  return {};
}

}  // namespace loopcheck::vm
