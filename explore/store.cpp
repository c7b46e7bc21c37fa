// StateStore: open addressing with linear probing, exact or fingerprint; ShardedStore.
#include "explore/store.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>

namespace loopcheck::model {

namespace {
// Fingerprint tables stay between 8/15 and 4/5 full: 8-byte slots then cost at
// most 15 bytes per state. Exact tables (16-byte slots, records elsewhere) stay
// at most half full, where linear probing is fastest.
constexpr double kFingerprintMaxLoad = 0.8;
constexpr double kFingerprintGrowth = 1.5;
constexpr double kExactMaxLoad = 0.5;

// The slot for a hash: its high 32 bits scaled to the table (any table size up
// to 2^32 slots works; the shard and a fingerprint's mark are in the low bits).
size_t home(uint64_t hash, size_t slots) {
  assert(slots <= (uint64_t{1} << 32));
  return static_cast<size_t>(((hash >> 32) * slots) >> 32);
}

// What a fingerprint slot holds for `hash`, without its mark; never 0 (empty).
uint64_t fingerprint_key(uint64_t hash) {
  const uint64_t key = hash & ~kFingerprintMarkBits;
  return key == 0 ? 1 : key;
}

uint8_t slot_mark(uint64_t slot) {
  return static_cast<uint8_t>((slot & kFingerprintMarkBits) >> kFingerprintMarkShift);
}

// Arena chunks: 4 KiB doubling up to 1 MiB, so a small search holds little and a
// large one allocates rarely.
size_t chunk_bytes(size_t chunk) {
  return size_t{4096} << std::min<size_t>(chunk, 8);
}
}  // namespace

FingerprintTable::FingerprintTable(size_t slot_count)
    : slots(slot_count), fingerprints(new uint64_t[slot_count]()) {}

static_assert(kStoreShards == uint64_t{1} << (32 - kFingerprintMarkShift),
              "a shard's fingerprints share exactly the bits its marks take");

StateStore::StateStore(StoreMode mode, size_t expected_states) : mode_(mode) {
  const size_t slots = expected_states * 2 < 64 ? size_t{64} : expected_states * 2;
  slots_ = slots;  // the slot count
  if (mode_ == StoreMode::Exact)
    exact_.assign(slots, ExactSlot{});
  else
    table_ = std::make_unique<FingerprintTable>(slots);
}

uint8_t StateStore::mark_at(size_t i) const {
  if (mode_ == StoreMode::Fingerprint) return slot_mark(table_->fingerprints[i]);
  return marks_.empty() ? 0 : marks_[i];
}

// Fingerprint mode: stored with release, for lookups without the lock.
void StateStore::set_mark_at(size_t i, uint8_t mark) {
  assert(mark <= kMaxMark);
  if (mode_ == StoreMode::Exact) {
    marks_[i] = mark;
    return;
  }
  uint64_t& slot = table_->fingerprints[i];
  const uint64_t marked = (slot & ~kFingerprintMarkBits) | uint64_t{mark} << kFingerprintMarkShift;
  std::atomic_ref<uint64_t>(slot).store(marked, std::memory_order_release);
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
    // Plain reads: only the lock holder writes, and it is this thread.
    const uint64_t* fps = table_->fingerprints.get();
    const uint64_t key = fingerprint_key(hash);
    for (; fps[i] != 0; i = i + 1 == slots_ ? 0 : i + 1)
      if ((fps[i] & ~kFingerprintMarkBits) == key) return i;
  } else {
    for (; exact_[i].record != 0; i = i + 1 == slots_ ? 0 : i + 1)
      if (exact_[i].hash == hash && equal_record(exact_[i].record - 1, record)) return i;
  }
  found = false;
  return i;
}

