// What request queues borrow while they run: worker threads (each with its own
// aligned bounce buffer) and request rings. The kernel creates a loop device's
// workqueue at bind; doing that literally (a thread, a 1 MiB bounce buffer and a
// 1 MiB ring per bind) cost more than the rest of a short trace, and short traces
// are what differential runs and fuzzing execute thousands of per second. So the
// threads park here between binds, and rings come back here when a queue dies.
//
// Process-wide and immortal: queues of any Kernel may borrow, in any order, and
// nothing has to outlive it at exit (parked threads simply stay parked).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "inproc/request_queue.h"

namespace loopcheck::inproc {

class WorkerPool {
 public:
  static WorkerPool& instance();

  // Runs `job` on a parked thread (a new one if none is parked); the thread
  // parks again when the job returns, and only then calls `parked` (so whoever
  // waits for it to finish finds it back in the pool). The span is the thread's
  // own bounce buffer (kMaxRequestBytes, 4 KiB aligned), valid for the job.
  using Job = std::function<void(std::span<uint8_t> bounce)>;
  void run(Job job, std::function<void()> parked);

  // Request rings (kQueueDepth slots). A ring's contents are unspecified.
  using Ring = std::array<Request, kQueueDepth>;
  std::unique_ptr<Ring> take_ring();
  void give_ring(std::unique_ptr<Ring> ring);

  // For tests and benchmarks.
  int threads_created() const;

 private:
  struct Worker;
  WorkerPool() = default;
  void park_and_serve(Worker* self);

  mutable std::mutex mu_;
  std::vector<Worker*> parked_;
  std::vector<std::unique_ptr<Ring>> rings_;
  int threads_created_ = 0;
};

}  // namespace loopcheck::inproc
