// The bounded scope the explorer searches: how many devices, backing files and
// open fds may exist, how deep the search goes, and which argument values the
// operations take (docs/explorer.md). Also the environment every explored trace
// starts from: no precreated devices (so every device is one the trace added and
// may remove — the host target touches nothing else) and `files` backing files.
#pragma once

#include <cstdint>
#include <vector>

#include "trace/trace.h"

namespace loopcheck::model {

enum class Domain : uint8_t {
  Small,     // a few values per argument: the default, small enough for a checked-in suite
  Boundary,  // every boundary value of the issue: offsets, sizelimits, block sizes, flag subsets,
             // fd modes
};

// Upper bounds of a scope: the packed abstract class (explore_abstract.h) gives
// each device 8 bits of a 64-bit word; fds stay far below the model's kMaxDescs.
inline constexpr uint32_t kMaxScopeDevices = 8;
inline constexpr uint32_t kMaxScopeFiles = 4;
inline constexpr uint32_t kMaxScopeFds = 8;

struct Scope {
  uint32_t devices = 1;  // loop devices that may exist at once (LOOP_CTL_ADD only below this)
  uint32_t files = 1;    // backing files img0..
  uint32_t fds = 2;      // fds that may be open at once (open only below this)
  uint32_t depth = 8;    // operations from the initial state
  Domain domain = Domain::Small;
};

// Sizes of the backing files, in declaration order: a sector multiple first, then
// a ragged size (a partial last sector), so capacity rounding is reached.
inline constexpr uint64_t kScopeFileSizes[kMaxScopeFiles] = {8192, 5000, 16384, 1000};

// img2 (--files 3 and more) carries an MBR: partition 1 at sectors 8..15, slot
// 2 empty, partition 3 at 24 reaching past the file's 32 sectors (cut to 8), so
// scans, partition opens and BLKRRPART enter the search. The partitions the
// alphabet opens are these two.
inline constexpr PartitionTable kScopeTable{3, {{{8, 8}, {0, 0}, {24, 16}, {0, 0}}}};
inline constexpr uint8_t kScopePartitions[] = {1, 3};
inline constexpr uint32_t kScopeTableFile = 2;

// The environment of every explored state: no precreated devices, model defaults
// otherwise (the host and inproc targets report the same facts by default).
Env scope_env();

// Backing files img0..img{files-1} with kScopeFileSizes.
std::vector<ObjectDecl> scope_objects(const Scope& scope);

// Empty when the scope is within bounds; else what is wrong.
const char* scope_error(const Scope& scope);

}  // namespace loopcheck::model
