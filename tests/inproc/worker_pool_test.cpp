// Request queues borrow their workers and rings from the process's WorkerPool:
// requests are served, stop() waits for the workers to leave, and threads are
// reused across start/stop cycles and across queues instead of created anew.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "inproc/request_queue.h"
#include "inproc/worker_pool.h"

namespace loopcheck::inproc {
namespace {

// Fills reads with the sector number's low byte; counts what it served.
struct SectorEcho : RequestHandler {
  std::atomic<int> requests{0};
  RequestResult handle_request(const Request& rq, std::span<uint8_t> bounce) override {
    EXPECT_EQ(bounce.size(), kMaxRequestBytes);
    ++requests;
    uint64_t sector = rq.sector;
    for (int i = 0; i < rq.nr_segs; ++i) {
      std::memset(rq.segs[i].iov_base, static_cast<int>(sector & 0xff), rq.segs[i].iov_len);
      sector += rq.segs[i].iov_len / 512;
    }
    return {0, rq.bytes};
  }
};

int read_one(RequestQueue& q, uint64_t sector, uint8_t* buf) {
  Completion c;
  return q.submit_and_wait(Bio{ReqOp::Read, sector, buf, 512, &c});
}

TEST(WorkerPool, QueuesServeThroughPooledThreadsAndReuseThem) {
  SectorEcho handler;
  uint8_t buf[512];
  {
    // Warm the pool: one thread exists after the first cycle.
    RequestQueue q;
    q.start(handler, 1);
    ASSERT_EQ(read_one(q, 7, buf), 0);
    q.stop();
  }
  const int created = WorkerPool::instance().threads_created();
  for (int cycle = 0; cycle < 20; ++cycle) {
    RequestQueue q;
    q.start(handler, 1);
    ASSERT_EQ(read_one(q, static_cast<uint64_t>(cycle), buf), 0);
    EXPECT_EQ(buf[0], cycle);
    EXPECT_EQ(buf[511], cycle);
    q.stop();
    q.start(handler, 1);  // a second bind of the same device
    ASSERT_EQ(read_one(q, 3, buf), 0);
    EXPECT_EQ(buf[0], 3);
  }  // each queue stops (and gives its ring back) as it is destroyed
  EXPECT_EQ(WorkerPool::instance().threads_created(), created);
  EXPECT_EQ(handler.requests.load(), 41);
}

TEST(WorkerPool, StoppedQueueFailsBiosAndConcurrentQueuesGetTheirOwnThreads) {
  SectorEcho a, b;
  RequestQueue qa, qb;
  qa.start(a, 2);
  qb.start(b, 1);
  EXPECT_GE(WorkerPool::instance().threads_created(), 3);
  uint8_t buf[512];
  EXPECT_EQ(read_one(qa, 1, buf), 0);
  EXPECT_EQ(read_one(qb, 2, buf), 0);
  EXPECT_EQ(buf[0], 2);
  qa.stop();
  EXPECT_EQ(read_one(qa, 1, buf), -EIO);
  EXPECT_EQ(read_one(qb, 4, buf), 0);
  EXPECT_EQ(a.requests.load(), 1);
  EXPECT_EQ(b.requests.load(), 2);
}

}  // namespace
}  // namespace loopcheck::inproc
