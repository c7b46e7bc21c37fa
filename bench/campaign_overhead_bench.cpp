// What a campaign costs over the bare fuzzing engines (issue: under 10%). Each
// pair runs the same work twice: the engine alone, and as a `loopcheck campaign`
// fuzz task (a subprocess with its plan, records, findings stage and reports).
//   Builtin/*    `loopcheck fuzz --engine builtin --runs N` vs a campaign of that task:
//                wall time for the same executions (deterministic work)
//   LibFuzzer/*  build-fuzz/fuzz/fuzz_inproc alone for S seconds, with the flags
//                `loopcheck fuzz` gives it, vs a campaign's libFuzzer task for S seconds
// Time is each command's whole wall clock (the campaign's: its plan, child, replay,
// findings stage and reports); execs_per_second = the engine's executions / that.
// Counters: execs_per_second. Run from the build: build/bench/campaign_overhead_bench.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;

// Sizes of a small nightly task; LOOPCHECK_BENCH_RUNS / LOOPCHECK_BENCH_SECONDS change them.
uint64_t from_env(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::strtoull(value, nullptr, 10) : fallback;
}
const uint64_t kBuiltinRuns = from_env("LOOPCHECK_BENCH_RUNS", 100000);
const int kLibFuzzerSeconds = static_cast<int>(from_env("LOOPCHECK_BENCH_SECONDS", 30));

fs::path build_dir() {
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path();
}
fs::path source_dir() {
  return fs::path(LOOPCHECK_SOURCE_DIR);
}

fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("loopcheck-bench-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string output_of(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

double timed(const std::string& cmd) {
  const auto start = std::chrono::steady_clock::now();
  if (std::system(cmd.c_str()) != 0) return -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string write_config(const fs::path& dir, const std::string& fuzz_lines) {
  const fs::path config = dir / "bench.toml";
  std::ofstream(config) << "name = \"bench\"\n[fuzz]\ntargets = [\"inproc\"]\nseeds = [1]\n"
                        << fuzz_lines;
  return config.string();
}

void report(benchmark::State& state, double seconds, double execs) {
  if (seconds <= 0) return state.SkipWithError("the command failed");
  state.SetIterationTime(seconds);
  state.counters["execs_per_second"] = execs / seconds;
}

void BuiltinBare(benchmark::State& state) {
  for (auto _ : state) {
    const fs::path dir = scratch("bare");
    report(state,
           timed((build_dir() / "loopcheck").string() +
                 " fuzz --target inproc --engine builtin --json --runs " +
                 std::to_string(kBuiltinRuns) + " --findings " + (dir / "f").string() +
                 " > /dev/null"),
           kBuiltinRuns);
    fs::remove_all(dir);
  }
}

void BuiltinCampaign(benchmark::State& state) {
  for (auto _ : state) {
    const fs::path dir = scratch("campaign");
    const std::string config =
        write_config(dir, "engine = \"builtin\"\nruns = " + std::to_string(kBuiltinRuns) + "\n");
    report(state,
           timed((build_dir() / "loopcheck").string() + " campaign --json --config " + config +
                 " --out " + (dir / "out").string() + " > /dev/null"),
           kBuiltinRuns);
    fs::remove_all(dir);
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

fs::path fuzz_inproc() {
  return build_dir().parent_path() / "build-fuzz" / "fuzz" / "fuzz_inproc";
}

void LibFuzzerBare(benchmark::State& state) {
  if (!fs::exists(fuzz_inproc()))
    return state.SkipWithError("no build-fuzz/fuzz/fuzz_inproc (cmake --preset fuzz)");
  for (auto _ : state) {
    const fs::path dir = scratch("lf-bare");
    fs::create_directories(dir / "corpus");
    const auto start = std::chrono::steady_clock::now();
    const std::string log =
        output_of("cd " + dir.string() + " && " + fuzz_inproc().string() +
                  " -seed=1 -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 -max_len=513" +
                  " -max_total_time=" + std::to_string(kLibFuzzerSeconds) +
                  " -dict=" + (source_dir() / "fuzz/libfuzzer/fuzz_ops.dict").string() +
                  " corpus " + (source_dir() / "corpus/fuzz-seeds").string() + " 2>&1");
    const double seconds = seconds_since(start);
    const size_t at = log.rfind("stat::number_of_executed_units:");
    const double execs = at == std::string::npos ? 0 : std::atof(log.c_str() + at + 31);
    report(state, execs > 0 ? seconds : -1, execs);
    fs::remove_all(dir);
  }
}

void LibFuzzerCampaign(benchmark::State& state) {
  if (!fs::exists(fuzz_inproc()))
    return state.SkipWithError("no build-fuzz/fuzz/fuzz_inproc (cmake --preset fuzz)");
  for (auto _ : state) {
    const fs::path dir = scratch("lf-campaign");
    const std::string config = write_config(dir, "engine = \"libfuzzer\"\nbudget_seconds = " +
                                                     std::to_string(kLibFuzzerSeconds) + "\n");
    const auto start = std::chrono::steady_clock::now();
    const std::string text =
        output_of((build_dir() / "loopcheck").string() + " campaign --json --config " + config +
                  " --out " + (dir / "out").string());
    const double seconds = seconds_since(start);
    const nlohmann::json summary = nlohmann::json::parse(text, nullptr, false);
    const double execs = summary.is_discarded() || summary["fuzz"].empty()
                             ? 0
                             : summary["fuzz"][0]["execs"].get<double>();
    report(state, execs > 0 ? seconds : -1, execs);
    fs::remove_all(dir);
  }
}

}  // namespace

BENCHMARK(BuiltinBare)
    ->Name("Builtin/bare")
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kSecond);
BENCHMARK(BuiltinCampaign)
    ->Name("Builtin/campaign")
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kSecond);
BENCHMARK(LibFuzzerBare)
    ->Name("LibFuzzer/bare")
    ->UseManualTime()
    ->Iterations(2)
    ->Unit(benchmark::kSecond);
BENCHMARK(LibFuzzerCampaign)
    ->Name("LibFuzzer/campaign")
    ->UseManualTime()
    ->Iterations(2)
    ->Unit(benchmark::kSecond);
BENCHMARK_MAIN();
