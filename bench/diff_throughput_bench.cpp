// Differential throughput: the model and the in-process driver in lockstep, with
// real file I/O, over generated traces (`loopcheck gen` traces with a 16-op body
// plus their setup and cleanup). Reports statements/s, counting every statement
// executed on both sides, and traces/s including each trace's sandbox set-up.
//
//   build/bench/diff_throughput_bench
#include <benchmark/benchmark.h>

#include <vector>

#include "fuzz/generator.h"
#include "targets/inproc/inproc_target.h"
#include "oracle/runner.h"

namespace loopcheck {
namespace {

void BM_ModelVsInproc(benchmark::State& bench, const model::Profile* profile) {
  std::vector<Trace> traces;
  for (uint64_t i = 0; i < 64; ++i) traces.push_back(generate_trace(GenOptions{1, 16, profile}, i));
  inproc::InprocTarget target;
  uint64_t statements = 0, traces_run = 0, diverged = 0;
  size_t next = 0;
  for (auto _ : bench) {
    const Trace& t = traces[next++ % traces.size()];
    TraceResult r = run_trace(t, *profile, &target, RunOptions{false});
    statements += t.stmts.size();
    ++traces_run;
    diverged += r.divergences;
  }
  bench.SetItemsProcessed(static_cast<int64_t>(statements));
  bench.counters["traces_per_second"] =
      benchmark::Counter(static_cast<double>(traces_run), benchmark::Counter::kIsRate);
  bench.counters["divergences"] = static_cast<double>(diverged);
}

void BM_ModelAlone(benchmark::State& bench, const model::Profile* profile) {
  std::vector<Trace> traces;
  for (uint64_t i = 0; i < 64; ++i) traces.push_back(generate_trace(GenOptions{1, 16, profile}, i));
  uint64_t statements = 0;
  size_t next = 0;
  for (auto _ : bench) {
    const Trace& t = traces[next++ % traces.size()];
    TraceResult r = run_trace(t, *profile, nullptr, RunOptions{false});
    benchmark::DoNotOptimize(r);
    statements += t.stmts.size();
  }
  bench.SetItemsProcessed(static_cast<int64_t>(statements));
}

BENCHMARK_CAPTURE(BM_ModelVsInproc, linux_6_18, &model::kLinux618)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelVsInproc, linux_6_1, &model::kLinux61)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelAlone, linux_6_18, &model::kLinux618);

}  // namespace
}  // namespace loopcheck

BENCHMARK_MAIN();
