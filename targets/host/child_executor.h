// A SyscallExecutor in a process of its own: how a concurrent block's `process`
// thread (trace.h ThreadKind) runs on the host and in the VM agent.
//
// The child is fork()ed when the executor is made and serves one Op at a time
// over a socketpair (the VM protocol's Op and Outcome encodings, plus the
// child's CLOCK_MONOTONIC around the system call, which is system-wide and so
// comparable with the other threads' clocks). Two things keep it honest:
// - the child closes every fd it inherited but its socket before it serves
//   (fork_guard.h: a copy of the checker's /dev/loopN fd would keep the device
//   open, so a close in the checker would not be the last close); the parent
//   holds the fork guard until it has;
// - every fd the child opens is moved to kChildFdBase or above, so it never
//   shares a number with one of the parent's (the host target's bookkeeping is
//   keyed by fd number, and the model only asks that an open returned an fd).
#pragma once

#include <sys/types.h>

#include <string>

#include "targets/block_threads.h"
#include "targets/host/syscall_executor.h"

namespace loopcheck::host {

inline constexpr int kChildFdBase = 512;

class ChildExecutor {
 public:
  // `without_cap_sys_admin`: the child runs every call with CAP_SYS_ADMIN out of
  // its effective set (a trace for an unprivileged caller; capabilities do not
  // follow the parent thread's lowered set across fork).
  ChildExecutor(SyscallExecutorConfig config, bool without_cap_sys_admin);
  ~ChildExecutor();  // ends the child (closing its fds) and reaps it
  ChildExecutor(const ChildExecutor&) = delete;
  ChildExecutor& operator=(const ChildExecutor&) = delete;

  // Empty when the child serves; else why it does not (every execute() then
  // says so as a skipped outcome).
  const std::string& error() const { return error_; }

  // Runs `op` in the child; `clock` gets the child's times around the call.
  Outcome execute(const Op& op, CallClock& clock);

 private:
  void stop();
  std::string error_;
  pid_t pid_ = -1;
  int socket_ = -1;
};

}  // namespace loopcheck::host
