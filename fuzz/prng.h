// The one seeded PRNG of a run. splitmix64: tiny, fast, and identical on every
// platform and standard library (std:: distributions are not), so the same seed
// gives byte-identical traces everywhere.
#pragma once

#include <cassert>
#include <cstdint>
#include <span>

namespace loopcheck {

class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias < 2^-32 for small n).
  uint64_t below(uint64_t n) {
    assert(n > 0);
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  // True with probability num/den.
  bool chance(uint64_t num, uint64_t den) { return below(den) < num; }

  template <typename T>
  const T& pick(std::span<const T> items) {
    assert(!items.empty());
    return items[below(items.size())];
  }

 private:
  uint64_t state_;
};

}  // namespace loopcheck
