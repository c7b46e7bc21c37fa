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
// and a table grows a 64th of the set at a time. In fingerprint mode a lookup takes
// no lock: most offers are duplicates (~95% at the scope), and a lock's
// cache line moving between cores on every offer cost more than the probe. Only
// an insertion (or a takeover, below) locks; a table that grows is retired, not
// freed, until every worker has passed a point between two states
// (quiescent-state reclamation), since a lock-free lookup may still be reading it.
//
// With several chunks per level, a state first found in the level being expanded
// is *provisional*: it remembers the lowest chunk that found it (chunks are
// contiguous in (parent, operation) order, so that is the BFS-first finder), and
// after the level each chunk claims the states it still leads. That makes the kept
// copy, and so every state number, the same for any number of workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace loopcheck::model {

enum class StoreMode : uint8_t { Exact, Fingerprint };

// Provisional marks: 0 settled, 1 + chunk. At most kMaxMark: fingerprint mode
// keeps a state's mark in its slot, in the six bits (26-31) that ShardedStore
// takes the shard from, so every fingerprint in a shard has the same ones there
// and a lookup reads one word. (A StateStore used alone thus tells hashes apart
// by their other 58 bits.)
inline constexpr uint8_t kMaxMark = 63;
inline constexpr int kFingerprintMarkShift = 26;
inline constexpr uint64_t kFingerprintMarkBits = uint64_t{kMaxMark} << kFingerprintMarkShift;

// Fingerprint mode's slots: the fingerprint without bits 26-31, and the mark
// there. Never resized: growing makes a new table, so a reader without the lock
// may go on probing the old one. Slots are written (under the shard's lock) and
// read (without it) through std::atomic_ref.
struct FingerprintTable {
  explicit FingerprintTable(size_t slot_count);
  size_t slots;
  std::unique_ptr<uint64_t[]> fingerprints;  // 0 = empty (a zero key is stored as 1)
};

// What a lock-free lookup found (ShardedStore::offer).
enum class Lookup : uint8_t { Duplicate, NeedsLock };

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
  // Bytes of provisional marks (exact mode: 1 per slot, none until a provisional
  // offer; fingerprint mode: none, they are in the slots).
  size_t marks_bytes() const;

  // The table, for prefetching a probe's first slot: changes when the table grows.
  const uint8_t* table_bytes() const;
  size_t slots() const { return slots_; }
  size_t slot_bytes() const;

  // Fingerprint mode: the current table, for lookups without the lock.
  const FingerprintTable* fingerprint_table() const { return table_.get(); }
  // With keep_retired(true), a fingerprint table replaced by growing is kept for
  // take_retired() instead of being freed (a reader without the lock may use it).
  void keep_retired(bool keep) { keep_retired_ = keep; }
  std::unique_ptr<FingerprintTable> take_retired() { return std::move(retired_); }

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

  void grow_fingerprints(size_t slots);
  uint8_t mark_at(size_t i) const;
  void set_mark_at(size_t i, uint8_t mark);

  StoreMode mode_;
  size_t count_ = 0;
  size_t slots_ = 0;
  std::vector<ExactSlot> exact_;
  std::unique_ptr<FingerprintTable> table_;  // fingerprint mode
  std::unique_ptr<FingerprintTable> retired_;
  bool keep_retired_ = false;
  // Exact mode: u16 length + record bytes, back to back, in chunks that never move
  // (a growing vector was copied under the shard's lock while other workers spun).
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  size_t chunk_used_ = 0;  // bytes used in the last chunk
  size_t arena_bytes_ = 0;
  std::vector<uint8_t> marks_;  // exact mode, per slot: 0 settled, 1 + chunk provisional
};

inline constexpr uint32_t kStoreShards = 64;

class ShardedStore {
 public:
  // `workers` > 1: that many use the store at once (each calls quiescent() with its
  // number 0..workers-1 between states).
  ShardedStore(StoreMode mode, uint32_t workers);

  bool offer(uint64_t hash, std::span<const uint8_t> record, uint8_t mark);
  // Worker `worker` holds nothing it read from a table without the lock.
  void quiescent(uint32_t worker);
  // No worker is in the store (between the search's phases): frees retired tables.
  void reclaim_all();
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
    std::atomic<const FingerprintTable*> fingerprints{nullptr};  // for lookup()
  };
  struct alignas(64) Epoch {
    std::atomic<uint64_t> count{0};  // quiescent points passed by one worker
  };
  struct Retired {
    std::unique_ptr<FingerprintTable> table;
    std::vector<uint64_t> epochs;  // every worker's count when it was retired
  };
  static size_t shard_index(uint64_t hash);
  template <class F>
  bool locked(uint64_t hash, F f);
  Lookup lookup(uint64_t hash, uint8_t mark) const;
  void publish(size_t shard, const StateStore& s);
  void retire(std::unique_ptr<FingerprintTable> table);

  bool locking_;
  bool lock_free_lookups_;  // fingerprint mode with several workers
  uint32_t workers_;
  std::unique_ptr<Shard[]> shards_;
  std::unique_ptr<Published[]> published_;
  size_t slot_bytes_;
  std::unique_ptr<Epoch[]> epochs_;  // per worker
  std::mutex retired_mu_;            // taken only when a table grows
  std::vector<Retired> retired_;
};

// Probability that hash compaction omitted at least one of `distinct` states
// (64-bit fingerprints, birthday bound): 1 - exp(-n(n-1)/2^65).
double omission_probability(uint64_t distinct);

}  // namespace loopcheck::model
