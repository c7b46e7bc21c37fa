// I/O through the in-process loop driver against raw pread/pwrite on the same
// backing file, and against this machine's kernel loop driver bound to that file,
// side by side in one run. Device fds are opened O_DIRECT ("direct") so the
// comparison measures the loop pipeline (queue, workers, backing I/O) rather than
// two different page caches; "buffered" rows go through each page cache.
//
// The kernel side creates its OWN device with LOOP_CTL_ADD at a free index >= 300
// and removes it afterwards; it never touches any other loop device.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "inproc/kernel.h"

namespace {

using loopcheck::inproc::DriverConfig;
using loopcheck::inproc::Kernel;

constexpr uint64_t kFileSize = 128ull << 20;
constexpr uint64_t kSeqBlock = 1 << 20;
constexpr uint64_t kRandBlock = 4096;

// One I/O endpoint: pread/pwrite-shaped functions over some fd.
struct Endpoint {
  std::function<int64_t(void*, uint64_t, int64_t)> read;
  std::function<int64_t(const void*, uint64_t, int64_t)> write;
};

struct World {
  std::string dir, path;
  int raw_fd = -1;
  std::unique_ptr<Kernel> kernel;
  int inproc_direct = -1, inproc_buffered = -1;
  // The kernel's loop device (ours alone), or -1 if unavailable.
  int ctl = -1, kindex = -1, kfile = -1, kernel_direct = -1, kernel_buffered = -1;
  std::string knode;
  uint8_t* buf = nullptr;
};
World g;

void* aligned(uint64_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, n) != 0) std::abort();
  return p;
}

