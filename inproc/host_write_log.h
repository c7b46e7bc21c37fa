// Which byte ranges of which host files a Kernel changed (wrote, punched or
// zeroed through any fd, including the loop driver's backing I/O). The sandbox
// uses it to restore only what a trace changed, without reading files back. It
// is owned by whoever creates the Kernel, not by the Kernel, because the
// Kernel's own teardown writes too (last closes write back dirty pages) and the
// log is read after.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace loopcheck::inproc {

// The smallest range covering every change to one file. Updated lock-free
// (worker threads write backing files concurrently).
class FileChanges {
 public:
  void note(uint64_t pos, uint64_t len) {
    const uint64_t end = len > UINT64_MAX - pos ? UINT64_MAX : pos + len;
    uint64_t lo = lo_.load(std::memory_order_relaxed);
    while (pos < lo && !lo_.compare_exchange_weak(lo, pos, std::memory_order_relaxed)) {
    }
    uint64_t hi = hi_.load(std::memory_order_relaxed);
    while (end > hi && !hi_.compare_exchange_weak(hi, end, std::memory_order_relaxed)) {
    }
  }
  // A change of unknown extent (everything from `pos` on: truncation).
  void note_from(uint64_t pos) { note(pos, UINT64_MAX - pos); }
  bool any() const {
    return lo_.load(std::memory_order_relaxed) < hi_.load(std::memory_order_relaxed);
  }
  uint64_t lo() const { return lo_.load(std::memory_order_relaxed); }
  uint64_t hi() const { return hi_.load(std::memory_order_relaxed); }
  void clear() {
    lo_.store(UINT64_MAX, std::memory_order_relaxed);
    hi_.store(0, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> lo_{UINT64_MAX};
  std::atomic<uint64_t> hi_{0};
};

class HostWriteLog {
 public:
  // The record of the file at `path`. Stable for the log's lifetime.
  FileChanges* changes_for(const std::string& path) {
    std::lock_guard lock(mu_);
    auto& c = files_[path];
    if (!c) c = std::make_unique<FileChanges>();
    return c.get();
  }
  // Forget everything (between traces). No file may be open on the log.
  void clear() {
    std::lock_guard lock(mu_);
    for (auto& [path, c] : files_) c->clear();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<FileChanges>> files_;
};

}  // namespace loopcheck::inproc
