#include "fuzz/signature.h"

#include <fmt/format.h>

#include <array>
#include <vector>

#include "trace/classify.h"
#include "trace/data.h"
#include "trace/names.h"

namespace loopcheck::fuzz {
namespace {

constexpr std::string_view kLoopDevPrefix = "/dev/loop";

std::string_view segment_kind_name(DataSegment::Kind kind) {
  switch (kind) {
    case DataSegment::Kind::Zero:
      return "zero";
    case DataSegment::Kind::Fill:
      return "fill";
    case DataSegment::Kind::Pattern:
      return "pattern";
    case DataSegment::Kind::Bytes:
      return "bytes";
  }
  return "?";
}

// Device indices are this machine's numbers: a sysfs text naming a loop device
// (backing_file of a stacked device) keeps only that it names one.
std::string machine_free_text(std::string_view text) {
  if (text.starts_with(kLoopDevPrefix)) return std::string(kLoopDevPrefix) + "#";
  return std::string(text);
}

// The model's bytes, rebuilt from its descriptor: shapes must be computed the
// same way on both sides, so a pattern run reads as "bytes" on both.
std::string model_data_shape(const Outcome& m) {
  if (!m.data_known) return "unpredicted";
  if (m.value <= 0 || static_cast<uint64_t>(m.value) > kMaxIoLength) return "empty";
  std::vector<uint8_t> bytes(static_cast<size_t>(m.value));
  materialize(m.data, bytes);
  return data_shape(bytes);
}

std::string target_data_shape(const Outcome& t, std::span<const uint8_t> bytes) {
  if (t.value <= 0) return "empty";
  if (bytes.empty()) return "digest";  // a real target kept only the digest
  return data_shape(bytes);
}

// The first status field that differs, with both values; the renamed fields
// (number, device, inode, rdevice) only by name: their values are this machine's.
std::string status_difference(const StatusInfo& m, const StatusInfo& t) {
  struct Plain {
    std::string_view field;
    uint64_t model, target;
    bool hex;
  };
  for (const Plain& p :
       {Plain{"offset", m.offset, t.offset, false},
        Plain{"sizelimit", m.sizelimit, t.sizelimit, false}, Plain{"flags", m.flags, t.flags, true},
        Plain{"encrypt_type", m.encrypt_type, t.encrypt_type, false},
        Plain{"encrypt_key_size", m.encrypt_key_size, t.encrypt_key_size, false}}) {
    if (p.model == p.target) continue;
    if (p.hex)
      return fmt::format("status {}: model {:#x}, target {:#x}", p.field, p.model, p.target);
    return fmt::format("status {}: model {}, target {}", p.field, p.model, p.target);
  }
  if (!(m.name == t.name))
    return fmt::format("status name: model \"{}\", target \"{}\"", m.name.view(), t.name.view());
  return "status: a renamed field (number, device, inode or rdevice) differs";
}

std::string side_text(const Outcome& o, const std::string& shape) {
  switch (o.kind) {
    case Outcome::Kind::Data:
      return fmt::format("data {} ({})", o.value, shape);
    case Outcome::Kind::Text:
      return fmt::format("\"{}\"", machine_free_text(o.text_view()));
    default:
      return outcome_signature_name(o);
  }
}

}  // namespace

std::string data_shape(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return "empty";
  const DataDesc desc = describe_bytes(bytes);
  std::string shape;
  std::string_view last;
  for (uint8_t i = 0; i < desc.count; ++i) {
    const std::string_view kind = segment_kind_name(desc.seg[i].kind);
    if (kind == last) continue;
    shape += shape.empty() ? "" : "+";
    shape += kind;
    last = kind;
  }
  return shape;
}

std::string divergence_signature(std::string_view profile, const Op& op, const Outcome& model,
                                 const Outcome& target, std::span<const uint8_t> target_bytes) {
  const std::string op_name = op_signature_name(op);
  if (model.kind == Outcome::Kind::Status && target.kind == Outcome::Kind::Status)
    return fmt::format("{} {}: {}", profile, op_name,
                       status_difference(model.status, target.status));
  const std::string model_shape =
      model.kind == Outcome::Kind::Data ? model_data_shape(model) : std::string();
  const std::string target_shape =
      target.kind == Outcome::Kind::Data ? target_data_shape(target, target_bytes) : std::string();
  std::string sig = fmt::format("{} {}: model {}, target {}", profile, op_name,
                                side_text(model, model_shape), side_text(target, target_shape));
  // Same count, same shape: where the bytes part tells two such bugs apart.
  if (model.kind == Outcome::Kind::Data && target.kind == Outcome::Kind::Data &&
      model.value == target.value && model.data_known && !target_bytes.empty()) {
    if (auto at = first_difference(model.data, target_bytes))
      sig += fmt::format(", bytes differ from offset {}", *at);
  }
  return sig;
}

std::string invariant_signature(std::string_view profile, const Op& op,
                                std::string_view invariant) {
  return fmt::format("{} {}: invariant: {}", profile, op_signature_name(op), invariant);
}

std::string crash_signature(std::string_view profile, std::string_view kind,
                            std::string_view where) {
  if (where.empty()) return fmt::format("{} guest {}", profile, kind);
  return fmt::format("{} guest {} in {}", profile, kind, where);
}

}  // namespace loopcheck::fuzz
