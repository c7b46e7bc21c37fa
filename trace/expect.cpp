#include "trace/expect.h"

#include <vector>

#include "trace/data.h"

namespace loopcheck {
namespace {

uint64_t status_field(const StatusInfo& s, Field f) {
  switch (f) {
    case Field::Offset:
      return s.offset;
    case Field::Sizelimit:
      return s.sizelimit;
    case Field::Number:
      return s.number;
    case Field::EncryptType:
      return s.encrypt_type;
    case Field::EncryptKeySize:
      return s.encrypt_key_size;
    case Field::Flags:
      return s.flags;
    case Field::Device:
      return s.device;
    case Field::Inode:
      return s.inode;
    case Field::Rdevice:
      return s.rdevice;
    case Field::Fd:
    case Field::BlockSize:
    case Field::Name:
      break;
  }
  return 0;
}

bool status_matches(const StructFields& want, const StatusInfo& got) {
  for (int i = 0; i < kFieldCount; ++i) {
    auto f = static_cast<Field>(i);
    if (!want.has(f)) continue;
    if (f == Field::Name) {
      if (want.name.view() != got.name.view()) return false;
    } else if (f == Field::Fd || f == Field::BlockSize) {
      return false;  // not reported by GET_STATUS: such an expectation cannot hold
    } else if (want.get(f) != status_field(got, f)) {
      return false;
    }
  }
  return true;
}

bool data_matches(const ExpectAlt& alt, const Outcome& o, std::span<const uint8_t> bytes) {
  if (!alt.has_data) return true;
  if (!bytes.empty()) return !first_difference(alt.data, bytes).has_value();
  // The model cannot predict these bytes: a statement about them cannot be checked,
  // so it does not hold (a pass here would hide an unchecked claim).
  if (!o.data_known) return false;
  auto n = static_cast<size_t>(o.value);
  if (o.data.count > 0) {
    // Description against description: expand the outcome's (bounded by kMaxIoLength).
    std::vector<uint8_t> got(n);
    materialize(o.data, got);
    return !first_difference(alt.data, got).has_value();
  }
  if (o.digest != 0) {
    if (alt.data.count == 1 && alt.data.seg[0].kind == DataSegment::Kind::Bytes)
      return alt.data.seg[0].digest == o.digest;
    std::vector<uint8_t> want(n);
    materialize(alt.data, want);
    return desc_length(alt.data, n) == n && digest_bytes(want) == o.digest;
  }
  return n == 0;  // nothing was read and nothing describes it
}

}  // namespace

bool outcome_matches(const ExpectAlt& alt, const Outcome& o, std::span<const uint8_t> bytes) {
  switch (alt.kind) {
    case ExpectAlt::Kind::Value:
      if (o.kind != Outcome::Kind::Value && o.kind != Outcome::Kind::Data &&
          o.kind != Outcome::Kind::Status)
        return false;
      if (alt.ranged) return o.value >= alt.range_min && o.value <= alt.value;
      return o.value == alt.value;
    case ExpectAlt::Kind::Errno:
      return o.kind == Outcome::Kind::Error && o.err == alt.err;
    case ExpectAlt::Kind::Status:
      return o.kind == Outcome::Kind::Status && status_matches(alt.fields, o.status);
    case ExpectAlt::Kind::Data:
      if (o.kind != Outcome::Kind::Data || o.value != alt.value || o.value < 0) return false;
      if (static_cast<uint64_t>(o.value) > kMaxIoLength) return false;
      return data_matches(alt, o, bytes);
    case ExpectAlt::Kind::Text:
      return o.kind == Outcome::Kind::Text && o.text_view() == alt.text;
    case ExpectAlt::Kind::Uevents:
      return o.kind == Outcome::Kind::Uevents && !o.uevents.lost && o.uevents == alt.uevents;
  }
  return false;
}

bool expectation_matches(const Expectation& expect, const Outcome& o,
                         std::span<const uint8_t> bytes) {
  if (expect.count == 0) return true;
  for (uint8_t i = 0; i < expect.count && i < kMaxAlternatives; ++i)
    if (outcome_matches(expect.alt[i], o, bytes)) return true;
  return false;
}

}  // namespace loopcheck
