// Model step throughput on a realistic op mix, and proof that the control path
// does not allocate: operator new is counted while the loop runs.
//
//   build/bench/model_step_bench
//
// Reports items_per_second (= model steps/s) and allocs_per_op.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "model/model.h"
#include "trace/ops.h"

namespace {

std::atomic<uint64_t> g_allocations{0};

}  // namespace

// Replacing the global operator new/delete pair with malloc/free is what the
// standard allows; gcc's -Wmismatched-new-delete cannot see that the pair is replaced.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace loopcheck {
namespace {

Value lit(int64_t v) {
  return Value::signed_literal(v);
}

// What losetup-like tools do around one device, returning to the initial state
// so the cycle can repeat forever: 16 ops, fds and indices as the model hands them out.
std::vector<Op> control_cycle() {
  StructFields status;
  status.set(Field::Offset, lit(512));
  status.set(Field::Sizelimit, lit(64 * 1024));
  status.set(Field::Flags, lit(kLoAutoclear));
  const Value ctl = lit(3), dev = lit(4), file = lit(5);
  return {
      op_open_loop_control(Access::Rw),           // fd 3
      op_ioctl_noarg(ctl, Req::LoopCtlGetFree),   // index 0
      op_open_loop(lit(0), Access::Rw),           // fd 4
      op_open_file(0, Access::Rw),                // fd 5
      op_ioctl(dev, Req::LoopSetFd, file),        //
      op_ioctl_noarg(dev, Req::LoopGetStatus64),  //
      op_ioctl_struct(dev, Req::LoopSetStatus64, status),
      op_ioctl_noarg(dev, Req::BlkGetSize64),  //
      op_sysfs(lit(0), SysAttr::Size),         //
      op_ioctl(dev, Req::LoopSetBlockSize, lit(4096)),
      op_ioctl_noarg(dev, Req::LoopSetCapacity),  //
      op_ioctl_noarg(dev, Req::BlkSszGet),        //
      op_ioctl_noarg(dev, Req::LoopClrFd),        //
      op_close(file),                             //
      op_close(dev),                              // last close: teardown
      op_close(ctl),
  };
}

// The same cycle with data I/O through the device and the backing file.
std::vector<Op> data_cycle() {
  const Value ctl = lit(3), dev = lit(4), file = lit(5);
  return {
      op_open_loop_control(Access::Rw),
      op_ioctl_noarg(ctl, Req::LoopCtlGetFree),
      op_open_loop(lit(0), Access::Rw),
      op_open_file(0, Access::Rw),
      op_ioctl(dev, Req::LoopSetFd, file),
      op_pwrite(dev, 0, 4096, 7),
      op_pread(dev, 0, 4096),
      op_fsync(dev),
      op_pread(file, 0, 4096),
      op_pwrite(file, 8192, 512, 9),
      op_pread(dev, 4096, 8192),
      op_ioctl_noarg(dev, Req::BlkFlsBuf),
      op_ioctl_noarg(dev, Req::LoopClrFd),
      op_close(file),
      op_close(dev),
      op_close(ctl),
  };
}

void run_cycle(benchmark::State& bench, const std::vector<Op>& cycle,
               const model::Profile& profile) {
  Env env;
  std::vector<ObjectDecl> objects(1);
  objects[0].name = "img";
  objects[0].size = 1 << 20;
  model::State state = model::initial_state(profile, env, objects);
  uint64_t allocations_before = g_allocations.load();
  uint64_t ops = 0;
  for (auto _ : bench) {
    for (const Op& op : cycle) {
      Outcome o = model::step(state, profile, env, op);
      benchmark::DoNotOptimize(o);
    }
    ops += cycle.size();
  }
  uint64_t allocations = g_allocations.load() - allocations_before;
  bench.SetItemsProcessed(static_cast<int64_t>(ops));
  bench.counters["allocs_per_op"] =
      ops ? static_cast<double>(allocations) / static_cast<double>(ops) : 0.0;
}

void BM_ModelControlPath(benchmark::State& bench, const model::Profile* profile) {
  run_cycle(bench, control_cycle(), *profile);
}
void BM_ModelDataPath(benchmark::State& bench, const model::Profile* profile) {
  run_cycle(bench, data_cycle(), *profile);
}

BENCHMARK_CAPTURE(BM_ModelControlPath, linux_6_1, &model::kLinux61);
BENCHMARK_CAPTURE(BM_ModelControlPath, linux_6_12, &model::kLinux612);
BENCHMARK_CAPTURE(BM_ModelControlPath, linux_6_18, &model::kLinux618);
BENCHMARK_CAPTURE(BM_ModelDataPath, linux_6_18, &model::kLinux618);

}  // namespace
}  // namespace loopcheck

BENCHMARK_MAIN();
