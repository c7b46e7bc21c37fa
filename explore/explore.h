// The exhaustive explorer: breadth-first search over every state the model can
// reach inside a bounded scope (explore_scope.h), checking the invariants in each.
//
//   ExploreResult r = explore(options);
//   r.stats.distinct, r.violations (each with its shortest path), r.coverage, r.edges
//
// Level-synchronous BFS with `threads` workers: each level's queue is split into
// contiguous slices that the workers expand; successors go to the store partition
// their hash picks, and each worker deduplicates its own partition. New states are
// then merged in (parent, operation) order, so every result — numbering, shortest
// paths, witnesses — is the same for any number of threads.
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
  double seconds = 0;               // wall clock (the one non-deterministic output)
  double states_per_second = 0;     // generated / seconds
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
