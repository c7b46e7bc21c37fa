// Keeps the host target's loop-device fds out of children this process spawns.
//
// fork() copies the whole fd table before it copies the address space (the slow
// part: tens of ms for an ASan build), and the child keeps each copy until it
// execs. A copy of a trace's /dev/loopN fd keeps the device open: the trace's
// `close` is then not the last close (no autoclear), and its LOOP_CTL_REMOVE
// gets EBUSY. Measured on 6.18.44: `conformance --kernels all` (QEMU forked
// beside the host column) failed common/cached_partial_block_write_after_eof_read
// that way; a probe that forks beside open/close/REMOVE saw EBUSY 2 times in 200.
//
// So a spawner holds the guard exclusively from before fork() until the child
// has closed every inherited fd above stderr (close_range in the child, whose
// fput work runs before that syscall returns), and the host target holds it
// shared around each step. Other processes cannot inherit our fds: this is
// process-wide only. Writers are preferred, so a busy host run cannot starve
// a VM boot.
#pragma once

#include <condition_variable>
#include <mutex>

namespace loopcheck {

class ForkGuard {
 public:
  static ForkGuard& instance();

  void lock_shared();
  void unlock_shared();
  void lock();  // exclusive: fork() until the child has shed our fds
  void unlock();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int readers_ = 0;
  int writers_waiting_ = 0;
  bool writer_ = false;
};

// Held by a step that must see no fd copies in a child (the host target's steps).
class NoForkDuringStep {
 public:
  NoForkDuringStep() { ForkGuard::instance().lock_shared(); }
  ~NoForkDuringStep() { ForkGuard::instance().unlock_shared(); }
  NoForkDuringStep(const NoForkDuringStep&) = delete;
  NoForkDuringStep& operator=(const NoForkDuringStep&) = delete;
};

// Held by a spawner from before fork() until `child_shed_fds` is known.
class SpawnWindow {
 public:
  SpawnWindow() { ForkGuard::instance().lock(); }
  ~SpawnWindow() { ForkGuard::instance().unlock(); }
  SpawnWindow(const SpawnWindow&) = delete;
  SpawnWindow& operator=(const SpawnWindow&) = delete;
};

// In a forked child, after stdin/stdout/stderr are set up: moves `report_fd`
// (the write end of a close-on-exec pipe) to fd 3, closes every fd above it
// (close_range: each release runs before the syscall returns) and writes one
// byte to say so. Returns the report fd for an exec failure's errno.
// Async-signal-safe.
int child_shed_inherited_fds(int report_fd);

// In the parent: waits for that byte, or for the child's death.
void wait_until_child_shed_fds(int report_read_fd);

}  // namespace loopcheck
