// The model's steps as a concurrent block runs them (docs/concurrency.md).
//
// A sequential trace runs every op as one atomic step. Under concurrency the
// kernel is not that atomic: some ops do part of their work after dropping the
// locks that order them against other ops, and another thread can run in
// between. step_split() runs an op's first part and leaves the rest pending on
// the device (Device::pending); finish_pending() runs the rest. Each split
// follows the kernel's locking (6.1.0-56 / 6.12.117 / 6.18 drivers/block/loop.c):
//
//   LOOP_CLR_FD, 6.1 (loop_clr_fd): Lo_rundown under lo_mutex, then
//     __loop_clr_fd without it: an open (lo_open checks only Lo_deleting) may
//     come in between and see the device torn down under it.
//     (6.11+ defers the teardown to the last close: no split in the ioctl.)
//   last close with AUTOCLEAR or Rundown (lo_release): the decision under
//     lo_mutex, the teardown after it, still under disk->open_mutex: opens of
//     that device wait for it (blocked()), everything else may interleave.
//   LOOP_CTL_REMOVE (loop_control_remove): the checks and Lo_deleting under
//     loop_ctl_mutex + lo_mutex, loop_remove after both are dropped: an open
//     in between gets ENXIO (lo_open: Lo_deleting), GET_FREE skips the device,
//     another remove gets ENODEV (idr_visible is false), ADD of it EEXIST.
//
// Every other op is one atomic step: its observable effect happens under one
// lock (lo_mutex, loop_ctl_mutex, the queue freeze) or touches state no other
// op reads.
#pragma once

#include <cstdint>

#include "model/profile.h"
#include "model/state.h"
#include "trace/trace.h"

namespace loopcheck::model {

inline constexpr uint32_t kNoPendingDevice = UINT32_MAX;

struct SplitStep {
  Outcome outcome;
  // The device whose work the op left pending (the thread must call
  // finish_pending for it before its next op), or kNoPendingDevice.
  uint32_t pending_device = kNoPendingDevice;
};

// The first part of `op` (all of it when the kernel does it atomically).
SplitStep step_split(State& state, const Profile& profile, const Env& env, const Op& op);
// The same, following the branch a target's outcome shows (model.h step()).
SplitStep step_split(State& state, const Profile& profile, const Env& env, const Op& op,
                     const Outcome& observed);

// The device with this index, or nullptr.
const Device* find_device(const State& state, uint64_t index);

// The rest of the work step_split left pending on `device`.
// Precondition: that device has Device::pending != None.
void finish_pending(State& state, const Profile& profile, const Env& env, uint32_t device);

// Whether `op` would wait on a lock that pending work holds (an open of a device
// whose last-close teardown runs under disk->open_mutex).
bool blocked(const State& state, const Op& op);

// An open of an existing loop device is two steps (blkdev_get_whole, under
// disk->open_mutex): the checks (the exclusive claim, lo_open), then counting
// the opener (bd_openers++) and installing the fd. LOOP_CLR_FD and
// LOOP_CTL_REMOVE count openers under lo_mutex alone, so they can run between
// the two and not see this opener: 6.12.117 in QEMU, detach_vs_open.trace — an
// open that passed lo_open, then LOOP_CLR_FD by the other opener (disk_openers()
// == 1: Rundown), then the open returned an fd whose GET_STATUS got ENXIO.
// `open_refusal`: the first step's errno (0: it passed); it changes nothing.
// `finish_open`: the second step, the checks not repeated.
int open_refusal(const State& state, const Profile& profile, const Env& env, const Op& op);
Outcome finish_open(State& state, const Profile& profile, const Env& env, const Op& op,
                    const Outcome* observed = nullptr);
// Whether `op` needs disk->open_mutex of `device` (an open of it, a close of an
// fd on it, LOOP_CTL_REMOVE of it): it waits while an open of that device is
// between its steps. (The kernel's LOOP_CTL_REMOVE takes only lo_mutex for its
// check and waits in del_gendisk; the model lets it wait at once, which gives the
// same outcomes without a device removed under a half-opened fd.)
bool needs_open_mutex(const State& state, const Op& op, uint32_t device);

}  // namespace loopcheck::model
