// The generated suite: every trace passes on the model with its own expectations,
// uses variables for fds and indices, ends with nothing left, covers every
// reachable (class, operation, outcome) triple; and the checked-in suite passes.
#include <gtest/gtest.h>

#include <set>

#include "targets/inproc/inproc_target.h"
#include "oracle/runner.h"
#include "trace/trace_files.h"
#include "explore/suite.h"
#include "trace/parse.h"
#include "trace/print.h"

namespace loopcheck::model {
namespace {

TEST(ExploreSuite, CoversEveryTripleAndPassesOnTheModel) {
  ExploreOptions o;
  o.scope.depth = 7;
  const ExploreResult r = explore(o);
  std::string error;
  const std::vector<SuiteTrace> suite = build_suite(o, r, &error);
  ASSERT_EQ(error, "");
  ASSERT_FALSE(suite.empty());
  std::set<std::tuple<AbstractClass, int, int>> want;
  for (const auto& [k, w] : r.edges) want.insert({k.pre, k.label, k.outcome});
  size_t covers = 0;
  for (const SuiteTrace& st : suite) {
    covers += st.covers.size();
    EXPECT_FALSE(st.covers.empty()) << st.name;
    const TraceResult tr = run_trace(st.trace, *o.profile, nullptr, RunOptions{});
    EXPECT_TRUE(tr.ok()) << st.name << "\n" << print_trace(st.trace);
    // No literal fd or device index: every open/ADD result is bound to a variable.
    for (const Statement& s : st.trace.stmts) {
      if (s.op.kind != OpKind::Open || s.op.node != Node::Loop) continue;
      EXPECT_EQ(s.op.subject.kind, Value::Kind::Var) << st.name;
    }
    // It ends by closing loop-control after the removals.
    EXPECT_EQ(st.trace.stmts.back().op.kind, OpKind::Close) << st.name;
  }
  EXPECT_EQ(covers, want.size());  // each triple is credited to exactly one trace
}

TEST(ExploreSuite, SameSuiteEveryTime) {
  ExploreOptions o;
  o.scope.depth = 6;
  std::string e1, e2;
  const auto a = build_suite(o, explore(o), &e1);
  o.threads = 2;
  const auto b = build_suite(o, explore(o), &e2);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(print_trace(a[i].trace), print_trace(b[i].trace));
  }
}

// The checked-in suites (one per profile) still hold for the model and the
// in-process driver: a model change that alters them is caught here, and the
// suite is regenerated with `loopcheck explore --profile P --suite DIR`.
TEST(ExploreSuite, CheckedInSuitesPassOnTheModelAndInproc) {
  for (const Profile* profile : kProfiles) {
    const std::string dir =
        std::string(LOOPCHECK_SOURCE_DIR "/corpus/generated/") + std::string(profile->name);
    const LoadedTraces loaded = load_traces({dir});
    ASSERT_TRUE(loaded.ok()) << dir;
    ASSERT_GE(loaded.traces.size(), 50u) << dir;
    inproc::InprocTarget driver;
    for (const Trace& t : loaded.traces) {
      EXPECT_TRUE(run_trace(t, *profile, nullptr, RunOptions{}).ok())
          << t.source << " on the model";
      EXPECT_TRUE(run_trace(t, *profile, &driver, RunOptions{}).ok()) << t.source << " on inproc";
    }
  }
}

}  // namespace
}  // namespace loopcheck::model
