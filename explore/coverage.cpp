// The outcome catalogue and coverage_gaps (see explore_coverage.h).
#include "explore/coverage.h"

#include <cerrno>
#include <set>

#include "trace/ops.h"
#include "trace/classify.h"

namespace loopcheck::model {

namespace {

struct Expected {
  Req req;
  std::vector<int> outcomes;  // 0 = success
};

// From docs/semantics.md (§3, §5), per request the explorer issues.
const std::vector<Expected>& catalogue() {
  static const std::vector<Expected> table = {
      {Req::LoopSetFd, {0, EBUSY, EBADF, EINVAL}},
      {Req::LoopClrFd, {0, ENXIO}},
      {Req::LoopSetStatus64, {0, ENXIO, EINVAL, EOVERFLOW}},
      {Req::LoopConfigure, {0, EBUSY, EBADF, EINVAL}},
      {Req::LoopChangeFd, {0, ENXIO, EINVAL}},
      {Req::LoopSetBlockSize, {0, ENXIO, EINVAL, EBUSY}},
      {Req::LoopSetCapacity, {0, ENXIO}},
      {Req::LoopSetDirectIo, {0, ENXIO, EINVAL}},
      {Req::LoopGetStatus64, {0, ENXIO}},
      {Req::LoopCtlAdd, {0, EEXIST}},
      {Req::LoopCtlRemove, {0, EBUSY}},
      {Req::BlkRoSet, {0}},
      {Req::BlkDiscard, {0, EOPNOTSUPP, EINVAL}},
      {Req::BlkZeroout, {0, EINVAL}},
      {Req::BlkSecDiscard, {EOPNOTSUPP}},
  };
  return table;
}

}  // namespace

std::vector<CoverageGap> coverage_gaps(const ExploreOptions& options, const ExploreResult& result) {
  const ArgDomain domain = make_domain(options.scope);
  std::set<std::pair<int, int>> want;  // (label, outcome), ordered for stable output
  want.insert({op_label(op_open_loop_control()), 0});
  want.insert({op_label(op_close(Value::literal(3))), 0});
  for (Access a : domain.loop_access)
    for (uint8_t f : domain.loop_flags) {
      const int label = op_label(op_open_loop(Value::literal(0), a, f));
      want.insert({label, 0});
      if (options.profile->deferred_detach)
        want.insert({label, ENXIO});  // open of a Rundown device
      if (f & kOpenExcl) want.insert({label, EBUSY});
    }
  for (Access a : domain.file_access)
    for (uint8_t f : domain.file_flags) want.insert({op_label(op_open_file(0, a, f)), 0});
  for (const Expected& e : catalogue()) {
    if (e.req == Req::BlkRoSet && !domain.blkroset) continue;
    const bool discards =
        e.req == Req::BlkDiscard || e.req == Req::BlkZeroout || e.req == Req::BlkSecDiscard;
    if (discards && domain.discard_ranges.empty()) continue;
    const int label = op_label(op_ioctl_noarg(Value::literal(3), e.req));
    for (int o : e.outcomes) {
      if (e.req == Req::LoopCtlAdd && o == EEXIST && !domain.add_existing) continue;
      want.insert({label, o});
    }
  }
  std::vector<CoverageGap> gaps;
  for (const auto& [label, outcome] : want)
    if (!result.coverage.count({label, outcome}))
      gaps.push_back({op_label_name(label), errno_class_name(outcome)});
  return gaps;
}

}  // namespace loopcheck::model
