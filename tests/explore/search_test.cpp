// The explorer's search: determinism, thread-count independence, store modes,
// symmetry, shortest paths that replay to what the search saw, and coverage.
#include <gtest/gtest.h>

#include "explore/explore.h"
#include "explore/abstract.h"
#include "explore/codec.h"
#include "explore/frontier.h"
#include "explore/symmetry.h"
#include "model/model.h"
#include "trace/ops.h"

namespace loopcheck::model {
namespace {

ExploreOptions small(uint32_t depth = 6) {
  ExploreOptions o;
  o.scope.depth = depth;
  return o;
}

void expect_same_search(const ExploreResult& a, const ExploreResult& x) {
  EXPECT_EQ(a.stats.distinct, x.stats.distinct);
  EXPECT_EQ(a.stats.generated, x.stats.generated);
  EXPECT_EQ(a.stats.queue, x.stats.queue);
  EXPECT_EQ(a.stats.store_bytes, x.stats.store_bytes);
  EXPECT_EQ(a.depth_start, x.depth_start);
  ASSERT_EQ(a.log.size(), x.log.size());
  for (size_t i = 0; i < a.log.size(); ++i) {
    ASSERT_EQ(a.log[i].parent, x.log[i].parent) << i;
    ASSERT_EQ(a.log[i].op, x.log[i].op) << i;
  }
  EXPECT_EQ(a.coverage, x.coverage);
  EXPECT_TRUE(a.edges == x.edges);
}

TEST(ExploreSearch, FindsNoViolationAndReachesTheLifecycle) {
  for (const Profile* p : kProfiles) {
    ExploreOptions o = small(7);
    o.profile = p;
    const ExploreResult r = explore(o);
    EXPECT_TRUE(r.violations.empty()) << p->name << ": " << r.violations.front().why;
    EXPECT_GT(r.stats.distinct, 20u);
    EXPECT_EQ(r.stats.depth_reached, 7u);
    // With two fds, binding and unbinding take 7 steps: ctl, ADD, close ctl, open loop,
    // open file, SET_FD, CLR_FD.
    EXPECT_TRUE(r.coverage.count(
        {op_label(op_ioctl(Value::literal(3), Req::LoopSetFd, Value::literal(4))), 0}));
    EXPECT_TRUE(r.coverage.count({op_label(op_ioctl_noarg(Value::literal(3), Req::LoopClrFd)), 0}));
  }
}

TEST(ExploreSearch, SameResultTwiceAndForAnyThreadCount) {
  ExploreOptions o = small(7);
  o.scope.devices = 2;
  o.scope.fds = 3;
  const ExploreResult a = explore(o);
  const ExploreResult b = explore(o);
  o.threads = 2;
  const ExploreResult c = explore(o);
  for (const ExploreResult* x : {&b, &c}) expect_same_search(a, *x);
}

TEST(ExploreSearch, SpillingTheFrontierAndThreeThreadsChangeNothing) {
  for (StoreMode mode : {StoreMode::Exact, StoreMode::Fingerprint}) {
    ExploreOptions o = small(8);
    o.scope.devices = 2;
    o.scope.fds = 3;
    o.store = mode;
    const ExploreResult a = explore(o);
    EXPECT_EQ(a.stats.frontier_spilled_bytes, 0u);
    o.frontier_memory_bytes = 0;  // every block goes to disk
    o.threads = 3;
    const ExploreResult b = explore(o);
    EXPECT_GT(b.stats.frontier_spilled_bytes, 0u);
    EXPECT_EQ(b.stats.frontier_peak_bytes, 0u);
    expect_same_search(a, b);
  }
}

TEST(ExploreSearch, AnUnusableSpillDirectoryStopsTheSearchWithAnError) {
  ExploreOptions o = small(6);
  o.frontier_memory_bytes = 0;
  o.spill_dir = "/nonexistent/loopcheck";
  EXPECT_THROW(explore(o), FrontierError);
}

TEST(ExploreSearch, FingerprintStoreFindsTheSameStatesHere) {
  ExploreOptions o = small(8);
  const ExploreResult exact = explore(o);
  o.store = StoreMode::Fingerprint;
  const ExploreResult fp = explore(o);
  EXPECT_EQ(exact.stats.distinct, fp.stats.distinct);
  EXPECT_GT(fp.stats.omission_probability, 0.0);
  EXPECT_LT(fp.stats.omission_probability, 1e-9);
  // At most 16 bytes of table per state once the table has grown past its initial size.
  EXPECT_EQ(exact.stats.omission_probability, 0.0);
}

TEST(ExploreSearch, SymmetryMergesStatesThatDifferOnlyInFdNumbers) {
  ExploreOptions o = small(7);
  o.scope.fds = 3;
  const ExploreResult with = explore(o);
  o.symmetry = false;
  const ExploreResult without = explore(o);
  EXPECT_LT(with.stats.distinct, without.stats.distinct);
  // Same lifecycle either way: symmetry may not lose an (abstract class, op, outcome).
  std::set<std::tuple<AbstractClass, int, int>> a, b;
  for (const auto& [k, w] : with.edges) a.insert({k.pre, k.label, k.outcome});
  for (const auto& [k, w] : without.edges) b.insert({k.pre, k.label, k.outcome});
  EXPECT_EQ(a, b);
}

TEST(ExploreSearch, WitnessPathsReplayToTheirEdge) {
  ExploreOptions o = small(7);
  o.scope.fds = 3;
  const ExploreResult r = explore(o);
  ASSERT_FALSE(r.edges.empty());
  for (const auto& [key, wit] : r.edges) {
    const ConcretePath path = explore_path(o, r, wit.parent, wit.op);
    ASSERT_EQ(path.ops.size(), wit.depth + 1u);
    EXPECT_EQ(path.before.back(), key.pre);
    EXPECT_EQ(op_label(path.ops.back()), key.label);
    EXPECT_EQ(errno_class(path.outcomes.back()), key.outcome);
    EXPECT_EQ(abstract_class(path.end), key.post);
  }
}

TEST(ExploreSearch, DepthZeroChecksOnlyTheInitialState) {
  const ExploreResult r = explore(small(0));
  EXPECT_EQ(r.stats.distinct, 1u);
  EXPECT_EQ(r.stats.generated, 0u);
  EXPECT_EQ(r.stats.queue, 1u);
}

TEST(ExploreCodec, RecordsRoundTripAndStayInsideTheScope) {
  ExploreOptions o = small(6);
  o.scope.fds = 3;
  const ExploreResult r = explore(o);
  const State initial = initial_state(*o.profile, scope_env(), scope_objects(o.scope));
  const StateCodec codec(o.scope, initial);
  std::vector<uint8_t> buf(codec.max_record_bytes());
  for (uint32_t id = 0; id < r.log.size(); id += 7) {
    State s = explore_path(o, r, id).end;
    canonicalize_fds(s);
    ASSERT_TRUE(codec.inside_scope(s));
    const size_t len = codec.encode(s, buf.data());
    EXPECT_LT(len, 400u);  // ~8 KB states become a few hundred bytes
    State back;
    codec.decode({buf.data(), len}, back);
    EXPECT_TRUE(back == s) << id;
  }
}

TEST(ExploreAlphabet, TheCacheGivesWhatAlphabetBuilds) {
  ExploreOptions o = small(6);
  o.scope.devices = 2;
  o.scope.fds = 3;
  const ExploreResult r = explore(o);
  const ArgDomain domain = make_domain(o.scope);
  AlphabetCache cache(o.scope, domain);
  std::vector<Op> want;
  for (uint32_t id = 0; id < r.log.size(); id += 5) {
    State s = explore_path(o, r, id).end;
    canonicalize_fds(s);
    alphabet(s, o.scope, domain, want);
    ASSERT_EQ(cache.get(s), want) << id;
  }
  EXPECT_GT(cache.size(), 1u);
  EXPECT_LT(cache.size(), r.log.size() / 20);  // few states differ in what the list reads
}

TEST(ExploreSymmetry, RenumberingFdsGivesOneRepresentative) {
  const Env env = scope_env();
  const Profile& p = kDefaultProfile;
  Scope scope;
  const auto objects = scope_objects(scope);
  // Open the file then loop-control, versus loop-control then the file.
  State a = initial_state(p, env, objects), b = a;
  step(a, p, env, op_open_file(0, Access::Rw));
  step(a, p, env, op_open_loop_control());
  step(b, p, env, op_open_loop_control());
  step(b, p, env, op_open_file(0, Access::Rw));
  EXPECT_FALSE(a == b);
  FdRenaming ra, rb;
  canonicalize_fds(a, &ra);
  canonicalize_fds(b, &rb);
  EXPECT_TRUE(a == b);
  // The renaming leads back to the fds each state really had.
  EXPECT_EQ(ra.original[3], 4u);
  EXPECT_EQ(rb.original[3], 3u);
}

}  // namespace
}  // namespace loopcheck::model
