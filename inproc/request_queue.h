// The block layer's request queue for one loop device: submitters hand in bios
// (a sector range and one memory segment), adjacent bios of the same direction are
// merged into one request while they wait (like a plug + the elevator's back
// merge), and worker threads hand each request to the driver (the loop device's
// queue_rq). Bounded: at most kQueueDepth requests wait; submitters block beyond.
#pragma once

#include <sys/uio.h>

#include <array>
#include <atomic>
#include <memory>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace loopcheck::inproc {

enum class ReqOp : uint8_t { Read, Write, Flush, Discard, WriteZeroes };

inline constexpr int kQueueDepth = 128;                // hw_queue_depth default
inline constexpr int kMaxSegments = 256;               // segments (and bios) per request
inline constexpr uint64_t kMaxRequestBytes = 1 << 20;  // max_sectors_kb = 1024

// One submitter's result slot. The queue writes `status` (0 or -errno) and sets
// `done` under its mutex; the submitter waits with RequestQueue::wait().
struct Completion {
  int status = 0;
  // Written under the queue lock (after `status`, with release order) and read
  // without it by a submitter polling briefly before it sleeps.
  std::atomic<bool> done{false};

  Completion() = default;
  Completion(const Completion& other) : status(other.status), done(other.done.load()) {}
  Completion& operator=(const Completion& other) {
    status = other.status;
    done.store(other.done.load());
    return *this;
  }
};

// What a submitter hands in: one contiguous memory segment for one sector range.
struct Bio {
  ReqOp op = ReqOp::Read;
  uint64_t sector = 0;  // 512-byte units, device relative
  void* buf = nullptr;
  uint64_t bytes = 0;  // multiple of 512 for Read/Write
  Completion* completion = nullptr;
  // WriteZeroes without REQ_NOUNMAP (fallocate PUNCH_HOLE on the device): the
  // driver may free the blocks (lo_fallocate punches instead of zero-ranging).
  bool may_unmap = false;
};

// A request as the driver sees it: the merged sector range, its memory segments in
// order, and the bios it was built from (completed individually, so a failure
// part-way fails only the bios that were not fully transferred). Only the first
// nr_segs / nr_bios array entries are meaningful; the arrays are deliberately
// left uninitialised so a ring of requests costs nothing until it is used.
struct Request {
  ReqOp op = ReqOp::Read;
  bool may_unmap = false;  // Bio::may_unmap
  uint64_t sector = 0;
  uint64_t bytes = 0;
  int nr_segs = 0;
  std::array<iovec, kMaxSegments> segs;
  int nr_bios = 0;
  std::array<Completion*, kMaxSegments> bio_completion;
  std::array<uint64_t, kMaxSegments> bio_bytes;

  // Copies the meaningful part only (a full copy is 8 KiB).
  void assign_from(const Request& other);
};

// The driver's answer for one request: bytes transferred successfully from the
// start of the request, and the status of the rest (0 when everything went).
struct RequestResult {
  int status = 0;
  uint64_t bytes_done = 0;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Runs on a worker thread. `bounce` is that worker's own aligned scratch buffer
  // of kMaxRequestBytes, for backends that need aligned memory (O_DIRECT).
  virtual RequestResult handle_request(const Request& rq, std::span<uint8_t> bounce) = 0;
};

struct QueueStats {
  uint64_t bios = 0;
  uint64_t requests = 0;  // requests handed to the driver
  uint64_t merges = 0;    // bios merged into a waiting request
};

class RequestQueue {
 public:
  RequestQueue() = default;
  ~RequestQueue();
  RequestQueue(const RequestQueue&) = delete;
  RequestQueue& operator=(const RequestQueue&) = delete;

  // Start `workers` threads serving `handler` (the loop device's workqueue is
  // created at bind); they come from the process's WorkerPool. Idempotent while
  // running.
  void start(RequestHandler& handler, int workers);
  // Let the queue drain, then wait until every worker has left it (teardown).
  // Bios submitted while stopped complete at once with -EIO, as a dead queue
  // fails them.
  void stop();

  // Submit bios as one plugged batch (merging allowed within it and with the
  // last waiting request). Blocks while the queue is full or frozen.
  void submit(std::span<const Bio> bios);
  void wait(Completion& c);
  // Submit one bio and wait for it.
  int submit_and_wait(const Bio& bio);

  // blk_mq_freeze_queue: wait until nothing is queued or in flight, and hold new
  // submissions back until unfreeze(). Used while the driver changes the
  // configuration the workers read (offset, backing file, DIO).
  void freeze();
  void unfreeze();

  QueueStats stats() const;

 private:
  void worker_main(std::span<uint8_t> bounce);
  void worker_left();  // the worker is back in the pool
  bool try_merge_locked(const Bio& bio);
  void complete_locked(const Request& rq, const RequestResult& res);

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // workers: something queued, or stopping
  std::condition_variable space_cv_;  // submitters: room in the ring, or unfrozen
  std::condition_variable done_cv_;   // completions and idleness
  // 1 MiB of request slots: borrowed from the WorkerPool when the queue first
  // starts (a device is bound), not for every device that merely exists, kept for
  // later binds and given back when the queue is destroyed.
  std::unique_ptr<std::array<Request, kQueueDepth>> ring_;
  int head_ = 0, count_ = 0;
  // count_ mirrored for idle workers that poll before sleeping.
  std::atomic<int> queued_{0};
  int in_flight_ = 0;
  int freeze_depth_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  RequestHandler* handler_ = nullptr;
  int active_workers_ = 0;  // workers inside worker_main(); stop() waits for 0
  QueueStats stats_;
};

}  // namespace loopcheck::inproc
