// Argument values at the kernel's boundaries, shared by everything that makes
// up operations (the trace generator, the fuzz decoder): flag combinations that
// matter to SET_STATUS/CONFIGURE (every defined bit, the historic USE_AOPS bit
// 2, an undefined bit, all bits) and block sizes around every power of two the
// releases accept or truncate (0, non-powers, 2^32 + n, the u64 maximum).
// The fuzz decoder indexes these tables by byte: reordering them changes what
// stored fuzz inputs mean, so only append.
#pragma once

#include <array>
#include <cstdint>

#include "trace/trace.h"

namespace loopcheck {

inline constexpr std::array<uint32_t, 12> kFlagSets{0,
                                                    kLoAutoclear,
                                                    kLoPartscan,
                                                    kLoReadOnly,
                                                    kLoDirectIo,
                                                    kLoAutoclear | kLoPartscan,
                                                    kLoReadOnly | kLoDirectIo | kLoAutoclear,
                                                    2 /* historic USE_AOPS */,
                                                    0xffffffffu,
                                                    kLoReadOnly | kLoAutoclear,
                                                    kLoDirectIo | kLoPartscan,
                                                    32 /* first undefined bit */};
inline constexpr std::array<uint64_t, 20> kBlockSizes{0,
                                                      512,
                                                      1024,
                                                      4096,
                                                      2048,
                                                      256,
                                                      511,
                                                      1000,
                                                      8192,
                                                      65536,
                                                      131072,
                                                      4095,
                                                      513,
                                                      32768,
                                                      0xffffffffull,
                                                      0x80000200,
                                                      (1ull << 32) + 512,
                                                      (1ull << 32) + 2048,
                                                      UINT64_MAX,
                                                      16384};

}  // namespace loopcheck
