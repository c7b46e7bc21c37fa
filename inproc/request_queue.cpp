#include "inproc/request_queue.h"

#include <sched.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "inproc/worker_pool.h"

namespace loopcheck::inproc {
namespace {

// How long a worker waiting for work, or a submitter waiting for its
// completion, polls before it sleeps on a condition variable. A futex wake-up
// costs tens of microseconds here (a VM), as much as copying a megabyte; with
// requests arriving back to back, polling keeps the hand-off near a cache miss.
// On a single CPU polling only delays the thread it waits for: no polling there.
int spin_polls() {
  static const int polls = [] {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set) > 1 ? 2000 : 0;
  }();
  return polls;
}

// One poll. Every 64th gives the CPU away if anyone else wants it, so a poller
// on a busy machine does not keep the thread it waits for (or anyone else) off
// the CPU; on an idle one sched_yield returns at once.
inline void cpu_relax(int i) {
  if ((i & 63) == 63) {
    sched_yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

void Request::assign_from(const Request& other) {
  op = other.op;
  may_unmap = other.may_unmap;
  sector = other.sector;
  bytes = other.bytes;
  nr_segs = other.nr_segs;
  nr_bios = other.nr_bios;
  std::copy_n(other.segs.begin(), nr_segs, segs.begin());
  std::copy_n(other.bio_completion.begin(), nr_bios, bio_completion.begin());
  std::copy_n(other.bio_bytes.begin(), nr_bios, bio_bytes.begin());
}

RequestQueue::~RequestQueue() {
  stop();
  WorkerPool::instance().give_ring(std::move(ring_));
}

void RequestQueue::start(RequestHandler& handler, int workers) {
  assert(workers > 0);
  std::lock_guard lock(mu_);
  if (running_) return;
  if (!ring_) ring_ = WorkerPool::instance().take_ring();
  handler_ = &handler;
  running_ = true;
  stopping_ = false;
  for (int i = 0; i < workers; ++i) {
    ++active_workers_;
    WorkerPool::instance().run([this](std::span<uint8_t> bounce) { worker_main(bounce); },
                               [this] { worker_left(); });
  }
}

void RequestQueue::stop() {
  {
    std::unique_lock lock(mu_);
    if (!running_) return;
    done_cv_.wait(lock, [&] { return count_ == 0 && in_flight_ == 0; });
    stopping_ = true;
    running_ = false;
  }
  work_cv_.notify_all();
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return active_workers_ == 0; });
  handler_ = nullptr;
  stopping_ = false;
}

bool RequestQueue::try_merge_locked(const Bio& bio) {
  if (count_ == 0 || (bio.op != ReqOp::Read && bio.op != ReqOp::Write)) return false;
  Request& tail = (*ring_)[(head_ + count_ - 1) % kQueueDepth];
  if (tail.op != bio.op) return false;
  if (tail.sector * 512 + tail.bytes != bio.sector * 512) return false;  // back merge only
  if (tail.bytes + bio.bytes > kMaxRequestBytes || tail.nr_bios == kMaxSegments) return false;
  iovec& last = tail.segs[tail.nr_segs - 1];
  if (static_cast<uint8_t*>(last.iov_base) + last.iov_len == bio.buf) {
    last.iov_len += bio.bytes;  // physically contiguous too: one segment
  } else {
    if (tail.nr_segs == kMaxSegments) return false;
    tail.segs[tail.nr_segs++] = iovec{bio.buf, bio.bytes};
  }
  tail.bio_completion[tail.nr_bios] = bio.completion;
  tail.bio_bytes[tail.nr_bios] = bio.bytes;
  ++tail.nr_bios;
  tail.bytes += bio.bytes;
  ++stats_.merges;
  return true;
}

void RequestQueue::submit(std::span<const Bio> bios) {
  std::unique_lock lock(mu_);
  for (const Bio& bio : bios) {
    assert(bio.completion != nullptr);
    bio.completion->done.store(false, std::memory_order_relaxed);
    bio.completion->status = 0;
    ++stats_.bios;
    space_cv_.wait(lock, [&] { return freeze_depth_ == 0 && (count_ < kQueueDepth || !running_); });
    if (!running_) {
      bio.completion->status = -EIO;
      bio.completion->done.store(true, std::memory_order_release);
      continue;
    }
    if (try_merge_locked(bio)) continue;
    Request& rq = (*ring_)[(head_ + count_) % kQueueDepth];
    rq.op = bio.op;
    rq.may_unmap = bio.may_unmap;
    rq.sector = bio.sector;
    rq.bytes = bio.bytes;
    rq.nr_segs = bio.bytes ? 1 : 0;
    rq.segs[0] = iovec{bio.buf, bio.bytes};
    rq.nr_bios = 1;
    rq.bio_completion[0] = bio.completion;
    rq.bio_bytes[0] = bio.bytes;
    ++count_;
    queued_.store(count_, std::memory_order_release);
    work_cv_.notify_one();
  }
  done_cv_.notify_all();
}

void RequestQueue::wait(Completion& c) {
  for (int i = 0, n = spin_polls(); i < n; ++i) {
    if (c.done.load(std::memory_order_acquire)) return;
    cpu_relax(i);
  }
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return c.done.load(std::memory_order_acquire); });
}

