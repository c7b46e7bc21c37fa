// The shared directory where concurrent loopcheck runs coordinate on this machine:
//   STATE_DIR/locks/loopN.lock   a BSD flock held by the run that owns loopN
//   STATE_DIR/ledgers/*.ledger   one per live (or killed) run, see ledger.h
//   STATE_DIR/locks/loop-control.lock   shared by every running trace, exclusive
//                                for a trace that observes global loop state
// The default is /run/loopcheck (cleared at boot, like the loop devices
// themselves); tests pass their own to stay apart from real runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace loopcheck::host {

inline constexpr const char* kDefaultStateDir = "/run/loopcheck";

// Creates STATE_DIR, STATE_DIR/locks and STATE_DIR/ledgers (mode 0700).
// Returns 0 or an errno.
int ensure_state_dir(const std::string& state_dir);

// Per-device exclusive locks among loopcheck runs. A lock is a flock on
// locks/loopN.lock; the kernel drops it when the holder dies, so a killed run
// never blocks the next one. Lock files are unlinked on release; acquiring
// re-checks that the locked inode is still the one at the path, which makes
// the unlink safe against a racing locker.
class DeviceLocks {
 public:
  explicit DeviceLocks(std::string state_dir = kDefaultStateDir)
      : state_dir_(std::move(state_dir)) {}
  ~DeviceLocks() { release_all(); }
  DeviceLocks(const DeviceLocks&) = delete;
  DeviceLocks& operator=(const DeviceLocks&) = delete;

  // Non-blocking. True if this object now holds (or already held) the lock.
  bool try_lock(uint64_t index);
  bool holds(uint64_t index) const { return held_.count(index) != 0; }
  void release(uint64_t index);
  void release_all();

 private:
  std::string path(uint64_t index) const;
  std::string state_dir_;
  std::map<uint64_t, int> held_;  // index -> fd of the locked file
};

// The machine-wide readers-writer lock over global loop state. A trace that
// observes it (LOOP_CTL_GET_FREE, a literal index: needs_exclusive_kernel) holds
// it exclusively, every other trace shares it, in every loopcheck process on the
// machine. Without it, a GET_FREE in one run hands out a device another run just
// created and holds, and the trace's result depends on who else is running.
// A flock: the kernel drops it when its holder dies.
class KernelScopeLock {
 public:
  explicit KernelScopeLock(std::string state_dir = kDefaultStateDir)
      : state_dir_(std::move(state_dir)) {}
  ~KernelScopeLock() { release(); }
  KernelScopeLock(const KernelScopeLock&) = delete;
  KernelScopeLock& operator=(const KernelScopeLock&) = delete;

  // Blocks until the lock is held (shared, or exclusive). Returns 0 or an errno.
  int acquire(bool exclusive);
  void release();
  bool held() const { return fd_ >= 0; }

 private:
  std::string state_dir_;
  int fd_ = -1;
};

}  // namespace loopcheck::host
