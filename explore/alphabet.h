// The operations the explorer tries in a state: a pure function of the state and
// the scope, in a fixed order (so an operation is named by its index, and the
// search is deterministic). Operations use the literal fds and device indices the
// model handed out in that state; the suite writer turns them into variables.
//
// Coverage, the lifecycle graph and the suite group these operations by the
// labels of trace/classify.h ("LOOP_SET_FD", "open loop ro excl", ...).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "explore/scope.h"
#include "model/state.h"
#include "trace/classify.h"
#include "trace/trace.h"

namespace loopcheck::model {

// Argument values of one domain (docs/explorer.md lists them).
struct ArgDomain {
  std::vector<uint64_t> offsets;       // LOOP_SET_STATUS64 offset (per file size)
  std::vector<uint64_t> sizelimits;    // LOOP_SET_STATUS64 sizelimit
  std::vector<uint32_t> status_flags;  // LOOP_SET_STATUS64 flags
  std::vector<uint32_t> config_flags;  // LOOP_CONFIGURE flags
  std::vector<uint64_t> block_sizes;   // LOOP_SET_BLOCK_SIZE, LOOP_CONFIGURE block_size
  std::vector<Access> loop_access;
  std::vector<uint8_t> loop_flags;  // OpenFlag sets for `open loop`
  std::vector<Access> file_access;
  std::vector<uint8_t> file_flags;
  bool add_existing = false;  // LOOP_CTL_ADD of an index in use (EEXIST)
  bool blkroset = false;      // BLKROSET 0/1
  // BLKDISCARD and BLKZEROOUT {start, len}: a page, a sector, and a zero length.
  std::vector<std::pair<uint64_t, uint64_t>> discard_ranges;
};

ArgDomain make_domain(const Scope& scope);

// Appends every operation to try in `s` to `out` (cleared first). Never allocates
// once `out` has grown to the largest alphabet.
void alphabet(const State& s, const Scope& scope, const ArgDomain& domain, std::vector<Op>& out);

// alphabet() remembered: it depends only on a state's open fds (numbers and kinds),
// its devices' indices and its object count, which few states differ in, and building
// the list (ops of ~370 bytes each) cost a tenth of the explorer's time.
class AlphabetCache {
 public:
  AlphabetCache(const Scope& scope, const ArgDomain& domain) : scope_(scope), domain_(domain) {}
  // alphabet(s, ...); valid until the next call.
  const std::vector<Op>& get(const State& s);
  size_t size() const { return lists_.size(); }

 private:
  Scope scope_;
  const ArgDomain& domain_;
  std::unordered_map<std::string, std::vector<Op>> lists_;
  std::string key_;
};

}  // namespace loopcheck::model
