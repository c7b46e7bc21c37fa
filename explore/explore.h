// The exhaustive explorer: breadth-first search over every state the model can
// reach inside a bounded scope (explore_scope.h), checking the invariants in each.
//
//   ExploreResult r = explore(options);
//   r.stats.distinct, r.violations (each with its shortest path), r.coverage, r.edges
//
// Level-synchronous BFS with `threads` workers: each level's queue (a Frontier of
// compressed layouts, explore/frontier.h, spilled to disk beyond
// `frontier_memory_bytes`) is cut into up to 63 contiguous chunks that the workers
// take one at a time (a worker that drew cheap states takes more instead of idling
// at the level's end). A successor is offered to the sharded store
// (explore/store.h) as soon as it is generated; only a state new to the store keeps
// its layout, for the next level. With several chunks a new state is provisional
// until the level is done, and the earliest chunk to find it claims it, so the next
// level is the chunks' claims concatenated in (parent, operation) order and every
// result — numbering, shortest paths, witnesses — is the same for any number of
// threads.
//
// Memory per distinct state: the store (fingerprint: ~13-15 bytes; exact: the
// record too), the path log (8 bytes), and the frontier's blocks of the level being
// expanded and the next one (~15-30 bytes per state in them).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "explore/abstract.h"
#include "explore/alphabet.h"
#include "explore/scope.h"
#include "explore/store.h"
#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck::model {

struct ExploreOptions {
  const Profile* profile = &kDefaultProfile;
  Scope scope;
  StoreMode store = StoreMode::Exact;
  bool symmetry = true;
  uint32_t threads = 1;
  uint64_t max_states = 20'000'000;  // stop (stats.complete = false) past this many distinct states
  uint32_t max_violations = 10;      // shortest paths kept
  // Frontier blocks kept in memory at once; more are spilled to a directory made
  // under `spill_dir` (empty: $TMPDIR, else /tmp) and removed when the search ends.
  uint64_t frontier_memory_bytes = uint64_t{1024} << 20;
  std::string spill_dir;
};

struct ExploreStats {
  uint64_t generated = 0;  // successor states computed (duplicates included), as TLC counts
  uint64_t distinct = 0;   // states stored
  uint64_t queue = 0;      // states left unexpanded at the depth bound (or at max_states)
  uint32_t depth_reached = 0;
  bool complete = true;    // false: stopped by max_states
  bool exhausted = false;  // the search ran out of new states before the depth bound
  uint64_t store_bytes = 0;
  double omission_probability = 0;  // fingerprint mode only
  // Memory besides the store. These depend on the thread count and the frontier
  // budget (block boundaries, which worker found a state first), so unlike the
  // results above they are not the same for every run of the same scope.
  uint64_t log_bytes = 0;               // the path log: 8 bytes per state
  uint64_t marks_bytes = 0;             // the exact store's provisional marks (threads > 1)
  uint64_t frontier_peak_bytes = 0;     // frontier blocks in memory at once, at most
  uint64_t frontier_spilled_bytes = 0;  // frontier blocks written to disk
  double seconds = 0;                   // wall clock (the one non-deterministic output)
  double states_per_second = 0;         // generated / seconds
  // CPU time of the search's threads, and of its longest chain: per parallel phase
  // the busiest worker's, plus the work between phases. The latter is the wall
  // time the search would take on `threads` cores of its own, which a loaded
  // machine's wall clock does not show.
  double cpu_seconds = 0;
  double critical_cpu_seconds = 0;
};

// A step of a path: the operation's index in alphabet() of the (canonical) state it
// was tried in.
struct PathStep {
  uint32_t parent = 0;  // state id; the root is 0 and its own parent
  uint16_t op = 0;
};

struct Violation {
  uint32_t state = 0;  // state id; explore_path() gives its shortest path
  uint32_t depth = 0;
  std::string why;
};

// A lifecycle edge: abstract class before, operation label, outcome class, class after.
struct EdgeKey {
  AbstractClass pre = 0;
  uint8_t label = 0;
  uint8_t outcome = 0;
  AbstractClass post = 0;
  friend auto operator<=>(const EdgeKey&, const EdgeKey&) = default;
};

// The first transition (in BFS order) that realised an edge.
struct Witness {
  uint32_t parent = 0;  // state id the operation was tried in
  uint16_t op = 0;
  uint32_t depth = 0;  // depth of `parent`
  uint64_t count = 0;  // transitions realising the edge
  friend bool operator==(const Witness&, const Witness&) = default;
};

struct ExploreResult {
  ExploreStats stats;
  std::vector<Violation> violations;                 // by state id (shortest first)
  std::vector<PathStep> log;                         // per state id
  std::vector<uint32_t> depth_start;                 // first state id of each depth
  std::map<std::pair<int, int>, uint64_t> coverage;  // (label, outcome class) -> transitions
  std::map<EdgeKey, Witness> edges;
};

// Throws FrontierError (explore/frontier.h) when the frontier has to be spilled and
// the disk is full or the spill directory cannot be made.
ExploreResult explore(const ExploreOptions& options);

// The operations from the initial state to state `id`, as the model ran them (literal
// fds and indices, in the real — not canonical — numbering), with their outcomes;
// with `extra_op` >= 0, followed by that operation of state `id`'s alphabet.
struct ConcretePath {
  std::vector<Op> ops;
  std::vector<Outcome> outcomes;
  std::vector<AbstractClass> before;  // the abstract class each operation was tried in
  State end;                          // the state after the last operation
};
ConcretePath explore_path(const ExploreOptions& options, const ExploreResult& result, uint32_t id,
                          int extra_op = -1);

}  // namespace loopcheck::model
