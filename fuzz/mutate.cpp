#include "fuzz/mutate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "fuzz/decode.h"

namespace loopcheck::fuzz {
namespace {

size_t records_in(size_t size) {
  return size <= kHeaderBytes ? 0 : (size - kHeaderBytes) / kRecordBytes;
}

size_t room_for(size_t max_size) {
  return std::min(records_in(max_size), kMaxStatements);
}

uint8_t* record_at(uint8_t* data, size_t i) {
  return data + kHeaderBytes + i * kRecordBytes;
}

void random_record(uint8_t* r, Prng& rng) {
  const uint64_t bits = rng.next();
  std::memcpy(r, &bits, kRecordBytes);
}

// Opens a gap of one record at `at` (records [at, n) move up by one).
void open_gap(uint8_t* data, size_t n, size_t at) {
  std::memmove(record_at(data, at + 1), record_at(data, at), (n - at) * kRecordBytes);
}

void close_gap(uint8_t* data, size_t n, size_t at) {
  std::memmove(record_at(data, at), record_at(data, at + 1), (n - at - 1) * kRecordBytes);
}

// ---- the mutators ------------------------------------------------------------------
bool has_room(size_t n, size_t room) {
  return n < room;
}
bool has_one(size_t n, size_t) {
  return n >= 1;
}
bool has_two(size_t n, size_t) {
  return n >= 2;
}
bool always(size_t, size_t) {
  return true;
}

void insert_op(uint8_t* data, size_t& n, Prng& rng) {
  const size_t at = rng.below(n + 1);
  open_gap(data, n, at);
  random_record(record_at(data, at), rng);
  ++n;
}

void delete_op(uint8_t* data, size_t& n, Prng& rng) {
  close_gap(data, n, rng.below(n));
  --n;
}

void duplicate_op(uint8_t* data, size_t& n, Prng& rng) {
  const size_t from = rng.below(n);
  const size_t at = rng.below(n + 1);
  uint8_t copy[kRecordBytes];
  std::memcpy(copy, record_at(data, from), kRecordBytes);
  open_gap(data, n, at);
  std::memcpy(record_at(data, at), copy, kRecordBytes);
  ++n;
}

void swap_ops(uint8_t* data, size_t& n, Prng& rng) {
  const size_t i = rng.below(n), j = rng.below(n);
  uint8_t tmp[kRecordBytes];
  std::memcpy(tmp, record_at(data, i), kRecordBytes);
  std::memcpy(record_at(data, i), record_at(data, j), kRecordBytes);
  std::memcpy(record_at(data, j), tmp, kRecordBytes);
}

// Argument bytes index boundary tables: the first entries are the common values,
// neighbours are neighbouring boundaries, anything else a random one.
void change_argument(uint8_t* data, size_t& n, Prng& rng) {
  uint8_t& b = record_at(data, rng.below(n))[1 + rng.below(kRecordBytes - 1)];
  switch (rng.below(4)) {
    case 0:
      b = 0;
      break;
    case 1:
      ++b;
      break;
    case 2:
      --b;
      break;
    default:
      b = static_cast<uint8_t>(rng.next());
      break;
  }
}

void change_operation(uint8_t* data, size_t& n, Prng& rng) {
  record_at(data, rng.below(n))[0] = static_cast<uint8_t>(rng.next());
}

void change_profile(uint8_t* data, size_t&, Prng& rng) {
  data[0] = static_cast<uint8_t>(rng.next());
}

constexpr std::array<Mutator, kMutatorCount> kMutators{{
    {Mutation::InsertOp, "InsertOp", has_room, insert_op},
    {Mutation::DeleteOp, "DeleteOp", has_one, delete_op},
    {Mutation::DuplicateOp, "DuplicateOp", [](size_t n, size_t room) { return n >= 1 && n < room; },
     duplicate_op},
    {Mutation::SwapOps, "SwapOps", has_two, swap_ops},
    {Mutation::ChangeArgument, "ChangeArgument", has_one, change_argument},
    {Mutation::ChangeOperation, "ChangeOperation", has_one, change_operation},
    {Mutation::ChangeProfile, "ChangeProfile", always, change_profile},
}};

}  // namespace

std::span<const Mutator> mutators() {
  return kMutators;
}

std::string_view mutation_name(Mutation m) {
  if (static_cast<size_t>(m) < kMutatorCount) return kMutators[static_cast<size_t>(m)].name;
  if (m == Mutation::CrossOver) return "CrossOver";
  if (m == Mutation::LibFuzzerMutate) return "LibFuzzerMutate";
  return "?";
}

std::string MutationSequence::format() const {
  switch (origin) {
    case Origin::Seed:
      return "0 (seed input)";
    case Origin::Random:
      return "0 (random input)";
    case Origin::Unknown:
      return "unknown (libFuzzer input)";
    case Origin::Mutant:
      break;
  }
  std::string out = fmt::format("{}", count);
  for (size_t i = 0; i < std::min<size_t>(count, kMaxSteps); ++i)
    out += fmt::format("{}{}", i == 0 ? " " : "-", mutation_name(steps[i]));
  if (count > kMaxSteps) out += "-...";
  return out;
}

Mutation pick_mutation(size_t size, size_t max_size, Prng& rng) {
  const size_t room = room_for(max_size);
  const size_t n = std::min(records_in(size), room);
  Mutation m = static_cast<Mutation>(rng.below(kMutatorCount));
  // Mutations that need operations to work on start by making one.
  if (n == 0 && m != Mutation::ChangeProfile) m = Mutation::InsertOp;
  if (n >= room && (m == Mutation::InsertOp || m == Mutation::DuplicateOp))
    m = Mutation::ChangeArgument;
  if (n == 0 && room == 0) m = Mutation::ChangeProfile;
  if (n < 2 && m == Mutation::SwapOps) m = Mutation::ChangeArgument;
  return m;
}

size_t apply_mutation(Mutation m, uint8_t* data, size_t size, size_t max_size, Prng& rng) {
  if (max_size < kHeaderBytes) return size;
  if (size < kHeaderBytes) {
    data[0] = 0;
    size = kHeaderBytes;
  }
  const size_t room = room_for(max_size);
  size_t n = std::min(records_in(size), room);
  const Mutator& mutator = kMutators[static_cast<size_t>(m)];
  assert(static_cast<size_t>(m) < kMutatorCount && mutator.applicable(n, room));
  mutator.apply(data, n, rng);
  const size_t out = kHeaderBytes + n * kRecordBytes;
  assert(out <= max_size);
  return out;
}

size_t mutate(uint8_t* data, size_t size, size_t max_size, Prng& rng, MutationSequence* sequence) {
  if (max_size < kHeaderBytes) return size;
  const Mutation m = pick_mutation(std::max(size, kHeaderBytes), max_size, rng);
  if (sequence) sequence->push(m);
  return apply_mutation(m, data, size, max_size, rng);
}
size_t cross_over(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size, uint8_t* out,
                  size_t max_out, Prng& rng) {
  if (max_out < kHeaderBytes) return 0;
  const size_t room = room_for(max_out);
  const size_t na = records_in(a_size), nb = records_in(b_size);
  const size_t take_a = std::min(rng.below(na + 1), room);
  const size_t skip_b = rng.below(nb + 1);
  const size_t take_b = std::min(nb - skip_b, room - take_a);
  out[0] = a_size > 0 ? a[0] : 0;
  std::memmove(out + kHeaderBytes, a + kHeaderBytes, take_a * kRecordBytes);
  std::memmove(out + kHeaderBytes + take_a * kRecordBytes, b + kHeaderBytes + skip_b * kRecordBytes,
               take_b * kRecordBytes);
  return kHeaderBytes + (take_a + take_b) * kRecordBytes;
}

size_t random_input(uint8_t* out, size_t max_out, size_t records, Prng& rng) {
  if (max_out < kHeaderBytes) return 0;
  records = std::min(records, room_for(max_out));
  out[0] = static_cast<uint8_t>(rng.next());
  for (size_t i = 0; i < records; ++i) random_record(record_at(out, i), rng);
  return kHeaderBytes + records * kRecordBytes;
}

}  // namespace loopcheck::fuzz
