#include "trace/uevent.h"

#include <fmt/format.h>

#include <charconv>

namespace loopcheck {
namespace {

constexpr std::string_view kSeparator = ", ";

constexpr std::string_view action_name(UeventAction a) {
  switch (a) {
    case UeventAction::Add:
      return "add";
    case UeventAction::Remove:
      return "remove";
    case UeventAction::Change:
      return "change";
  }
  return "?";
}

constexpr std::string_view detail_name(UeventDetail d) {
  switch (d) {
    case UeventDetail::None:
      return "";
    case UeventDetail::Resize:
      return "resize";
    case UeventDetail::MediaChange:
      return "media";
  }
  return "?";
}

template <typename Int>
std::optional<Int> whole_number(std::string_view digits) {
  Int v = 0;
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

// One event's words: ACTION DEVNAME [DETAIL].
std::optional<Uevent> parse_one(std::string_view text) {
  Uevent e;
  const size_t sp = text.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  const auto action = uevent_action_from_name(text.substr(0, sp));
  if (!action) return std::nullopt;
  e.action = *action;
  std::string_view rest = text.substr(sp + 1);
  const size_t sp2 = rest.find(' ');
  const auto name = parse_loop_devname(rest.substr(0, sp2));
  if (!name) return std::nullopt;
  e.device = name->device;
  e.part = name->part;
  if (sp2 == std::string_view::npos) return e;
  const std::string_view detail = rest.substr(sp2 + 1);
  // Only a change of the whole disk carries an extra key.
  if (e.action != UeventAction::Change || e.part != 0) return std::nullopt;
  if (detail == "resize") {
    e.detail = UeventDetail::Resize;
  } else if (detail == "media") {
    e.detail = UeventDetail::MediaChange;
  } else {
    return std::nullopt;
  }
  return e;
}

}  // namespace

void UeventList::push(const Uevent& e) {
  if (count >= kMaxUevents) {
    lost = 1;
    return;
  }
  event[count++] = e;
}

std::string format_uevent(const Uevent& e) {
  std::string out = fmt::format("{} loop{}", action_name(e.action), e.device);
  if (e.part != 0) out += fmt::format("p{}", e.part);
  if (e.detail != UeventDetail::None) out += fmt::format(" {}", detail_name(e.detail));
  return out;
}

std::string format_uevents(const UeventList& list) {
  std::string out;
  for (uint8_t i = 0; i < list.count && i < kMaxUevents; ++i) {
    if (i) out += kSeparator;
    out += format_uevent(list.event[i]);
  }
  return out;
}

std::optional<UeventList> parse_uevents(std::string_view text, std::string* error) {
  UeventList list;
  if (text.empty()) return list;
  for (size_t at = 0;;) {
    const size_t end = text.find(kSeparator, at);
    const std::string_view one = text.substr(at, end == std::string_view::npos ? end : end - at);
    const auto e = parse_one(one);
    if (!e) {
      *error = fmt::format(
          "'{}' is not an event: write ACTION loopN[pK] [resize|media], ACTION one of add, "
          "remove, change, events separated by \", \"",
          one);
      return std::nullopt;
    }
    if (list.count >= kMaxUevents) {
      *error = fmt::format("at most {} events fit one `uevents` expectation", kMaxUevents);
      return std::nullopt;
    }
    list.push(*e);
    if (end == std::string_view::npos) return list;
    at = end + kSeparator.size();
  }
}

std::optional<UeventAction> uevent_action_from_name(std::string_view name) {
  for (UeventAction a : {UeventAction::Add, UeventAction::Remove, UeventAction::Change})
    if (action_name(a) == name) return a;
  return std::nullopt;
}

std::optional<LoopDevName> parse_loop_devname(std::string_view name) {
  if (!name.starts_with("loop")) return std::nullopt;
  name.remove_prefix(4);
  LoopDevName out;
  const size_t p = name.find('p');
  const auto device = whole_number<uint32_t>(name.substr(0, p));
  if (!device) return std::nullopt;
  out.device = *device;
  if (p == std::string_view::npos) return out;
  const auto part = whole_number<uint32_t>(name.substr(p + 1));
  if (!part || *part == 0 || *part > 255) return std::nullopt;
  out.part = static_cast<uint8_t>(*part);
  return out;
}

}  // namespace loopcheck
