// Which host files a Kernel changed (wrote, punched or zeroed through any fd,
// including the loop driver's backing I/O). The sandbox uses it to reset only
// the files a trace changed, without reading them back. It is owned by whoever
// creates the Kernel, not by the Kernel, because the Kernel's own teardown
// writes too (last closes write back dirty pages) and the log is read after.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace loopcheck::inproc {

class HostWriteLog {
 public:
  // The flag a file opened at `path` sets when it is changed. Stable for the
  // log's lifetime; setting it needs no lock (worker threads do).
  std::atomic<bool>* flag_for(const std::string& path) {
    std::lock_guard lock(mu_);
    auto& flag = flags_[path];
    if (!flag) flag = std::make_unique<std::atomic<bool>>(false);
    return flag.get();
  }
  void mark(const std::string& path) { flag_for(path)->store(true, std::memory_order_relaxed); }
  bool written(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = flags_.find(path);
    return it != flags_.end() && it->second->load(std::memory_order_relaxed);
  }
  // Forget everything (between traces). No file may be open on the log.
  void clear() {
    std::lock_guard lock(mu_);
    for (auto& [path, flag] : flags_) flag->store(false, std::memory_order_relaxed);
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::atomic<bool>>> flags_;
};

}  // namespace loopcheck::inproc