bool StateStore::offer(uint64_t hash, std::span<const uint8_t> record, uint8_t mark) {
  assert(mark <= kMaxMark);
  if (mark != 0 && mode_ == StoreMode::Exact && marks_.empty()) marks_.assign(slots_, 0);
  bool found = false;
  size_t i = find(hash, record, found);
  if (found) {
    // A lower mark is a chunk earlier in (parent, operation) order.
    const uint8_t held = mark_at(i);
    if (mark == 0 || held == 0 || held <= mark) return false;
    set_mark_at(i, mark);
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
    std::atomic_ref<uint64_t>(table_->fingerprints[i])
        .store(fingerprint_key(hash) | uint64_t{mark} << kFingerprintMarkShift,
               std::memory_order_release);
  } else {
    exact_[i] = ExactSlot{hash, keep_record(record) + 1};
    if (!marks_.empty()) marks_[i] = mark;
  }
  ++count_;
  return true;
}

bool StateStore::claim(uint64_t hash, std::span<const uint8_t> record, uint8_t mark) {
  bool found = false;
  const size_t i = find(hash, record, found);
  assert(found);
  if (!found || mark == 0 || mark_at(i) != mark) return false;
  set_mark_at(i, 0);
  return true;
}

void StateStore::grow() {
  if (mode_ == StoreMode::Fingerprint) {
    grow_fingerprints(static_cast<size_t>(static_cast<double>(slots_) * kFingerprintGrowth));
    return;
  }
  const size_t slots = slots_ * 2;
  std::vector<uint8_t> marks(marks_.empty() ? 0 : slots, 0);
  std::vector<ExactSlot> next(slots, ExactSlot{});
  for (size_t k = 0; k < slots_; ++k) {
    if (exact_[k].record == 0) continue;
    size_t i = home(exact_[k].hash, slots);
    while (next[i].record != 0) i = i + 1 == slots ? 0 : i + 1;
    next[i] = exact_[k];
    if (!marks.empty()) marks[i] = marks_[k];
  }
  exact_.swap(next);
  marks_.swap(marks);
  slots_ = slots;
}

// A new table, filled before it replaces the old one (which ShardedStore
// publishes with release), so a reader without the lock sees either whole.
void StateStore::grow_fingerprints(size_t slots) {
  auto next = std::make_unique<FingerprintTable>(slots);
  uint64_t* to = next->fingerprints.get();
  const uint64_t* from = table_->fingerprints.get();
  for (size_t k = 0; k < slots_; ++k) {
    if (from[k] == 0) continue;
    size_t i = home(from[k], slots);
    while (to[i] != 0) i = i + 1 == slots ? 0 : i + 1;
    to[i] = from[k];  // with its mark
  }
  table_.swap(next);
  slots_ = slots;
  assert(!retired_);
  if (keep_retired_) retired_ = std::move(next);
}

const uint8_t* StateStore::table_bytes() const {
  return mode_ == StoreMode::Fingerprint
             ? reinterpret_cast<const uint8_t*>(table_->fingerprints.get())
             : reinterpret_cast<const uint8_t*>(exact_.data());
}

size_t StateStore::slot_bytes() const {
  return mode_ == StoreMode::Fingerprint ? sizeof(uint64_t) : sizeof(ExactSlot);
}

size_t StateStore::memory_bytes() const {
  const size_t fingerprint_bytes = table_ ? slots_ * sizeof(uint64_t) : 0;
  return exact_.capacity() * sizeof(ExactSlot) + fingerprint_bytes + arena_bytes_;
}

size_t StateStore::marks_bytes() const {
  return marks_.capacity();  // fingerprint mode: in the slots
}

