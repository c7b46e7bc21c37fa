#include "fuzz/mutate.h"

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

}  // namespace

size_t mutate(uint8_t* data, size_t size, size_t max_size, Prng& rng, Mutation* applied) {
  if (max_size < kHeaderBytes) return size;
  if (size < kHeaderBytes) {
    data[0] = 0;
    size = kHeaderBytes;
  }
  size_t n = std::min(records_in(size), room_for(max_size));
  const size_t room = room_for(max_size);
  Mutation m = static_cast<Mutation>(rng.below(static_cast<uint64_t>(Mutation::kCount)));
  // Mutations that need operations to work on start by making one.
  if (n == 0 && m != Mutation::ChangeProfile) m = Mutation::InsertOp;
  if (n >= room && (m == Mutation::InsertOp || m == Mutation::DuplicateOp))
    m = Mutation::ChangeArgument;
  if (n == 0 && room == 0) m = Mutation::ChangeProfile;
  if (n < 2 && m == Mutation::SwapOps) m = Mutation::ChangeArgument;
  switch (m) {
    case Mutation::InsertOp: {
      const size_t at = rng.below(n + 1);
      open_gap(data, n, at);
      random_record(record_at(data, at), rng);
      ++n;
      break;
    }
    case Mutation::DeleteOp:
      close_gap(data, n, rng.below(n));
      --n;
      break;
    case Mutation::DuplicateOp: {
      const size_t from = rng.below(n);
      const size_t at = rng.below(n + 1);
      uint8_t copy[kRecordBytes];
      std::memcpy(copy, record_at(data, from), kRecordBytes);
      open_gap(data, n, at);
      std::memcpy(record_at(data, at), copy, kRecordBytes);
      ++n;
      break;
    }
    case Mutation::SwapOps: {
      const size_t i = rng.below(n), j = rng.below(n);
      uint8_t tmp[kRecordBytes];
      std::memcpy(tmp, record_at(data, i), kRecordBytes);
      std::memcpy(record_at(data, i), record_at(data, j), kRecordBytes);
      std::memcpy(record_at(data, j), tmp, kRecordBytes);
      break;
    }
    case Mutation::ChangeArgument: {
      // Argument bytes index boundary tables: the first entries are the common
      // values, neighbours are neighbouring boundaries, anything else a random one.
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
      break;
    }
    case Mutation::ChangeOperation:
      record_at(data, rng.below(n))[0] = static_cast<uint8_t>(rng.next());
      break;
    case Mutation::ChangeProfile:
      data[0] = static_cast<uint8_t>(rng.next());
      break;
    case Mutation::kCount:
      assert(false);
      break;
  }
  if (applied) *applied = m;
  const size_t out = kHeaderBytes + n * kRecordBytes;
  assert(out <= max_size);
  return out;
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
