#include "oracle/compare.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

#include "trace/data.h"
#include "trace/names.h"
#include "trace/print.h"

namespace loopcheck {
namespace {

constexpr std::string_view kLoopDevPrefix = "/dev/loop";

// "/dev/loopN" -> N: sysfs backing_file names a stacked device by its index.
std::optional<uint64_t> loop_index_in_path(std::string_view text) {
  if (!text.starts_with(kLoopDevPrefix)) return std::nullopt;
  std::string_view digits = text.substr(kLoopDevPrefix.size());
  uint64_t index = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

RenameKind rename_kind(ValueRole role) {
  return role == ValueRole::Fd ? RenameKind::Fd : RenameKind::DevIndex;
}

Comparison differ(std::string why) {
  return Comparison{false, Match::Exact, EnvelopeRule::None, std::move(why)};
}

// A match the model's envelope admitted; an untagged envelope shows as such.
Comparison hedged(Match match, EnvelopeRule rule) {
  return Comparison{
      true, match, rule == EnvelopeRule::None ? EnvelopeRule::Unattributed : rule, {}};
}

bool in_count_envelope(const Outcome& m, int64_t count) {
  return m.min_value > 0 && count >= m.min_value && count < m.value;
}

Comparison compare_status(const StatusInfo& m, const StatusInfo& t, Renaming& names) {
  auto plain = [](std::string_view field, uint64_t a, uint64_t b) -> std::optional<std::string> {
    if (a == b) return std::nullopt;
    return fmt::format("{}: model {}, target {}", field, a, b);
  };
  for (auto diff :
       {plain("offset", m.offset, t.offset), plain("sizelimit", m.sizelimit, t.sizelimit),
        plain("flags", m.flags, t.flags), plain("encrypt_type", m.encrypt_type, t.encrypt_type),
        plain("encrypt_key_size", m.encrypt_key_size, t.encrypt_key_size)}) {
    if (diff) return differ(*diff);
  }
  if (!(m.name == t.name)) {
    return differ(fmt::format("name: model \"{}\", target \"{}\"", m.name.view(), t.name.view()));
  }
  struct Renamed {
    std::string_view field;
    RenameKind kind;
    uint64_t model, target;
  };
  for (const Renamed& r : {Renamed{"number", RenameKind::DevIndex, m.number, t.number},
                           Renamed{"device", RenameKind::Device, m.device, t.device},
                           Renamed{"inode", RenameKind::Inode, m.inode, t.inode},
                           Renamed{"rdevice", RenameKind::Rdevice, m.rdevice, t.rdevice}}) {
    if (!names.unify(r.kind, r.model, r.target)) {
      return differ(fmt::format(
          "{}: target {:#x} does not correspond to model {:#x} as earlier steps fixed it", r.field,
          r.target, r.model));
    }
  }
  return {};
}

Comparison compare_data(const Outcome& m, const Outcome& t, std::span<const uint8_t> bytes) {
  if (m.value != t.value) {
    // A count the model's envelope admits (readahead decided how much was cached).
    if (in_count_envelope(m, t.value)) return hedged(Match::EnvelopeCount, m.count_rule);
    return differ(fmt::format("bytes transferred: model {}, target {}", m.value, t.value));
  }
  if (!m.data_known) return hedged(Match::UncheckedData, m.data_rule);
  if (!bytes.empty()) {
    if (auto at = first_difference(m.data, bytes)) {
      return differ(fmt::format("data differs first at byte {} of the read", *at));
    }
    return {};
  }
  // The target kept no bytes: compare digests of what the model predicts.
  std::vector<uint8_t> expected(static_cast<size_t>(m.value));
  materialize(m.data, expected);
  if (digest_bytes(expected) != t.digest)
    return differ("data digest differs from the model's bytes");
  return {};
}

// Event by event; each event's device is a device index as the run renamed it.
Comparison compare_uevents(const UeventList& m, const UeventList& t, Renaming& names) {
  if (t.lost) return hedged(Match::UncheckedData, EnvelopeRule::UeventsLostByTarget);
  const auto mismatch = [&] {
    return differ(fmt::format("model \"{}\", target \"{}\"", format_uevents(m),
                              format_uevents(to_model_names(t, names))));
  };
  if (m.count != t.count) return mismatch();
  for (uint8_t i = 0; i < m.count; ++i) {
    const Uevent& a = m.event[i];
    const Uevent& b = t.event[i];
    if (a.action != b.action || a.detail != b.detail || a.part != b.part) return mismatch();
    if (!names.unify(RenameKind::DevIndex, a.device, b.device)) return mismatch();
  }
  return {};
}

}  // namespace

UeventList to_model_names(const UeventList& t, const Renaming& names) {
  UeventList out = t;
  for (uint8_t i = 0; i < out.count; ++i) {
    Uevent& e = out.event[i];
    e.device =
        static_cast<uint32_t>(names.to_model(RenameKind::DevIndex, e.device).value_or(e.device));
  }
  return out;
}

Comparison compare_outcomes(const Outcome& m, const Outcome& t, std::span<const uint8_t> bytes,
                            Renaming& names) {
  using Kind = Outcome::Kind;
  if (m.any) return hedged(Match::UncheckedData, m.data_rule);
  if (m.also_err != 0 && t.kind == Kind::Error && t.err == m.also_err)
    return hedged(Match::EnvelopeErrno, m.err_rule);
  if (m.kind != t.kind) {
    return differ(fmt::format("model {}, target {}", format_outcome(m), format_outcome(t)));
  }
  switch (m.kind) {
    case Kind::Skipped:
      return {};
    case Kind::Error:
      if (m.err == t.err) return {};
      return differ(fmt::format("model {}, target {}", format_outcome(m), format_outcome(t)));
    case Kind::Value:
      if (m.role == ValueRole::Plain) {
        // A count the model cannot predict (`allocated file` after an allocation it
        // does not follow): any count, shown as unpredictable, never as exact.
        if (!m.data_known) return hedged(Match::UncheckedData, m.data_rule);
        if (m.value == t.value) return {};
        if (in_count_envelope(m, t.value)) return hedged(Match::EnvelopeCount, m.count_rule);
        return differ(fmt::format("model {}, target {}", m.value, t.value));
      }
      if (names.unify(rename_kind(m.role), static_cast<uint64_t>(m.value),
                      static_cast<uint64_t>(t.value))) {
        return {};
      }
      return differ(fmt::format("{} {} from the target does not correspond to the model's {}",
                                m.role == ValueRole::Fd ? "fd" : "device index", t.value, m.value));
    case Kind::Status:
      return compare_status(m.status, t.status, names);
    case Kind::Data:
      return compare_data(m, t, bytes);
    case Kind::Uevents:
      return compare_uevents(m.uevents, t.uevents, names);
    case Kind::Text: {
      auto mi = loop_index_in_path(m.text_view());
      auto ti = loop_index_in_path(t.text_view());
      if (mi && ti) {
        if (names.unify(RenameKind::DevIndex, *mi, *ti)) return {};
      } else if (m.text_view() == t.text_view()) {
        return {};
      }
      return differ(fmt::format("model \"{}\", target \"{}\"", m.text_view(), t.text_view()));
    }
  }
  return differ("unknown outcome kind");
}

Outcome to_model_names(const Outcome& t, const Renaming& names) {
  Outcome out = t;
  auto back = [&](RenameKind kind, uint64_t v) { return names.to_model(kind, v).value_or(v); };
  switch (t.kind) {
    case Outcome::Kind::Value:
      if (t.role != ValueRole::Plain) {
        out.value = static_cast<int64_t>(back(rename_kind(t.role), static_cast<uint64_t>(t.value)));
      }
      break;
    case Outcome::Kind::Status:
      out.status.number = static_cast<uint32_t>(back(RenameKind::DevIndex, t.status.number));
      out.status.device = back(RenameKind::Device, t.status.device);
      out.status.inode = back(RenameKind::Inode, t.status.inode);
      out.status.rdevice = back(RenameKind::Rdevice, t.status.rdevice);
      break;
    case Outcome::Kind::Uevents:
      out.uevents = to_model_names(t.uevents, names);
      break;
    case Outcome::Kind::Text:
      if (auto index = loop_index_in_path(t.text_view())) {
        out.set_text(fmt::format("{}{}", kLoopDevPrefix, back(RenameKind::DevIndex, *index)));
      }
      break;
    default:
      break;
  }
  return out;
}

}  // namespace loopcheck
