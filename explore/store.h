// The explorer's set of visited states.
//
// Exact mode keeps every state's record (explore/codec.h) in an arena and compares
// records on a hash match: no state is ever wrongly taken as seen. Fingerprint
// mode (hash compaction, as TLC does) keeps only a 64-bit fingerprint per state in
// an open-addressing table kept 53-80% full: at most 15 bytes per state,
// and two distinct states with the same fingerprint make the second one look
// seen, so it and anything only reachable through it are omitted. The chance of
// that is estimated by omission_probability().
//
// ShardedStore splits the set into kStoreShards tables by hash, each with its own
// lock, so workers insert while they generate (a duplicate's record is never kept)
// and a table grows a 64th of the set at a time. With several workers, a state first
// found in the level being expanded is *provisional*: it remembers the lowest worker
// that found it (workers expand contiguous slices in (parent, operation) order, so
// that is the BFS-first finder), and after the level each worker claims the states
// it still leads. That makes the kept copy, and so every state number, the same for
// any number of workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace loopcheck::model {

enum class StoreMode : uint8_t { Exact, Fingerprint };

class StateStore {
 public:
  explicit StateStore(StoreMode mode, size_t expected_states = 1024);

  // Adds the state with this hash (and record, used in exact mode). True when it
  // was not there before. Amortized O(1); grows by doubling (exact) or by 1.5
  // (fingerprint).
  bool insert(uint64_t hash, std::span<const uint8_t> record) { return offer(hash, record, 0); }

  // `mark` 0: insert() (the state is settled). `mark` 1 + worker: the state is
  // provisional, found in the current level; true when it was not there or was
  // provisional with a higher mark (this worker now leads it).
  bool offer(uint64_t hash, std::span<const uint8_t> record, uint8_t mark);
  // After the level: settles a provisional state the worker with `mark` leads; true
  // when it did (false: a lower worker leads it). The state must be in the store.
  // Mark 1 need not be claimed: no offer can take a state over from it, so it
  // behaves as settled from then on.
  bool claim(uint64_t hash, std::span<const uint8_t> record, uint8_t mark);

  size_t size() const { return count_; }
  // Bytes held by the table and the records in the arena (not the arena chunks'
  // unused tails: those depend on the order records arrived in; not the marks:
  // marks_bytes()).
  size_t memory_bytes() const;
  // Bytes of provisional marks (1 per slot; none until a provisional offer).
  size_t marks_bytes() const { return marks_.capacity(); }

  // The table, for prefetching a probe's first slot: changes when the table grows.
  const uint8_t* table_bytes() const;
  size_t slots() const { return slots_; }
  size_t slot_bytes() const;

 private:
  struct ExactSlot {
    uint64_t hash = 0;
    uint64_t record = 0;  // arena position + 1 (chunk << 32 | offset); 0 = empty
  };
  void grow();
  bool equal_record(uint64_t position, std::span<const uint8_t> record) const;
  // Copies a record into the arena; returns its position.
  uint64_t keep_record(std::span<const uint8_t> record);
  // The slot holding the state, or the empty slot where it would go.
  size_t find(uint64_t hash, std::span<const uint8_t> record, bool& found) const;

  StoreMode mode_;
  size_t count_ = 0;
  size_t slots_ = 0;
  std::vector<ExactSlot> exact_;
  std::vector<uint64_t> fingerprints_;  // 0 = empty (a zero fingerprint is stored as 1)
  // Exact mode: u16 length + record bytes, back to back, in chunks that never move
  // (a growing vector was copied under the shard's lock while other workers spun).
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  size_t chunk_used_ = 0;  // bytes used in the last chunk
  size_t arena_bytes_ = 0;
  std::vector<uint8_t> marks_;  // per slot: 0 settled, 1 + worker provisional
};

inline constexpr uint32_t kStoreShards = 64;

class ShardedStore {
 public:
  // `locking`: several workers use the store at once.
  ShardedStore(StoreMode mode, bool locking);

  bool offer(uint64_t hash, std::span<const uint8_t> record, uint8_t mark);
  bool claim(uint64_t hash, std::span<const uint8_t> record, uint8_t mark);
  // Starts loading the slot a probe for `hash` begins at: the tables are far larger
  // than the caches, and the explorer has other work to do before it offers.
  void prefetch(uint64_t hash) const;

  size_t size() const;
  size_t memory_bytes() const;
  size_t marks_bytes() const;

 private:
  struct alignas(64) Shard {
    std::atomic_flag busy;
    StateStore store{StoreMode::Exact, 16};
  };
  // A shard's table and slot count, published for prefetch(), read without the lock
  // (a stale pair only prefetches the wrong line, which cannot fault). Apart from
  // the shards: their lines bounce between workers with every lock, these change
  // only when a table grows.
  struct Published {
    std::atomic<const uint8_t*> table{nullptr};
    std::atomic<size_t> slots{0};
  };
  static size_t shard_index(uint64_t hash);
  template <class F>
  bool locked(uint64_t hash, F f);

  bool locking_;
  std::unique_ptr<Shard[]> shards_;
  std::unique_ptr<Published[]> published_;
  size_t slot_bytes_;
};

// Probability that hash compaction omitted at least one of `distinct` states
// (64-bit fingerprints, birthday bound): 1 - exp(-n(n-1)/2^65).
double omission_probability(uint64_t distinct);

}  // namespace loopcheck::model
