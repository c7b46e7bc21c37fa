// StateStore: open addressing with linear probing, exact or fingerprint.
#include "model/explore_store.h"

#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>

namespace loopcheck::model {

StateStore::StateStore(StoreMode mode, size_t expected_states) : mode_(mode) {
  const size_t slots = std::bit_ceil(expected_states * 2 < 64 ? size_t{64} : expected_states * 2);
  mask_ = slots - 1;
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
  if ((count_ + 1) * 2 > mask_ + 1) grow();
  size_t i = hash & mask_;
  if (mode_ == StoreMode::Fingerprint) {
    const uint64_t fp = hash == 0 ? 1 : hash;
    while (fingerprints_[i] != 0) {
      if (fingerprints_[i] == fp) return false;
      i = (i + 1) & mask_;
    }
    fingerprints_[i] = fp;
    ++count_;
    return true;
  }
  while (exact_[i].record != 0) {
    if (exact_[i].hash == hash && equal_record(exact_[i].record - 1, record)) return false;
    i = (i + 1) & mask_;
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
  const size_t slots = (mask_ + 1) * 2;
  const size_t mask = slots - 1;
  if (mode_ == StoreMode::Fingerprint) {
    std::vector<uint64_t> next(slots, 0);
    for (uint64_t fp : fingerprints_) {
      if (fp == 0) continue;
      size_t i = fp & mask;
      while (next[i] != 0) i = (i + 1) & mask;
      next[i] = fp;
    }
    fingerprints_.swap(next);
  } else {
    std::vector<ExactSlot> next(slots, ExactSlot{});
    for (const ExactSlot& s : exact_) {
      if (s.record == 0) continue;
      size_t i = s.hash & mask;
      while (next[i].record != 0) i = (i + 1) & mask;
      next[i] = s;
    }
    exact_.swap(next);
  }
  mask_ = mask;
}

size_t StateStore::memory_bytes() const {
  return exact_.capacity() * sizeof(ExactSlot) + fingerprints_.capacity() * sizeof(uint64_t) + arena_.capacity();
}

double omission_probability(uint64_t distinct) {
  const double n = static_cast<double>(distinct);
  return -std::expm1(-n * (n - 1) / std::ldexp(1.0, 65));
}

}  // namespace loopcheck::model
