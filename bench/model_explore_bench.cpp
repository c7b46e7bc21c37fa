// Explorer throughput and memory.
//
//   build/bench/model_explore_bench            # google-benchmark: states/s, 1 and 2 threads
//   build/bench/model_explore_bench --scale [depth] [frontier MiB]
//       # the scope (--devices 2 --files 2 --fds 4, fingerprint store, depth
//       # 10 unless given), each thread count in its own child process so its peak
//       # RSS is its own: distinct and generated states, wall and CPU time,
//       # the CPU time of the longest chain through the search (crit_s: per phase the
//       # busiest worker, plus the serial work; the wall time on cores of its own),
//       # generated states per second (wall and per CPU-second), bytes per distinct
//       # state of the search's data (store + path log + marks + frontier peak) and
//       # of the child's peak RSS.
//
// The whole search is the measured unit, so the numbers include the store,
// symmetry, invariant checks and coverage bookkeeping.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

// What a --scale child sends back through its pipe.
struct ScaleRow {
  uint64_t distinct = 0, generated = 0, data_bytes = 0, spilled_bytes = 0;
  double wall_seconds = 0;
  double critical_cpu_seconds = 0;  // the wall time on `threads` cores of its own
};

ScaleRow run_scale_child(uint32_t depth, uint32_t threads, uint64_t frontier_mib) {
  ExploreOptions o;
  o.scope.devices = 2;
  o.scope.files = 2;
  o.scope.fds = 4;
  o.scope.depth = depth;
  o.store = StoreMode::Fingerprint;
  o.threads = threads;
  o.frontier_memory_bytes = frontier_mib << 20;
  const auto start = std::chrono::steady_clock::now();
  const ExploreResult r = explore(o);
  ScaleRow row;
  row.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  row.distinct = r.stats.distinct;
  row.generated = r.stats.generated;
  row.data_bytes =
      r.stats.store_bytes + r.stats.log_bytes + r.stats.marks_bytes + r.stats.frontier_peak_bytes;
  row.spilled_bytes = r.stats.frontier_spilled_bytes;
  row.critical_cpu_seconds = r.stats.critical_cpu_seconds;
  return row;
}

// Runs one configuration in a child process: its peak RSS and CPU time are its own.
bool scale_row(uint32_t depth, uint32_t threads, uint64_t frontier_mib) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const ScaleRow row = run_scale_child(depth, threads, frontier_mib);
    const bool sent = write(fds[1], &row, sizeof row) == static_cast<ssize_t>(sizeof row);
    _exit(sent ? 0 : 1);
  }
  close(fds[1]);
  ScaleRow row;
  const bool got = read(fds[0], &row, sizeof row) == static_cast<ssize_t>(sizeof row);
  close(fds[0]);
  int status = 0;
  rusage usage{};
  if (pid < 0 || wait4(pid, &status, 0, &usage) != pid || !got) return false;
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const double rss = static_cast<double>(usage.ru_maxrss) * 1024;  // KiB on Linux
  const auto n = static_cast<double>(row.distinct);
  const auto gen = static_cast<double>(row.generated);
  std::printf("%7u %10llu %11llu %8.2f %8.2f %8.2f %12.0f %12.0f %10.1f %9.1f %10.1f %9llu\n",
              threads, static_cast<unsigned long long>(row.distinct),
              static_cast<unsigned long long>(row.generated), row.wall_seconds, cpu,
              row.critical_cpu_seconds, gen / row.wall_seconds, gen / cpu,
              static_cast<double>(row.data_bytes) / n, rss / (1 << 20), rss / n,
              static_cast<unsigned long long>(row.spilled_bytes >> 20));
  std::fflush(stdout);
  return true;
}

int scale(int argc, char** argv) {
  const uint32_t depth = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 10;
  const uint64_t frontier_mib = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1024;
  std::printf(
      "explore --devices 2 --files 2 --fds 4 --depth %u --store fingerprint, --frontier-mem %llu "
      "MiB\n",
      depth, static_cast<unsigned long long>(frontier_mib));
  std::printf("%7s %10s %11s %8s %8s %8s %12s %12s %10s %9s %10s %9s\n", "threads", "distinct",
              "generated", "wall_s", "cpu_s", "crit_s", "gen/s_wall", "gen/cpu_s", "data_B/st",
              "rss_MiB", "rss_B/st", "spill_MiB");
  std::fflush(stdout);
  for (uint32_t threads : {1u, 2u})
    if (!scale_row(depth, threads, frontier_mib)) return 1;
  return 0;
}

}  // namespace
}  // namespace loopcheck::model

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--scale") == 0) return loopcheck::model::scale(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
