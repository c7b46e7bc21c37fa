// A compact, canonical byte form of a model State inside a scope, for the state
// store and the BFS queue.
//
// Inside a scope only a prefix of each table can be in use: at most `devices`
// device slots, `fds + devices` description slots (every open fd, plus backing
// files kept alive only by a device) and `files` objects; object names never
// change after the initial state. The *layout* is those prefixes copied side by
// side (a fixed number of 8-byte words); the *record* drops the layout's zero
// words behind a bitmap of the non-zero ones. Both are injective, so two states
// are equal exactly when their records are, and records can be hashed and
// compared as bytes. A control-path State of ~8 KB becomes ~100-200 bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "explore/scope.h"
#include "model/state.h"

namespace loopcheck::model {

class StateCodec {
 public:
  // `initial` supplies everything outside the prefixes (object names, counts).
  StateCodec(const Scope& scope, const State& initial);

  size_t layout_words() const { return words_; }
  // The largest record: the bitmap plus every word.
  size_t max_record_bytes() const { return bitmap_bytes_ + words_ * 8; }

  // Writes the record of `s` to `out` (at least max_record_bytes()); returns its size.
  // Precondition: `s` lies inside the scope (asserted in debug builds).
  size_t encode(const State& s, uint8_t* out) const;

  // Rebuilds the full State from a record.
  void decode(std::span<const uint8_t> record, State& out) const;

  // The layout of `s`: layout_words() words (the BFS frontier stores these).
  void pack(const State& s, uint64_t* layout) const;
  // The record of a layout, as encode() writes it.
  size_t encode_layout(const uint64_t* layout, uint8_t* out) const;
  // Writes a layout's prefixes into `out`, whose other parts must already equal
  // the initial state's (as after `out = initial`, or a previous unpack/restore).
  void unpack(const uint64_t* layout, State& out) const;

  // Makes `work` equal to `from` by copying only the prefixes, which are all that a
  // step inside the scope can change. Both must lie inside the scope.
  void restore(State& work, const State& from) const;

  // Whether the parts of `s` outside the prefixes equal the initial state's.
  bool inside_scope(const State& s) const;

 private:
  State initial_;
  uint32_t devices_, descs_, objects_;
  size_t words_ = 0;
  size_t bitmap_bytes_ = 0;
};

}  // namespace loopcheck::model
