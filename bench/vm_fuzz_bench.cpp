// Fuzzing throughput on a real kernel in QEMU (TCG): executed programs per second
// per VM on fresh random 16-op programs, and where the time goes.
//
//   BM_VmProgramOneRoundTrip  the fuzzer's path: the whole program, the agent's
//                             quick reset and the clean check in one round trip
//   BM_VmProgramPerStep       the same programs the trace way: Start, one Exec
//                             round trip per step, a full Reset (module reload)
//   BM_VmBootToReady          QEMU spawn to the agent's Ready (initramfs, disk, boot)
//
// Counters: programs_per_second; round_trip_ms (the agent's share of a program).
// The kernel: $LOOPCHECK_BENCH_KERNEL, else 6.1.0-56-cloud-amd64 from the cache.
//
//   build/bench/vm_fuzz_bench --benchmark_filter=OneRoundTrip
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <string>

#include "fuzz/decode.h"
#include "fuzz/exec.h"
#include "fuzz/mutate.h"
#include "fuzz/prng.h"
#include "model/profile.h"
#include "oracle/runner.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"
#include "targets/vm/vm_target.h"

namespace {

using namespace loopcheck;

constexpr size_t kOpsPerProgram = 16;

bool bench_kernel(vm::KernelFiles* files, std::string* why) {
  const char* chosen = std::getenv("LOOPCHECK_BENCH_KERNEL");
  const std::string version = chosen && *chosen ? chosen : "6.1.0-56-cloud-amd64";
  return vm::qemu_available(why) && vm::cached_kernel(version, files, why);
}

// Fresh random programs under the kernel's profile, as `loopcheck fuzz` makes them.
class Programs {
 public:
  explicit Programs(const std::string& version) {
    decode_.forced_profile = model::profile_for_release(version);
    decode_.env = Env{};
  }
  const fuzz::Program& next() {
    const size_t size = fuzz::random_input(input_.data(), input_.size(), kOpsPerProgram, rng_);
    fuzz::decode({input_.data(), size}, program_, decode_);
    return program_;
  }
  bool ok() const { return decode_.forced_profile != nullptr; }

 private:
  fuzz::DecodeOptions decode_;
  Prng rng_{1};
  std::array<uint8_t, fuzz::kMaxInputBytes> input_{};
  fuzz::Program program_;
};

void BM_VmProgramOneRoundTrip(benchmark::State& state) {
  vm::KernelFiles kernel;
  std::string why;
  if (!bench_kernel(&kernel, &why)) return state.SkipWithError(why.c_str());
  vm::VmTarget target(kernel);
  Programs programs(kernel.version);
  if (!programs.ok() || !target.boot(&why)) return state.SkipWithError(why.c_str());
  fuzz::ProgramRunner runner(&target);
  for (auto _ : state) benchmark::DoNotOptimize(runner.run(programs.next()));
  const vm::VmStats& s = target.stats();
  state.counters["programs_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["round_trip_ms"] =
      s.programs ? 1000 * s.program_round_trip_seconds / static_cast<double>(s.programs) : 0;
  state.counters["boots"] = static_cast<double>(s.boots);
}
BENCHMARK(BM_VmProgramOneRoundTrip)->Unit(benchmark::kMillisecond)->MinTime(20.0)->UseRealTime();

void BM_VmProgramPerStep(benchmark::State& state) {
  vm::KernelFiles kernel;
  std::string why;
  if (!bench_kernel(&kernel, &why)) return state.SkipWithError(why.c_str());
  vm::VmTarget target(kernel);
  Programs programs(kernel.version);
  if (!programs.ok() || !target.boot(&why)) return state.SkipWithError(why.c_str());
  for (auto _ : state) {
    const fuzz::Program& p = programs.next();
    benchmark::DoNotOptimize(run_trace(fuzz::to_trace(p), *p.profile, &target, RunOptions{false}));
  }
  state.counters["programs_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["boots"] = static_cast<double>(target.stats().boots);
}
BENCHMARK(BM_VmProgramPerStep)->Unit(benchmark::kMillisecond)->MinTime(20.0)->UseRealTime();

// QEMU's start to the agent's Ready: arg 0 boots every time (LOOPCHECK_VM_SNAPSHOT=0),
// arg 1 restores the snapshot an untimed first boot saved.
void BM_VmBootToReady(benchmark::State& state) {
  vm::KernelFiles kernel;
  std::string why;
  if (!bench_kernel(&kernel, &why)) return state.SkipWithError(why.c_str());
  vm::VmOptions options;
  options.snapshot = state.range(0) != 0;
  if (options.snapshot && !vm::Vm::boot(kernel, options, &why))  // saves it, if not there yet
    return state.SkipWithError(why.c_str());
  size_t restored = 0;
  for (auto _ : state) {
    std::unique_ptr<vm::Vm> guest = vm::Vm::boot(kernel, options, &why);
    if (!guest) return state.SkipWithError(why.c_str());
    state.PauseTiming();  // the poweroff is nobody's wait
    restored += guest->restored();
    guest->shutdown();
    guest.reset();
    state.ResumeTiming();
  }
  state.counters["restored"] = static_cast<double>(restored);
}
BENCHMARK(BM_VmBootToReady)
    ->ArgName("snapshot")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