int RequestQueue::submit_and_wait(const Bio& bio) {
  submit(std::span<const Bio>(&bio, 1));
  wait(*bio.completion);
  return bio.completion->status;
}

void RequestQueue::freeze() {
  std::unique_lock lock(mu_);
  ++freeze_depth_;
  done_cv_.wait(lock, [&] { return count_ == 0 && in_flight_ == 0; });
}

void RequestQueue::unfreeze() {
  {
    std::lock_guard lock(mu_);
    assert(freeze_depth_ > 0);
    --freeze_depth_;
  }
  space_cv_.notify_all();
}

QueueStats RequestQueue::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void RequestQueue::complete_locked(const Request& rq, const RequestResult& res) {
  uint64_t end = 0;
  for (int i = 0; i < rq.nr_bios; ++i) {
    end += rq.bio_bytes[i];
    Completion* c = rq.bio_completion[i];
    // A bio fails when the request failed before finishing it; a data-less bio
    // (a flush) has nothing to finish, so it fails with any request failure.
    const bool unfinished = end > res.bytes_done || rq.bio_bytes[i] == 0;
    c->status = (res.status != 0 && unfinished) ? res.status : 0;
    c->done.store(true, std::memory_order_release);
  }
}

void RequestQueue::worker_main(std::span<uint8_t> bounce) {
  // The worker's own copy of the request it serves, so the ring slot frees early.
  auto rq = std::make_unique_for_overwrite<Request>();

  std::unique_lock lock(mu_);
  for (;;) {
    if (count_ == 0 && !stopping_) {
      lock.unlock();
      for (int i = 0, n = spin_polls(); i < n && queued_.load(std::memory_order_acquire) == 0; ++i)
        cpu_relax(i);
      lock.lock();
    }
    work_cv_.wait(lock, [&] { return count_ > 0 || stopping_; });
    if (count_ == 0) break;  // stopping and drained
    rq->assign_from((*ring_)[head_]);
    head_ = (head_ + 1) % kQueueDepth;
    --count_;
    queued_.store(count_, std::memory_order_release);
    ++in_flight_;
    ++stats_.requests;
    RequestHandler* handler = handler_;
    lock.unlock();
    space_cv_.notify_one();
    RequestResult res = handler->handle_request(*rq, bounce);
    lock.lock();
    complete_locked(*rq, res);
    --in_flight_;
    done_cv_.notify_all();
  }
}

void RequestQueue::worker_left() {
  // Notified under the lock: once it is released, stop() may return and the
  // queue may be destroyed, so the thread touches nothing of it afterwards.
  std::lock_guard lock(mu_);
  --active_workers_;
  done_cv_.notify_all();
}

}  // namespace loopcheck::inproc
