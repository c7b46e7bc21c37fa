// What the host target costs over the kernel's own floor: one corpus trace
// (set_fd_basic) through run_trace + HostTarget (model beside it, sandbox
// checks, ledger, cleanup), against a plain loop issuing the same syscalls.
// Reported as items (syscall-level steps) per second. Needs root and
// /dev/loop-control; otherwise it says so and reports nothing.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "targets/host/device_cleanup.h"
#include "targets/host/host_target.h"
#include "targets/host/loop_sys.h"
#include "targets/sandbox_dir.h"
#include "oracle/runner.h"
#include "trace/trace_files.h"
#include "model/profile.h"

namespace {

using namespace loopcheck;

// The checkout this file was compiled from (bench/CMakeLists.txt passes no source dir).
std::string corpus_trace() {
  std::string self = __FILE__;
  return self.substr(0, self.rfind("/bench/")) + "/corpus/conformance/common/set_fd_basic.trace";
}

void BM_HostTargetTrace(benchmark::State& state) {
  std::string why;
  if (!host_loop_available(&why))
    return state.SkipWithError(("no usable /dev/loop-control: " + why).c_str());
  LoadedTraces loaded = load_traces({corpus_trace()});
  if (loaded.traces.empty()) return state.SkipWithError("cannot load set_fd_basic.trace");
  const Trace& trace = loaded.traces.front();
  HostTarget target;
  int64_t steps = 0;
  for (auto _ : state) {
    TraceResult r = run_trace(trace, model::kDefaultProfile, &target, RunOptions{});
    // Steps actually executed: the run stops at a divergence (then finish() cleans up).
    steps += static_cast<int64_t>(r.passed + r.skipped + r.divergences + r.expectation_failures);
  }
  state.SetItemsProcessed(steps);
}
BENCHMARK(BM_HostTargetTrace)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();

// The same 25 statements as set_fd_basic.trace, as bare syscalls.
void BM_KernelFloor(benchmark::State& state) {
  std::string why;
  if (!host_loop_available(&why))
    return state.SkipWithError(("no usable /dev/loop-control: " + why).c_str());
  std::string dir;
  if (host::make_sandbox_dir("/var/tmp", &dir) != 0 ||
      host::create_backing_file(dir + "/img", 1 << 20, 0) != 0) {
    return state.SkipWithError("cannot make a sandbox");
  }
  char buf[256];
  auto sysfs = [&](int n, const char* attr) {
    std::string path = host::loop_sysfs_path(static_cast<uint64_t>(n)) + "/" + attr;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      benchmark::DoNotOptimize(::read(fd, buf, sizeof buf));
      ::close(fd);
    }
  };
  int64_t steps = 0;
  for (auto _ : state) {
    int ctl = ::open(host::kLoopControlPath, O_RDWR | O_CLOEXEC);
    int n = ::ioctl(ctl, LOOP_CTL_ADD, -1);
    int d = host::open_loop_node(static_cast<uint64_t>(n), O_RDWR, dir);
    sysfs(n, "size");
    sysfs(n, "loop/offset");
    int f = ::open((dir + "/img").c_str(), O_RDWR | O_CLOEXEC);
    ::ioctl(d, LOOP_SET_FD, f);
    for (const char* a : {"size", "ro", "loop/offset", "loop/sizelimit", "loop/autoclear",
                          "loop/partscan", "loop/dio", "queue/logical_block_size"}) {
      sysfs(n, a);
    }
    loop_info64 info{};
    ::ioctl(d, LOOP_GET_STATUS64, &info);
    uint64_t size = 0;
    ::ioctl(d, BLKGETSIZE64, &size);
    ::ioctl(d, LOOP_CLR_FD, 0);
    ::close(d);
    sysfs(n, "size");
    sysfs(n, "loop/offset");
    ::close(f);
    host::remove_loop_device(static_cast<uint64_t>(n), 2000);
    ::close(ctl);
    steps += 25;
  }
  state.SetItemsProcessed(steps);
  host::remove_sandbox_dir(dir);
}
BENCHMARK(BM_KernelFloor)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
