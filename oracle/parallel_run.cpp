#include "oracle/parallel_run.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "targets/registry.h"

namespace loopcheck {

namespace {

// Hands out trace indices in order; an exclusive trace waits for an empty
// system and holds it until it is done.
class Scheduler {
 public:
  explicit Scheduler(std::span<const PlannedRun> runs) : runs_(runs), results_(runs.size()) {}

  // The next index to run, or runs.size() when there is none left.
  size_t take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] {
      if (next_ >= runs_.size()) return true;
      if (exclusive_running_) return false;
      return !runs_[next_].exclusive || in_flight_ == 0;
    });
    if (next_ >= runs_.size()) return runs_.size();
    size_t i = next_++;
    ++in_flight_;
    exclusive_running_ = runs_[i].exclusive;
    return i;
  }

  void finish(size_t i, TraceResult result) {
    std::lock_guard lock(mu_);
    results_[i] = std::move(result);
    --in_flight_;
    if (runs_[i].exclusive) exclusive_running_ = false;
    cv_.notify_all();
  }

  TraceResult wait_for(size_t i) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return results_[i].has_value(); });
    TraceResult r = std::move(*results_[i]);
    results_[i].reset();
    return r;
  }

 private:
  std::span<const PlannedRun> runs_;
  std::vector<std::optional<TraceResult>> results_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0;
  size_t in_flight_ = 0;
  bool exclusive_running_ = false;
};

}  // namespace

bool run_traces_parallel(std::span<const PlannedRun> runs, std::string_view target_name,
                         unsigned jobs, const RunOptions& options,
                         const std::function<void(size_t, const TraceResult&)>& on_result,
                         std::string* error) {
  jobs = std::clamp<unsigned>(jobs, 1, static_cast<unsigned>(std::max<size_t>(runs.size(), 1)));
  // Make every worker's target up front: a target that cannot exist fails the
  // run before any trace starts.
  std::vector<TargetChoice> targets;
  for (unsigned j = 0; j < jobs; ++j) {
    targets.push_back(make_target(target_name));
    if (!targets.back().ok) {
      *error = targets.back().error;
      return false;
    }
  }
  if (jobs == 1) {
    // No thread at all: results are reported as they come.
    for (size_t i = 0; i < runs.size(); ++i) {
      on_result(i, run_trace(*runs[i].trace, *runs[i].profile, targets[0].target.get(), options));
    }
    return true;
  }
  Scheduler scheduler(runs);
  auto worker = [&](Target* target) {
    for (size_t i = scheduler.take(); i < runs.size(); i = scheduler.take()) {
      scheduler.finish(i, run_trace(*runs[i].trace, *runs[i].profile, target, options));
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < jobs; ++j) threads.emplace_back(worker, targets[j].target.get());
  for (size_t i = 0; i < runs.size(); ++i) on_result(i, scheduler.wait_for(i));
  for (std::thread& t : threads) t.join();
  return true;
}

}  // namespace loopcheck
