// What the agent may touch when it runs as an ordinary process on a machine
// whose loop devices others use (`--stdio`, docs/agent-protocol.md "Running the
// agent as a process"). A guest is the agent's alone; a host is not, so here:
//  - a loop device is the agent's only if it created it (LOOP_CTL_ADD) or
//    LOOP_CTL_GET_FREE handed it over and it was then unbound, without holders,
//    open nowhere else and not locked by another loopcheck run (the host
//    target's per-device lock, targets/host/state_dir.h);
//  - `open loop N`, `sysfs N` and LOOP_CTL_REMOVE N (of a device it created)
//    run only on such devices; an fd is used only if the trace opened it;
//  - release() puts back only those: closes the trace's fds, detaches its
//    devices (if bound to its own files or devices) and removes those it created.
// A step that would break a rule is not run and answers Skipped, which the
// runner counts as skipped, never as a pass. Only libc (the agent is static).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "targets/host/state_dir.h"
#include "trace/trace.h"

namespace loopcheck::vm::agent {

class ProcessClaims {
 public:
  // `sandbox_dir`: where the trace's files are (a device bound to one is ours).
  ProcessClaims(std::string sandbox_dir, std::string state_dir);

  // At a trace's start: holds the machine-wide loop-control lock exclusively
  // until release(), as a host-target trace observing global loop state does,
  // so that no loopcheck run on the machine hands out or removes devices under
  // the trace. 0 or an errno.
  int begin();
  // Whether `op` (literal) may run. Safe from a concurrent block's threads.
  bool allows(const Op& op);
  // After `op` ran with `outcome`: the devices and fds it claimed or gave up.
  void note(const Op& op, const Outcome& outcome);
  // Closes the trace's fds, detaches the agent's devices and removes those it
  // created; forgets every claim. False with `why` when something stayed.
  bool release(std::string* why);

 private:
  bool fd_allowed(uint64_t fd) const;
  bool device_allowed(uint64_t index) const { return devices_.contains(index); }
  void claim_handed(uint64_t index);
  bool bound_to_ours(uint64_t index) const;
  bool detach_ours(std::string* why);

  std::string sandbox_dir_;
  host::DeviceLocks locks_;
  host::KernelScopeLock scope_;
  std::mutex mutex_;
  std::map<uint64_t, bool> devices_;  // index -> created by the agent
  std::set<int> fds_;                 // opened by the trace, not yet closed
  std::set<uint64_t> skipped_opens_;  // `open loop N` not run: N was not the agent's
};

}  // namespace loopcheck::vm::agent
