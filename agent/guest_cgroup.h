// `@env cgroup=1`: the trace's steps run from a cgroup below the root with the
// io and memory controllers on, so that their bios carry a non-root blkcg and the
// loop driver queues them on a per-cgroup worker (loop_queue_work's rb-tree of
// workers, loop_free_idle_workers) instead of the root worker. Only libc.
#pragma once

#include <string>

namespace loopcheck::vm::agent {

// Mounts cgroup2 at /sys/fs/cgroup if needed, turns on +io +memory for the root's
// children, and moves this process into /sys/fs/cgroup/loopcheck. False (and
// `why`) when any of it fails.
bool enter_trace_cgroup(std::string* why);

// Moves this process back to the root cgroup and removes the child (best effort:
// a cgroup that still has charged pages goes away once they are reclaimed).
void leave_trace_cgroup();

}  // namespace loopcheck::vm::agent
