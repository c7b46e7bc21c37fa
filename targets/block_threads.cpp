// Concurrent block threads (see block_threads.h).
#include "targets/block_threads.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <ctime>
#include <thread>
#include <vector>

#include "trace/bind.h"

namespace loopcheck {

int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void CallClock::start() {
  start_ns = monotonic_ns();
}
void CallClock::end() {
  end_ns = monotonic_ns();
}

namespace {

void run_one_thread(size_t t, const BlockThread& thread, std::vector<int64_t> vars,
                    const BlockCall& call, std::vector<CallRecord>& out) {
  for (size_t k = 0; k < thread.statements.size(); ++k) {
    const PlannedStatement& st = thread.statements[k];
    CallClock clock;
    const int64_t before = monotonic_ns();
    CallRecord r;
    r.stmt = thread.stmts[k];
    r.thread = static_cast<uint8_t>(t);
    r.outcome = call(t, bind_op(st.op, vars), clock);
    const int64_t after = monotonic_ns();
    r.start_ns = clock.start_ns ? clock.start_ns : before;
    r.end_ns = clock.end_ns ? clock.end_ns : after;
    assert(r.start_ns <= r.end_ns);
    if (st.bind >= 0) vars[static_cast<size_t>(st.bind)] = bound_value(r.outcome);
    out.push_back(r);
  }
}

}  // namespace

BlockHistory run_block_threads(std::span<const BlockThread> threads, std::span<const int64_t> vars,
                               const BlockCall& call) {
  assert(!threads.empty() && threads.size() <= static_cast<size_t>(kMaxThreads));
  std::vector<std::vector<CallRecord>> per_thread(threads.size());
  std::atomic<size_t> ready{0};
  std::atomic<bool> go{false};
  const std::vector<int64_t> start_vars(vars.begin(), vars.end());
  auto body = [&](size_t t) {
    ready.fetch_add(1);
    // Spin rather than sleep: a futex wake-up would release the threads
    // microseconds apart, and the races under test are that short.
    while (!go.load(std::memory_order_acquire)) {
    }
    run_one_thread(t, threads[t], start_vars, call, per_thread[t]);
  };
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads.size(); ++t) pool.emplace_back(body, t);
  while (ready.load() < threads.size()) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (std::thread& th : pool) th.join();
  BlockHistory h;
  for (const std::vector<CallRecord>& calls : per_thread)
    h.calls.insert(h.calls.end(), calls.begin(), calls.end());
  std::sort(h.calls.begin(), h.calls.end(),
            [](const CallRecord& a, const CallRecord& b) { return a.stmt < b.stmt; });
  return h;
}

}  // namespace loopcheck
