// StateStore: open addressing with linear probing, exact or fingerprint.
#include "explore/store.h"

#include <cassert>
#include <cmath>
#include <cstring>

namespace loopcheck::model {

namespace {
// Fingerprint tables stay between 8/15 and 4/5 full: 8-byte slots then cost at
// most 15 bytes per state. Exact tables (16-byte slots, records elsewhere) stay
// at most half full, where linear probing is fastest.
constexpr double kFingerprintMaxLoad = 0.8;
constexpr double kFingerprintGrowth = 1.5;
constexpr double kExactMaxLoad = 0.5;

// The slot for a hash: its high bits scaled to the table (any table size works;
// the partition choice in explore.cpp uses other bits).
size_t home(uint64_t hash, size_t slots) {
  return static_cast<size_t>((static_cast<unsigned __int128>(hash) * slots) >> 64);
}
}  // namespace

StateStore::StateStore(StoreMode mode, size_t expected_states) : mode_(mode) {
  const size_t slots = expected_states * 2 < 64 ? size_t{64} : expected_states * 2;
  slots_ = slots;  // the slot count
  if (mode_ == StoreMode::Exact)
    exact_.assign(slots, ExactSlot{});
  else
    fingerprints_.assign(slots, 0);
}

bool StateStore::equal_record(uint64_t offset, std::span<const uint8_t> record) const {
  uint16_t len = 0;
  std::memcpy(&len, &arena_[offset], sizeof len);
  return len == record.size() && std::memcmp(&arena_[offset + sizeof len], record.data(), len) == 0;
}

bool StateStore::insert(uint64_t hash, std::span<const uint8_t> record) {
  const double max_load = mode_ == StoreMode::Fingerprint ? kFingerprintMaxLoad : kExactMaxLoad;
  if (static_cast<double>(count_ + 1) > max_load * static_cast<double>(slots_)) grow();
  size_t i = home(hash, slots_);
  if (mode_ == StoreMode::Fingerprint) {
    const uint64_t fp = hash == 0 ? 1 : hash;
    while (fingerprints_[i] != 0) {
      if (fingerprints_[i] == fp) return false;
      i = i + 1 == slots_ ? 0 : i + 1;
    }
    fingerprints_[i] = fp;
    ++count_;
    return true;
  }
  while (exact_[i].record != 0) {
    if (exact_[i].hash == hash && equal_record(exact_[i].record - 1, record)) return false;
    i = i + 1 == slots_ ? 0 : i + 1;
  }
  assert(record.size() <= UINT16_MAX);
  const uint64_t offset = arena_.size();
  const auto len = static_cast<uint16_t>(record.size());
  arena_.resize(offset + sizeof len + len);
  std::memcpy(&arena_[offset], &len, sizeof len);
  std::memcpy(&arena_[offset + sizeof len], record.data(), len);
  exact_[i] = ExactSlot{hash, offset + 1};
  ++count_;
  return true;
}

void StateStore::grow() {
  const size_t slots = mode_ == StoreMode::Fingerprint
                           ? static_cast<size_t>(static_cast<double>(slots_) * kFingerprintGrowth)
                           : slots_ * 2;
  auto next_slot = [slots](size_t i) { return i + 1 == slots ? 0 : i + 1; };
  if (mode_ == StoreMode::Fingerprint) {
    std::vector<uint64_t> next(slots, 0);
    for (uint64_t fp : fingerprints_) {
      if (fp == 0) continue;
      size_t i = home(fp, slots);
      while (next[i] != 0) i = next_slot(i);
      next[i] = fp;
    }
    fingerprints_.swap(next);
  } else {
    std::vector<ExactSlot> next(slots, ExactSlot{});
    for (const ExactSlot& s : exact_) {
      if (s.record == 0) continue;
      size_t i = home(s.hash, slots);
      while (next[i].record != 0) i = next_slot(i);
      next[i] = s;
    }
    exact_.swap(next);
  }
  slots_ = slots;
}

size_t StateStore::memory_bytes() const {
  return exact_.capacity() * sizeof(ExactSlot) + fingerprints_.capacity() * sizeof(uint64_t) +
         arena_.capacity();
}

double omission_probability(uint64_t distinct) {
  const double n = static_cast<double>(distinct);
  return -std::expm1(-n * (n - 1) / std::ldexp(1.0, 65));
}

}  // namespace loopcheck::model
