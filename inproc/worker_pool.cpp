#include "inproc/worker_pool.h"

#include <condition_variable>
#include <cstdlib>
#include <thread>

namespace loopcheck::inproc {

struct WorkerPool::Worker {
  std::condition_variable cv;  // waits on the pool's mutex for `job`
  Job job;
  std::function<void()> parked;
  uint8_t* bounce = nullptr;  // kMaxRequestBytes, 4 KiB aligned, never freed
};

WorkerPool& WorkerPool::instance() {
  // Never destroyed: parked threads hold pointers into it until the process ends.
  static WorkerPool* pool = new WorkerPool();
  return *pool;
}

void WorkerPool::run(Job job, std::function<void()> parked) {
  std::unique_lock lock(mu_);
  if (!parked_.empty()) {
    Worker* w = parked_.back();
    parked_.pop_back();
    w->job = std::move(job);
    w->parked = std::move(parked);
    w->cv.notify_one();
    return;
  }
  auto* w = new Worker();  // lives as long as its thread, i.e. the process
  void* raw = nullptr;
  if (posix_memalign(&raw, 4096, kMaxRequestBytes) != 0) std::abort();
  w->bounce = static_cast<uint8_t*>(raw);
  w->job = std::move(job);
  w->parked = std::move(parked);
  ++threads_created_;
  std::thread([this, w] { park_and_serve(w); }).detach();
}

void WorkerPool::park_and_serve(Worker* self) {
  std::unique_lock lock(mu_);
  for (;;) {
    self->cv.wait(lock, [&] { return static_cast<bool>(self->job); });
    Job job = std::move(self->job);
    self->job = nullptr;
    std::function<void()> parked = std::move(self->parked);
    self->parked = nullptr;
    lock.unlock();
    job(std::span<uint8_t>(self->bounce, kMaxRequestBytes));
    job = nullptr;  // drop what the job captured before parking
    lock.lock();
    parked_.push_back(self);
    // Told after parking, so a queue restarted at once finds this thread. A new
    // job may already be assigned meanwhile: the wait above sees it.
    lock.unlock();
    if (parked) parked();
    lock.lock();
  }
}

std::unique_ptr<WorkerPool::Ring> WorkerPool::take_ring() {
  {
    std::lock_guard lock(mu_);
    if (!rings_.empty()) {
      std::unique_ptr<Ring> ring = std::move(rings_.back());
      rings_.pop_back();
      return ring;
    }
  }
  // Default-initialised: the slots are written before they are read, and zeroing
  // a megabyte per queue is what this pool exists to avoid.
  return std::make_unique_for_overwrite<Ring>();
}

void WorkerPool::give_ring(std::unique_ptr<Ring> ring) {
  if (!ring) return;
  std::lock_guard lock(mu_);
  rings_.push_back(std::move(ring));
}

int WorkerPool::threads_created() const {
  std::lock_guard lock(mu_);
  return threads_created_;
}

}  // namespace loopcheck::inproc
