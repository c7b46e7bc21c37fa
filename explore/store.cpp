// StateStore: open addressing with linear probing, exact or fingerprint; ShardedStore.
#include "explore/store.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <thread>

namespace loopcheck::model {

namespace {
// Fingerprint tables stay between 8/15 and 4/5 full: 8-byte slots then cost at
// most 15 bytes per state. Exact tables (16-byte slots, records elsewhere) stay
// at most half full, where linear probing is fastest.
constexpr double kFingerprintMaxLoad = 0.8;
constexpr double kFingerprintGrowth = 1.5;
constexpr double kExactMaxLoad = 0.5;

// The slot for a hash: its high bits scaled to the table (any table size works;
// the shard comes from the low bits).
size_t home(uint64_t hash, size_t slots) {
  return static_cast<size_t>((static_cast<unsigned __int128>(hash) * slots) >> 64);
}

// Arena chunks: 4 KiB doubling up to 1 MiB, so a small search holds little and a
// large one allocates rarely.
size_t chunk_bytes(size_t chunk) {
  return size_t{4096} << std::min<size_t>(chunk, 8);
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

bool StateStore::equal_record(uint64_t position, std::span<const uint8_t> record) const {
  const uint8_t* at = &chunks_[position >> 32][position & 0xffffffffu];
  uint16_t len = 0;
  std::memcpy(&len, at, sizeof len);
  return len == record.size() && std::memcmp(at + sizeof len, record.data(), len) == 0;
}

uint64_t StateStore::keep_record(std::span<const uint8_t> record) {
  assert(record.size() <= UINT16_MAX);
  const auto len = static_cast<uint16_t>(record.size());
  const size_t need = sizeof len + len;
  if (chunks_.empty() || chunk_used_ + need > chunk_bytes(chunks_.size() - 1)) {
    chunks_.push_back(std::make_unique<uint8_t[]>(std::max(need, chunk_bytes(chunks_.size()))));
    chunk_used_ = 0;
  }
  uint8_t* at = &chunks_.back()[chunk_used_];
  std::memcpy(at, &len, sizeof len);
  std::memcpy(at + sizeof len, record.data(), len);
  const uint64_t position = (uint64_t{chunks_.size() - 1} << 32) | chunk_used_;
  chunk_used_ += need;
  arena_bytes_ += need;
  return position;
}

size_t StateStore::find(uint64_t hash, std::span<const uint8_t> record, bool& found) const {
  size_t i = home(hash, slots_);
  found = true;
  if (mode_ == StoreMode::Fingerprint) {
    const uint64_t fp = hash == 0 ? 1 : hash;
    for (; fingerprints_[i] != 0; i = i + 1 == slots_ ? 0 : i + 1)
      if (fingerprints_[i] == fp) return i;
  } else {
    for (; exact_[i].record != 0; i = i + 1 == slots_ ? 0 : i + 1)
      if (exact_[i].hash == hash && equal_record(exact_[i].record - 1, record)) return i;
  }
  found = false;
  return i;
}

bool StateStore::offer(uint64_t hash, std::span<const uint8_t> record, uint8_t mark) {
  if (mark != 0 && marks_.empty()) marks_.assign(slots_, 0);
  bool found = false;
  size_t i = find(hash, record, found);
  if (found) {
    // A lower mark is a worker earlier in (parent, operation) order.
    if (mark == 0 || marks_.empty() || marks_[i] == 0 || marks_[i] <= mark) return false;
    marks_[i] = mark;
    return true;
  }
  // Grow only on an insertion, so the table's size follows the number of states and
  // not the order duplicates arrive in (which depends on the thread count).
  const double max_load = mode_ == StoreMode::Fingerprint ? kFingerprintMaxLoad : kExactMaxLoad;
  if (static_cast<double>(count_ + 1) > max_load * static_cast<double>(slots_)) {
    grow();
    i = find(hash, record, found);
  }
  if (mode_ == StoreMode::Fingerprint) {
    fingerprints_[i] = hash == 0 ? 1 : hash;
  } else {
    exact_[i] = ExactSlot{hash, keep_record(record) + 1};
  }
  if (!marks_.empty()) marks_[i] = mark;
  ++count_;
  return true;
}

bool StateStore::claim(uint64_t hash, std::span<const uint8_t> record, uint8_t mark) {
  bool found = false;
  const size_t i = find(hash, record, found);
  assert(found);
  if (!found || marks_.empty() || marks_[i] != mark) return false;
  marks_[i] = 0;
  return true;
}

void StateStore::grow() {
  const size_t slots = mode_ == StoreMode::Fingerprint
                           ? static_cast<size_t>(static_cast<double>(slots_) * kFingerprintGrowth)
                           : slots_ * 2;
  auto next_slot = [slots](size_t i) { return i + 1 == slots ? 0 : i + 1; };
  std::vector<uint8_t> marks(marks_.empty() ? 0 : slots, 0);
  if (mode_ == StoreMode::Fingerprint) {
    std::vector<uint64_t> next(slots, 0);
    for (size_t k = 0; k < slots_; ++k) {
      if (fingerprints_[k] == 0) continue;
      size_t i = home(fingerprints_[k], slots);
      while (next[i] != 0) i = next_slot(i);
      next[i] = fingerprints_[k];
      if (!marks.empty()) marks[i] = marks_[k];
    }
    fingerprints_.swap(next);
  } else {
    std::vector<ExactSlot> next(slots, ExactSlot{});
    for (size_t k = 0; k < slots_; ++k) {
      if (exact_[k].record == 0) continue;
      size_t i = home(exact_[k].hash, slots);
      while (next[i].record != 0) i = next_slot(i);
      next[i] = exact_[k];
      if (!marks.empty()) marks[i] = marks_[k];
    }
    exact_.swap(next);
  }
  marks_.swap(marks);
  slots_ = slots;
}

const uint8_t* StateStore::table_bytes() const {
  return mode_ == StoreMode::Fingerprint ? reinterpret_cast<const uint8_t*>(fingerprints_.data())
                                         : reinterpret_cast<const uint8_t*>(exact_.data());
}

size_t StateStore::slot_bytes() const {
  return mode_ == StoreMode::Fingerprint ? sizeof(uint64_t) : sizeof(ExactSlot);
}

size_t StateStore::memory_bytes() const {
  return exact_.capacity() * sizeof(ExactSlot) + fingerprints_.capacity() * sizeof(uint64_t) +
         arena_bytes_;
}

ShardedStore::ShardedStore(StoreMode mode, bool locking)
    : locking_(locking),
      shards_(std::make_unique<Shard[]>(kStoreShards)),
      published_(std::make_unique<Published[]>(kStoreShards)) {
  for (uint32_t s = 0; s < kStoreShards; ++s) {
    shards_[s].store = StateStore(mode, 16);
    published_[s].table.store(shards_[s].store.table_bytes(), std::memory_order_relaxed);
    published_[s].slots.store(shards_[s].store.slots(), std::memory_order_relaxed);
  }
  slot_bytes_ = shards_[0].store.slot_bytes();
}

size_t ShardedStore::shard_index(uint64_t hash) {
  // The low 32 bits: a table's slot comes from the high ones.
  return ((hash & 0xffffffffu) * kStoreShards) >> 32;
}

template <class F>
bool ShardedStore::locked(uint64_t hash, F f) {
  Shard& s = shards_[shard_index(hash)];
  if (!locking_) return f(s.store);
  // A spin lock: the work under it is one probe (or, rarely, a 64th of the table
  // growing); yield now and then in case the holder was preempted.
  for (uint32_t spins = 1; s.busy.test_and_set(std::memory_order_acquire); ++spins) {
    if (spins % 64 == 0)
      std::this_thread::yield();
    else
      __builtin_ia32_pause();
  }
  const bool r = f(s.store);
  s.busy.clear(std::memory_order_release);
  return r;
}

bool ShardedStore::offer(uint64_t hash, std::span<const uint8_t> record, uint8_t mark) {
  return locked(hash, [&](StateStore& s) {
    const bool added = s.offer(hash, record, mark);
    Published& p = published_[shard_index(hash)];
    if (p.slots.load(std::memory_order_relaxed) != s.slots()) {  // it grew
      p.table.store(s.table_bytes(), std::memory_order_relaxed);
      p.slots.store(s.slots(), std::memory_order_relaxed);
    }
    return added;
  });
}

void ShardedStore::prefetch(uint64_t hash) const {
  const size_t i = shard_index(hash);
  const Published& p = published_[i];
  const uint8_t* table = p.table.load(std::memory_order_relaxed);
  const size_t slots = p.slots.load(std::memory_order_relaxed);
  __builtin_prefetch(table + home(hash, slots) * slot_bytes_);
  // The lock's line was most likely last written by another worker: fetch it
  // for writing now rather than when the lock is taken.
  if (locking_) __builtin_prefetch(&shards_[i].busy, 1);
}

bool ShardedStore::claim(uint64_t hash, std::span<const uint8_t> record, uint8_t mark) {
  return locked(hash, [&](StateStore& s) { return s.claim(hash, record, mark); });
}

size_t ShardedStore::size() const {
  size_t n = 0;
  for (uint32_t s = 0; s < kStoreShards; ++s) n += shards_[s].store.size();
  return n;
}

size_t ShardedStore::memory_bytes() const {
  size_t n = 0;
  for (uint32_t s = 0; s < kStoreShards; ++s) n += shards_[s].store.memory_bytes();
  return n;
}

size_t ShardedStore::marks_bytes() const {
  size_t n = 0;
  for (uint32_t s = 0; s < kStoreShards; ++s) n += shards_[s].store.marks_bytes();
  return n;
}

double omission_probability(uint64_t distinct) {
  const double n = static_cast<double>(distinct);
  return -std::expm1(-n * (n - 1) / std::ldexp(1.0, 65));
}

}  // namespace loopcheck::model
