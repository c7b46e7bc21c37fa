// The model's interleavings of a concurrent block: the tuples each profile allows
// where the kernels' locking differs, and the reductions changing the work but
// never the answer.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "explore/interleavings.h"
#include "model/profile.h"
#include "trace/outcome_tuple.h"
#include "trace/parse.h"

using namespace loopcheck;

namespace {

Trace parse_or_die(const std::string& text) {
  ParseResult r = parse_trace(text, "interleavings.trace");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().format());
  return r.trace;
}

std::set<std::string> tuples(const Trace& t, const model::InterleavingResult& r) {
  std::set<std::string> out;
  for (const model::AllowedTuple& a : r.tuples)
    out.insert(format_tuple(t, t.blocks.front(), a.tuple));
  return out;
}

model::InterleavingResult explore(const Trace& t, const char* profile,
                                  model::InterleavingOptions o = {}) {
  const model::Profile* p = model::find_profile(profile);
  EXPECT_NE(p, nullptr) << profile;
  return model::explore_interleavings(t, *p, t.env, o);
}

const char* kRemoveVsOpen =
    "@trace 2\n"
    "ctl = open loop-control rw\n"
    "n = ioctl ctl LOOP_CTL_ADD -1\n"
    "concurrent\n"
    "thread remover\n"
    "  ioctl ctl LOOP_CTL_REMOVE n\n"
    "thread opener\n"
    "  d = open loop n rw\n"
    "  close d\n"
    "end\n";

// The detaching fd is the device's only opener; another thread opens it meanwhile.
const char* kDetachVsOpen =
    "@trace 2\n"
    "file img size=64K\n"
    "ctl = open loop-control rw\n"
    "n = ioctl ctl LOOP_CTL_ADD -1\n"
    "f = open file img rw\n"
    "d = open loop n rw\n"
    "ioctl d LOOP_CONFIGURE {fd=f}\n"
    "concurrent\n"
    "thread detacher\n"
    "  ioctl d LOOP_CLR_FD\n"
    "  close d\n"
    "thread opener\n"
    "  e = open loop n rw\n"
    "  ioctl e LOOP_GET_STATUS64\n"
    "  close e\n"
    "end\n";

}  // namespace

TEST(Interleavings, RemoveRacingAnOpenGivesThreeOutcomes) {
  const Trace t = parse_or_die(kRemoveVsOpen);
  const model::InterleavingResult r = explore(t, "linux-6.18");
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.violations.empty());
  // Open first: EBUSY. Open between Lo_deleting and loop_remove: ENXIO. Open
  // after the removal: the legacy autoload makes the device again.
  EXPECT_EQ(tuples(t, r),
            (std::set<std::string>{"remover=0 opener=ENXIO,EBADF", "remover=0 opener=fd,0",
                                   "remover=EBUSY opener=fd,0"}));
}

TEST(Interleavings, DetachRacingAnOpenDependsOnTheRelease) {
  const Trace t = parse_or_die(kDetachVsOpen);
  const auto on_61 = tuples(t, explore(t, "linux-6.1"));
  const auto on_618 = tuples(t, explore(t, "linux-6.18"));
  // 6.1 tears down inside LOOP_CLR_FD after dropping lo_mutex: an open in that
  // window succeeds and then sees the device unbound.
  EXPECT_TRUE(on_61.count("detacher=0,0 opener=fd,ENXIO,0"));
  // 6.18 leaves the device in Rundown until the detacher's close: an open then
  // gets ENXIO (lo_open).
  EXPECT_TRUE(on_618.count("detacher=0,0 opener=ENXIO,EBADF,EBADF"));
  EXPECT_FALSE(on_61.count("detacher=0,0 opener=ENXIO,EBADF,EBADF"));
  // Open first on either: the detach is deferred (two openers), the status read works.
  EXPECT_TRUE(on_61.count("detacher=0,0 opener=fd,status,0"));
  EXPECT_TRUE(on_618.count("detacher=0,0 opener=fd,status,0"));
}

TEST(Interleavings, ReductionsChangeTheWorkNotTheTuples) {
  const Trace t = parse_or_die(kDetachVsOpen);
  model::InterleavingOptions none, cache, all;
  none.cache_states = none.sleep_sets = false;
  cache.sleep_sets = false;
  const auto plain = explore(t, "linux-6.1", none);
  const auto cached = explore(t, "linux-6.1", cache);
  const auto reduced = explore(t, "linux-6.1", all);
  EXPECT_EQ(tuples(t, plain), tuples(t, cached));
  EXPECT_EQ(tuples(t, plain), tuples(t, reduced));
  EXPECT_LT(cached.expanded, plain.expanded);
  EXPECT_LE(reduced.expanded, cached.expanded);
}

TEST(Interleavings, StepsOnDifferentDevicesCommute) {
  // Two threads reading the status of two devices: every order is equivalent.
  const Trace t = parse_or_die(
      "@trace 2\n"
      "ctl = open loop-control rw\n"
      "a = ioctl ctl LOOP_CTL_ADD -1\n"
      "b = ioctl ctl LOOP_CTL_ADD -1\n"
      "da = open loop a rw\n"
      "db = open loop b rw\n"
      "concurrent\n"
      "thread x\n"
      "  ioctl da LOOP_SET_BLOCK_SIZE 1024\n"
      "  ioctl da BLKSSZGET\n"
      "  ioctl da LOOP_GET_STATUS64\n"
      "thread y\n"
      "  ioctl db LOOP_SET_BLOCK_SIZE 2048\n"
      "  ioctl db BLKSSZGET\n"
      "  ioctl db LOOP_GET_STATUS64\n"
      "end\n");
  model::InterleavingOptions none;
  none.cache_states = none.sleep_sets = false;
  const auto plain = explore(t, "linux-6.18", none);
  const auto reduced = explore(t, "linux-6.18");
  EXPECT_EQ(plain.executions, 20u);   // C(6, 3) orders
  EXPECT_EQ(reduced.executions, 1u);  // one representative
  EXPECT_EQ(tuples(t, plain), tuples(t, reduced));
  EXPECT_EQ(plain.tuples.size(), 1u);
}

TEST(Interleavings, ASysfsReadRacingATeardownMayFindItsFileGone) {
  // open(2) of loop/autoclear while bound, the teardown, then read(2): ENODEV
  // (kernfs), as 6.1.0-56 showed; or the whole read before or after.
  const Trace t = parse_or_die(
      "@trace 2\n"
      "file img size=64K\n"
      "ctl = open loop-control rw\n"
      "n = ioctl ctl LOOP_CTL_ADD -1\n"
      "f = open file img rw\n"
      "d = open loop n rw\n"
      "ioctl d LOOP_CONFIGURE {fd=f flags=AUTOCLEAR}\n"
      "close f\n"
      "concurrent\n"
      "thread closer\n"
      "  close d\n"
      "thread watcher\n"
      "  sysfs n loop/autoclear\n"
      "end\n");
  for (const char* profile : {"linux-6.1", "linux-6.18"}) {
    EXPECT_EQ(tuples(t, explore(t, profile)),
              (std::set<std::string>{"closer=0 watcher=ENODEV", "closer=0 watcher=ENOENT",
                                     "closer=0 watcher=text"}))
        << profile;
  }
}
