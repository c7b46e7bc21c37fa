// The bytes `pwrite FD OFF LEN pattern=SEED` writes: byte i of the write (i counted
// from 0 at the start of that write) is pattern_byte(SEED, i). Defined here once;
// the model, every target and the C reproducer writer use this function, and
// docs/trace-format.md documents it:
//
//   word(S, k) = splitmix64(S * 0x9E3779B97F4A7C15 + k)   for the 8-byte word k = i / 8
//   byte(S, i) = (word(S, i / 8) >> (8 * (i % 8))) & 0xff
//
// where splitmix64(x) = z ^ (z >> 31) with z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9,
// z = (z ^ (z >> 27)) * 0x94D049BB133111EB). Distinct seeds and distinct positions
// give different bytes with overwhelming probability, so misplaced data is caught.
#pragma once

#include <cstddef>
#include <cstdint>

namespace loopcheck {

constexpr uint64_t pattern_word(uint32_t seed, uint64_t word_index) {
  uint64_t z = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull + word_index;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr uint8_t pattern_byte(uint32_t seed, uint64_t index) {
  return static_cast<uint8_t>(pattern_word(seed, index / 8) >> (8 * (index % 8)));
}

// Fill out[0..len) with pattern bytes starting at pattern index `first`.
inline void pattern_fill(uint32_t seed, uint64_t first, uint8_t* out, size_t len) {
  size_t i = 0;
  while (i < len && ((first + i) % 8) != 0) {
    out[i] = pattern_byte(seed, first + i);
    ++i;
  }
  for (; i + 8 <= len; i += 8) {
    uint64_t w = pattern_word(seed, (first + i) / 8);
    for (int b = 0; b < 8; ++b) out[i + b] = static_cast<uint8_t>(w >> (8 * b));
  }
  for (; i < len; ++i) out[i] = pattern_byte(seed, first + i);
}

}  // namespace loopcheck
