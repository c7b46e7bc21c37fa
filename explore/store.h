// The explorer's set of visited states, one partition of it per worker thread.
//
// Exact mode keeps every state's record (explore_codec.h) in an arena and compares
// records on a hash match: no state is ever wrongly taken as seen. Fingerprint
// mode (hash compaction, as TLC does) keeps only a 64-bit fingerprint per state in
// an open-addressing table kept 53-80% full: at most 15 bytes per state,
// and two distinct states with the same fingerprint make the second one look
// seen, so it and anything only reachable through it are omitted. The chance of
// that is estimated by omission_probability().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace loopcheck::model {

enum class StoreMode : uint8_t { Exact, Fingerprint };

class StateStore {
 public:
  explicit StateStore(StoreMode mode, size_t expected_states = 1024);

  // Adds the state with this hash (and record, used in exact mode). True when it
  // was not there before. Amortized O(1); grows by doubling.
  bool insert(uint64_t hash, std::span<const uint8_t> record);

  size_t size() const { return count_; }
  // Bytes held by the table and the record arena.
  size_t memory_bytes() const;

 private:
  struct ExactSlot {
    uint64_t hash = 0;
    uint64_t record = 0;  // arena offset + 1; 0 = empty
  };
  void grow();
  bool equal_record(uint64_t arena_offset, std::span<const uint8_t> record) const;

  StoreMode mode_;
  size_t count_ = 0;
  size_t slots_ = 0;
  std::vector<ExactSlot> exact_;
  std::vector<uint64_t> fingerprints_;  // 0 = empty (a zero fingerprint is stored as 1)
  std::vector<uint8_t> arena_;          // exact mode: u16 length + record bytes, back to back
};

// Probability that hash compaction omitted at least one of `distinct` states
// (64-bit fingerprints, birthday bound): 1 - exp(-n(n-1)/2^65).
double omission_probability(uint64_t distinct);

}  // namespace loopcheck::model