ShardedStore::ShardedStore(StoreMode mode, uint32_t workers)
    : locking_(workers > 1),
      lock_free_lookups_(workers > 1 && mode == StoreMode::Fingerprint),
      workers_(std::max<uint32_t>(workers, 1)),
      shards_(std::make_unique<Shard[]>(kStoreShards)),
      published_(std::make_unique<Published[]>(kStoreShards)),
      epochs_(std::make_unique<Epoch[]>(workers_)) {
  for (uint32_t s = 0; s < kStoreShards; ++s) {
    shards_[s].store = StateStore(mode, 16);
    shards_[s].store.keep_retired(lock_free_lookups_);
    publish(s, shards_[s].store);
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

// Called with the shard's lock held (or by the constructor). The fingerprint
// table's pointer is stored seq_cst: retire() then reads the workers' quiescent
// counts after it in the one total order, so a worker that still loaded the old
// table did so before the count retire() saw.
void ShardedStore::publish(size_t shard, const StateStore& s) {
  Published& p = published_[shard];
  p.table.store(s.table_bytes(), std::memory_order_relaxed);
  p.slots.store(s.slots(), std::memory_order_relaxed);
  p.fingerprints.store(s.fingerprint_table(), std::memory_order_seq_cst);
}

bool ShardedStore::offer(uint64_t hash, std::span<const uint8_t> record, uint8_t mark) {
  if (lock_free_lookups_ && lookup(hash, mark) == Lookup::Duplicate) return false;
  std::unique_ptr<FingerprintTable> old;
  const bool added = locked(hash, [&](StateStore& s) {
    const bool r = s.offer(hash, record, mark);
    const size_t shard = shard_index(hash);
    if (published_[shard].slots.load(std::memory_order_relaxed) != s.slots()) publish(shard, s);
    old = s.take_retired();
    return r;
  });
  if (old) retire(std::move(old));
  return added;
}

// Without the lock: Duplicate when the locked offer would surely say so (the
// state is there, settled or led by a chunk no later than `mark`'s). Marks only
// decrease during a level, so a stale one is too high and sends us to the lock,
// as does a state not (yet) seen in a table that may have been replaced.
Lookup ShardedStore::lookup(uint64_t hash, uint8_t mark) const {
  const FingerprintTable* t =
      published_[shard_index(hash)].fingerprints.load(std::memory_order_seq_cst);
  const uint64_t key = fingerprint_key(hash);
  for (size_t i = home(hash, t->slots), probes = 0; probes < t->slots; ++probes) {
    const uint64_t at =
        std::atomic_ref<uint64_t>(t->fingerprints[i]).load(std::memory_order_acquire);
    if (at == 0) return Lookup::NeedsLock;
    if ((at & ~kFingerprintMarkBits) == key) {
      const uint8_t held = slot_mark(at);
      return mark == 0 || held == 0 || held <= mark ? Lookup::Duplicate : Lookup::NeedsLock;
    }
    i = i + 1 == t->slots ? 0 : i + 1;
  }
  return Lookup::NeedsLock;  // unreachable: tables are at most 80% full
}

void ShardedStore::quiescent(uint32_t worker) {
  if (!lock_free_lookups_) return;
  assert(worker < workers_);
  std::atomic<uint64_t>& count = epochs_[worker].count;
  // seq_cst: ordered before this worker's next load of a table pointer (publish()).
  count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
}

// Frees the retired tables every worker has passed a quiescent point since, and
// keeps `table` until they all have.
void ShardedStore::retire(std::unique_ptr<FingerprintTable> table) {
  Retired r{std::move(table), std::vector<uint64_t>(workers_)};
  for (uint32_t w = 0; w < workers_; ++w)
    r.epochs[w] = epochs_[w].count.load(std::memory_order_seq_cst);
  std::lock_guard<std::mutex> lock(retired_mu_);
  std::erase_if(retired_, [&](const Retired& x) {
    for (uint32_t w = 0; w < workers_; ++w)
      if (epochs_[w].count.load(std::memory_order_acquire) == x.epochs[w]) return false;
    return true;
  });
  retired_.push_back(std::move(r));
}

void ShardedStore::reclaim_all() {
  std::lock_guard<std::mutex> lock(retired_mu_);
  retired_.clear();
}

void ShardedStore::prefetch(uint64_t hash) const {
  const size_t i = shard_index(hash);
  const Published& p = published_[i];
  const uint8_t* table = p.table.load(std::memory_order_relaxed);
  const size_t slots = p.slots.load(std::memory_order_relaxed);
  __builtin_prefetch(table + home(hash, slots) * slot_bytes_);
  // The lock's line was most likely last written by another worker: fetch it for
  // writing now rather than when the lock is taken (not when lookups take no lock:
  // that would pull the line away from a worker that does).
  if (locking_ && !lock_free_lookups_) __builtin_prefetch(&shards_[i].busy, 1);
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
