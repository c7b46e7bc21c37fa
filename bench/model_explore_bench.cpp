// Explorer throughput on control-path scopes, one and two worker threads.
//
//   build/bench/model_explore_bench
//
// Reports states_per_second (generated states, as TLC counts them) and the
// distinct states of each scope. The whole search is the measured unit, so the
// numbers include the store, symmetry, invariant checks and coverage bookkeeping.
#include <benchmark/benchmark.h>

#include "explore/explore.h"

namespace loopcheck::model {
namespace {

void explore_scope(benchmark::State& state, uint32_t devices, uint32_t fds, uint32_t depth,
                   StoreMode store) {
  ExploreOptions o;
  o.scope.devices = devices;
  o.scope.fds = fds;
  o.scope.depth = depth;
  o.store = store;
  o.threads = static_cast<uint32_t>(state.range(0));
  uint64_t generated = 0, distinct = 0;
  for (auto _ : state) {
    const ExploreResult r = explore(o);
    generated += r.stats.generated;
    distinct = r.stats.distinct;
    benchmark::DoNotOptimize(r.stats.distinct);
  }
  state.counters["states_per_second"] =
      benchmark::Counter(static_cast<double>(generated), benchmark::Counter::kIsRate);
  state.counters["distinct"] = static_cast<double>(distinct);
}

void BM_Explore_2dev_3fd_d10_exact(benchmark::State& s) {
  explore_scope(s, 2, 3, 10, StoreMode::Exact);
}
void BM_Explore_2dev_3fd_d10_fingerprint(benchmark::State& s) {
  explore_scope(s, 2, 3, 10, StoreMode::Fingerprint);
}
void BM_Explore_default_d10(benchmark::State& s) {
  explore_scope(s, 1, 2, 10, StoreMode::Exact);
}

BENCHMARK(BM_Explore_2dev_3fd_d10_exact)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Explore_2dev_3fd_d10_fingerprint)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Explore_default_d10)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace loopcheck::model

BENCHMARK_MAIN();
