// StateCodec: prefix layout and zero-word elision (see explore_codec.h).
#include "explore/codec.h"

#include <array>
#include <bit>
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

namespace {

static_assert(std::endian::native == std::endian::little,
              "the record's bitmap is the bit array's bytes");

// Zero-word elision into a record: the non-zero words go behind the bitmap, their
// bits into the bitmap. Branch-free per word: whether a word is zero is data, and a
// mispredicted branch per word cost more than always copying it (the explorer
// encodes every successor it generates, to hash it). The bitmap is built 64 bits in
// a register, not read-modified-written in memory per word.
class Elider {
 public:
  Elider(uint8_t* out, size_t bitmap_bytes) : out_(out), bitmap_bytes_(bitmap_bytes) {
    w_ = out + bitmap_bytes;
  }
  void words(const void* from, size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(from);
    for (size_t i = 0; i < n; ++i) {
      uint64_t x = 0;
      std::memcpy(&x, bytes + 8 * i, 8);
      const uint64_t nonzero = x != 0;
      acc_ |= nonzero << (bit_ & 63);
      std::memcpy(w_, &x, 8);
      w_ += 8 * nonzero;
      if ((++bit_ & 63) == 0) {
        bits_[(bit_ >> 6) - 1] = acc_;
        acc_ = 0;
      }
    }
  }
  // The record's size.
  size_t finish() {
    if (bit_ & 63) bits_[bit_ >> 6] = acc_;
    std::memcpy(out_, bits_.data(), bitmap_bytes_);
    return static_cast<size_t>(w_ - out_);
  }

 private:
  uint8_t* out_;
  size_t bitmap_bytes_;
  uint8_t* w_;
  uint64_t acc_ = 0;
  size_t bit_ = 0;
  std::array<uint64_t, (kMaxLayoutWords + 63) / 64> bits_{};
};

}  // namespace

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
  // As encode_layout(pack(s)), read straight from the tables.
  Elider e(out, bitmap_bytes_);
  e.words(s.devices.data(), devices_ * sizeof(Device) / 8);
  e.words(s.descs.data(), descs_ * sizeof(Desc) / 8);
  e.words(s.objects.data(), objects_ * sizeof(Object) / 8);
  const uint64_t count = s.device_count;
  e.words(&count, 1);
  return e.finish();
}

size_t StateCodec::encode_layout(const uint64_t* layout, uint8_t* out) const {
  Elider e(out, bitmap_bytes_);
  e.words(layout, words_);
  return e.finish();
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
  // Not part of a state: the explorer reads (and forgets) the uevents each step
  // sends, as a trace reading them after every step would.
  work.uevents = UeventList{};
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
