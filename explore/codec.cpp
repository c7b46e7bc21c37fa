// StateCodec: prefix layout and zero-word elision (see explore_codec.h).
#include "explore/codec.h"

#include <array>
#include <cassert>
#include <cstring>

namespace loopcheck::model {

static_assert(sizeof(Device) % 8 == 0 && sizeof(Desc) % 8 == 0 && sizeof(Object) % 8 == 0,
              "the layout is built from whole 8-byte words");

// The layout never exceeds this many words (all tables at their scope maxima).
inline constexpr size_t kMaxLayoutWords =
    (kMaxScopeDevices * sizeof(Device) + (kMaxScopeFds + kMaxScopeDevices) * sizeof(Desc) +
     kMaxScopeFiles * sizeof(Object)) /
        8 +
    1;

StateCodec::StateCodec(const Scope& scope, const State& initial)
    : initial_(initial),
      devices_(scope.devices),
      descs_(scope.fds + scope.devices),
      objects_(scope.files) {
  assert(devices_ <= kMaxScopeDevices && descs_ <= kMaxScopeFds + kMaxScopeDevices &&
         objects_ <= kMaxScopeFiles);
  words_ = (devices_ * sizeof(Device) + descs_ * sizeof(Desc) + objects_ * sizeof(Object)) / 8 + 1;
  assert(words_ <= kMaxLayoutWords);
  bitmap_bytes_ = (words_ + 7) / 8;
}

void StateCodec::pack(const State& s, uint64_t* layout) const {
  auto* out = reinterpret_cast<unsigned char*>(layout);
  std::memcpy(out, s.devices.data(), devices_ * sizeof(Device));
  out += devices_ * sizeof(Device);
  std::memcpy(out, s.descs.data(), descs_ * sizeof(Desc));
  out += descs_ * sizeof(Desc);
  std::memcpy(out, s.objects.data(), objects_ * sizeof(Object));
  layout[words_ - 1] = s.device_count;
}

size_t StateCodec::encode(const State& s, uint8_t* out) const {
  assert(inside_scope(s));
  std::array<uint64_t, kMaxLayoutWords> layout;
  pack(s, layout.data());
  return encode_layout(layout.data(), out);
}

size_t StateCodec::encode_layout(const uint64_t* layout, uint8_t* out) const {
  uint8_t* bitmap = out;
  std::memset(bitmap, 0, bitmap_bytes_);
  uint8_t* w = out + bitmap_bytes_;
  for (size_t i = 0; i < words_; ++i) {
    if (layout[i] == 0) continue;
    bitmap[i >> 3] = static_cast<uint8_t>(bitmap[i >> 3] | (1u << (i & 7)));
    std::memcpy(w, &layout[i], 8);
    w += 8;
  }
  return static_cast<size_t>(w - out);
}

void StateCodec::decode(std::span<const uint8_t> record, State& out) const {
  assert(record.size() >= bitmap_bytes_);
  std::array<uint64_t, kMaxLayoutWords> layout{};
  const uint8_t* w = record.data() + bitmap_bytes_;
  for (size_t i = 0; i < words_; ++i) {
    if (!(record[i >> 3] & (1u << (i & 7)))) continue;
    std::memcpy(&layout[i], w, 8);
    w += 8;
  }
  assert(w == record.data() + record.size());
  out = initial_;
  unpack(layout.data(), out);
}

void StateCodec::unpack(const uint64_t* layout, State& out) const {
  const auto* in = reinterpret_cast<const unsigned char*>(layout);
  std::memcpy(static_cast<void*>(out.devices.data()), in, devices_ * sizeof(Device));
  in += devices_ * sizeof(Device);
  std::memcpy(static_cast<void*>(out.descs.data()), in, descs_ * sizeof(Desc));
  in += descs_ * sizeof(Desc);
  std::memcpy(static_cast<void*>(out.objects.data()), in, objects_ * sizeof(Object));
  out.device_count = static_cast<uint8_t>(layout[words_ - 1]);
}

void StateCodec::restore(State& work, const State& from) const {
  std::memcpy(static_cast<void*>(work.devices.data()), from.devices.data(),
              devices_ * sizeof(Device));
  std::memcpy(static_cast<void*>(work.descs.data()), from.descs.data(), descs_ * sizeof(Desc));
  std::memcpy(static_cast<void*>(work.objects.data()), from.objects.data(),
              objects_ * sizeof(Object));
  work.device_count = from.device_count;
}

bool StateCodec::inside_scope(const State& s) const {
  const size_t dev_tail = (kMaxDevices - devices_) * sizeof(Device);
  const size_t desc_tail = (kMaxDescs - descs_) * sizeof(Desc);
  const size_t obj_tail = (kMaxObjects - objects_) * sizeof(Object);
  return s.device_count <= devices_ &&
         std::memcmp(&s.devices[devices_], &initial_.devices[devices_], dev_tail) == 0 &&
         std::memcmp(&s.descs[descs_], &initial_.descs[descs_], desc_tail) == 0 &&
         std::memcmp(&s.objects[objects_], &initial_.objects[objects_], obj_tail) == 0 &&
         s.object_names == initial_.object_names && s.object_count == initial_.object_count;
}

}  // namespace loopcheck::model