bool setup_kernel_device() {
  g.ctl = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (g.ctl < 0) return false;
  for (int i = 300; i < 400 && g.kindex < 0; ++i) {
    int r = ::ioctl(g.ctl, LOOP_CTL_ADD, i);
    if (r >= 0)
      g.kindex = r;
    else if (errno != EEXIST)
      break;
  }
  if (g.kindex < 0) return false;
  g.knode = "/dev/loop" + std::to_string(g.kindex);
  struct stat st;
  if (::stat(g.knode.c_str(), &st) != 0) {
    // No devtmpfs node: make our own in the bench directory.
    g.knode = g.dir + "/loop" + std::to_string(g.kindex);
    if (::mknod(g.knode.c_str(), S_IFBLK | 0600, makedev(7, static_cast<unsigned>(g.kindex))) != 0)
      return false;
  }
  int setup = ::open(g.knode.c_str(), O_RDWR | O_CLOEXEC);
  if (setup < 0) return false;
  g.kfile = ::open(g.path.c_str(), O_RDWR | O_CLOEXEC);
  bool ok = ::ioctl(setup, LOOP_SET_FD, g.kfile) == 0;
  ::close(setup);
  if (!ok) return false;
  g.kernel_direct = ::open(g.knode.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  g.kernel_buffered = ::open(g.knode.c_str(), O_RDWR | O_CLOEXEC);
  return g.kernel_direct >= 0 && g.kernel_buffered >= 0;
}

void teardown_kernel_device() {
  if (g.kindex < 0) return;
  if (g.kernel_direct >= 0) ::ioctl(g.kernel_direct, LOOP_CLR_FD, 0);
  if (g.kernel_direct >= 0) ::close(g.kernel_direct);
  if (g.kernel_buffered >= 0) ::close(g.kernel_buffered);
  if (g.kfile >= 0) ::close(g.kfile);
  // The detach completes at the last close (6.11+); REMOVE may need a moment.
  for (int tries = 0; tries < 100; ++tries) {
    if (::ioctl(g.ctl, LOOP_CTL_REMOVE, g.kindex) == 0 || errno == ENODEV) break;
    ::usleep(10000);
  }
  if (g.knode.rfind(g.dir, 0) == 0) ::unlink(g.knode.c_str());
  ::close(g.ctl);
}

void setup() {
  char tmpl[] = "/var/tmp/loopcheck-inproc-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) std::abort();
  g.dir = tmpl;
  g.path = g.dir + "/img";
  g.raw_fd = ::open(g.path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  g.buf = static_cast<uint8_t*>(aligned(kSeqBlock));
  std::memset(g.buf, 0xab, kSeqBlock);
  for (uint64_t off = 0; off < kFileSize; off += kSeqBlock)
    if (::pwrite(g.raw_fd, g.buf, kSeqBlock, static_cast<off_t>(off)) !=
        static_cast<ssize_t>(kSeqBlock))
      std::abort();
  ::fsync(g.raw_fd);

  DriverConfig config;
  config.precreated = 1;
  g.kernel = std::make_unique<Kernel>(loopcheck::inproc::default_profile(), config);
  int setup_fd = g.kernel->open_loop(0, O_RDWR);
  int f = g.kernel->open_host(g.path, O_RDWR, "img");
  if (g.kernel->ioctl(setup_fd, LOOP_SET_FD, static_cast<unsigned long>(f)) != 0) std::abort();
  g.kernel->close(f);
  g.inproc_direct = g.kernel->open_loop(0, O_RDWR | O_DIRECT);
  g.inproc_buffered = g.kernel->open_loop(0, O_RDWR);
  g.kernel->close(setup_fd);

  if (!setup_kernel_device()) {
    std::fprintf(
        stderr,
        "\n*** KERNEL COMPARISON SKIPPED: could not create and bind an own loop device via "
        "/dev/loop-control (errno %d: %s) ***\n\n",
        errno, std::strerror(errno));
    teardown_kernel_device();
    g.kindex = -1;
  }
}

void teardown() {
  teardown_kernel_device();
  g.kernel.reset();
  ::close(g.raw_fd);
  ::unlink(g.path.c_str());
  ::rmdir(g.dir.c_str());
  std::free(g.buf);
}

Endpoint host_fd(int fd) {
  return {
      [fd](void* b, uint64_t n, int64_t o) { return static_cast<int64_t>(::pread(fd, b, n, o)); },
      [fd](const void* b, uint64_t n, int64_t o) {
        return static_cast<int64_t>(::pwrite(fd, b, n, o));
      }};
}
Endpoint inproc_fd(int fd) {
  return {[fd](void* b, uint64_t n, int64_t o) { return g.kernel->pread(fd, b, n, o); },
          [fd](const void* b, uint64_t n, int64_t o) { return g.kernel->pwrite(fd, b, n, o); }};
}

// Deterministic offsets: a fixed LCG, the same sequence for every endpoint.
void run(benchmark::State& state, const Endpoint& ep, bool write, bool sequential) {
  const uint64_t block = sequential ? kSeqBlock : kRandBlock;
  const uint64_t slots = kFileSize / block;
  uint64_t x = 12345, i = 0;
  for (auto _ : state) {
    uint64_t slot = sequential
                        ? (i++ % slots)
                        : ((x = x * 6364136223846793005ull + 1442695040888963407ull) >> 33) % slots;
    int64_t off = static_cast<int64_t>(slot * block);
    int64_t n = write ? ep.write(g.buf, block, off) : ep.read(g.buf, block, off);
    if (n != static_cast<int64_t>(block)) {
      state.SkipWithError("short or failed I/O");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * block));
}

void register_all() {
  struct Pattern {
    const char* name;
    bool write, sequential;
  } patterns[] = {{"seq_read_1M", false, true},
                  {"seq_write_1M", true, true},
                  {"rand_read_4K", false, false},
                  {"rand_write_4K", true, false}};
  for (const Pattern& p : patterns) {
    auto add = [&](const std::string& who, Endpoint ep) {
      benchmark::RegisterBenchmark(
          (std::string(p.name) + "/" + who).c_str(),
          [ep, p](benchmark::State& s) { run(s, ep, p.write, p.sequential); })
          ->MinTime(0.3)
          ->UseRealTime();
    };
    add("raw_file", host_fd(g.raw_fd));
    add("inproc_direct", inproc_fd(g.inproc_direct));
    if (g.kindex >= 0) add("kernel_direct", host_fd(g.kernel_direct));
    add("inproc_buffered", inproc_fd(g.inproc_buffered));
    if (g.kindex >= 0) add("kernel_buffered", host_fd(g.kernel_buffered));
  }
}

}  // namespace

int main(int argc, char** argv) {
  setup();
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  teardown();
  return 0;
}
