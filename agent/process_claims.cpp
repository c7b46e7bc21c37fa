#include "agent/process_claims.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "agent/guest_loop.h"
#include "targets/host/loop_sys.h"

namespace loopcheck::vm::agent {
namespace {

constexpr int kTeardownWaitMs = 5000;  // a deferred detach, udev's probe after it
constexpr int kPollMs = 20;

bool takes_fd_subject(OpKind kind) {
  return kind == OpKind::Close || kind == OpKind::Ioctl || kind == OpKind::Pread ||
         kind == OpKind::Pwrite || kind == OpKind::Fsync || kind == OpKind::Fallocate;
}

bool is_ioctl(const Op& op, Req req) {
  return op.kind == OpKind::Ioctl && op.req == req;
}

// The index LOOP_CTL_ADD / LOOP_CTL_REMOVE act on: the kernel takes the
// argument as an int (common/ctl_arg_truncated_to_int.trace).
int64_t ctl_index(const Op& op) {
  return static_cast<int32_t>(static_cast<uint32_t>(op.arg.lit));
}

bool succeeded(const Outcome& o) {
  return o.kind == Outcome::Kind::Value && o.value >= 0;
}

// LOOP_CTL_REMOVE, retried while the device is busy (udev probes a device after
// a detach; 6.11+ detaches at the last close).
bool remove_created(int ctl, uint64_t index, std::string* why) {
  for (int waited = 0; waited <= kTeardownWaitMs; waited += kPollMs) {
    if (ioctl(ctl, LOOP_CTL_REMOVE, index) >= 0 || errno == ENODEV) return true;
    if (errno != EBUSY) break;
    sleep_ms(kPollMs);
  }
  *why += " LOOP_CTL_REMOVE " + std::to_string(index) + ": " + std::strerror(errno) + ";";
  return false;
}

}  // namespace

ProcessClaims::ProcessClaims(std::string sandbox_dir, std::string state_dir)
    : sandbox_dir_(std::move(sandbox_dir)), locks_(state_dir), scope_(state_dir) {
  host::ensure_state_dir(state_dir);
}

int ProcessClaims::begin() {
  return scope_.held() ? 0 : scope_.acquire(/*exclusive=*/true);
}

// An fd the trace opened, or one open nowhere in this process (the call then
// meets EBADF, as the model says); never the agent's own (its channel, locks).
bool ProcessClaims::fd_allowed(uint64_t fd) const {
  const auto n = static_cast<int64_t>(fd);
  return n < 0 || n > INT32_MAX || fds_.contains(static_cast<int>(n)) ||
         !host::fd_is_open(static_cast<int>(n));
}

bool ProcessClaims::allows(const Op& op) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (op.kind == OpKind::Open && op.node == Node::Loop) {
    if (device_allowed(op.subject.lit)) return true;
    skipped_opens_.insert(op.subject.lit);
    return false;
  }
  if (op.kind == OpKind::Sysfs) return device_allowed(op.subject.lit);
  // The machine's other devices send uevents too, and a process has no way to
  // tell its own from theirs as they come (the host target filters them).
  if (op.kind == OpKind::Uevents) return false;
  if (takes_fd_subject(op.kind) && !fd_allowed(op.subject.lit)) return false;
  const bool by_index = op.arg_kind == ArgKind::Number && ctl_index(op) >= 0;
  if (is_ioctl(op, Req::LoopCtlRemove) && by_index) {
    auto it = devices_.find(static_cast<uint64_t>(ctl_index(op)));
    return it != devices_.end() && it->second;  // only a device the agent created
  }
  // Where the trace's skipped open would have autoloaded the device, adding it
  // is no longer the trace's world (as on the host target).
  if (is_ioctl(op, Req::LoopCtlAdd) && by_index &&
      skipped_opens_.contains(static_cast<uint64_t>(ctl_index(op))))
    return false;
  const bool backing_arg = is_ioctl(op, Req::LoopSetFd) || is_ioctl(op, Req::LoopChangeFd);
  if (backing_arg && op.arg_kind == ArgKind::Number && !fd_allowed(op.arg.lit)) return false;
  if (is_ioctl(op, Req::LoopConfigure) && op.arg_kind == ArgKind::Struct &&
      !fd_allowed(op.fields.get(Field::Fd)))
    return false;
  return true;
}

void ProcessClaims::note(const Op& op, const Outcome& outcome) {
  if (!succeeded(outcome)) return;
  std::lock_guard<std::mutex> guard(mutex_);
  const auto value = static_cast<uint64_t>(outcome.value);
  if (op.kind == OpKind::Open) fds_.insert(static_cast<int>(outcome.value));
  if (op.kind == OpKind::Close) fds_.erase(static_cast<int>(op.subject.lit));
  if (is_ioctl(op, Req::LoopCtlAdd)) {
    devices_[value] = true;
    locks_.try_lock(value);
  }
  if (is_ioctl(op, Req::LoopCtlGetFree)) claim_handed(value);
  if (is_ioctl(op, Req::LoopCtlRemove) && op.arg_kind == ArgKind::Number) {
    devices_.erase(static_cast<uint64_t>(ctl_index(op)));
    locks_.release(static_cast<uint64_t>(ctl_index(op)));
  }
}

// GET_FREE only says the device was unbound when the kernel looked: it is the
// agent's if nobody else holds it now (the host target's claim checks).
void ProcessClaims::claim_handed(uint64_t index) {
  if (devices_.contains(index)) return;
  if (!locks_.try_lock(index)) return;
  const std::vector<int> own(fds_.begin(), fds_.end());
  const std::optional<dev_t> rdev = host::loop_device_number(index);
  if (rdev && !host::loop_device_bound(index) && host::loop_has_no_holders(index) &&
      !host::block_device_open_elsewhere(*rdev, own)) {
    devices_[index] = false;
    return;
  }
  locks_.release(index);
}

// Bound to one of the trace's files, or to /dev/loopM of one of the agent's
// devices: a bind the agent made, not someone else's.
bool ProcessClaims::bound_to_ours(uint64_t index) const {
  const std::string backing = host::loop_backing_file(index);
  if (backing.starts_with(sandbox_dir_ + "/")) return true;
  for (const auto& [other, created] : devices_)
    if (backing == host::loop_node_path(other)) return true;
  return false;
}

// Stacked devices need several passes: a lower device stays bound until the
// upper one lets go of it.
bool ProcessClaims::detach_ours(std::string* why) {
  for (int waited = 0; waited <= kTeardownWaitMs; waited += kPollMs) {
    bool any = false;
    for (const auto& [index, created] : devices_) {
      if (!host::loop_device_bound(index) || !bound_to_ours(index)) continue;
      any = true;
      const int fd = host::open_loop_node(index, O_RDONLY | O_CLOEXEC, "");
      if (fd < 0) continue;
      ioctl(fd, LOOP_CLR_FD, 0);
      close(fd);
    }
    if (!any) return true;
    sleep_ms(kPollMs);
  }
  *why += " a device the agent bound is still bound after LOOP_CLR_FD for 5 s;";
  return false;
}

bool ProcessClaims::release(std::string* why) {
  std::lock_guard<std::mutex> guard(mutex_);
  for (int fd : fds_) close(fd);
  fds_.clear();
  std::string problems;
  bool ok = detach_ours(&problems);
  const int ctl = open(host::kLoopControlPath, O_RDWR | O_CLOEXEC);
  for (const auto& [index, created] : devices_) {
    if (!created) continue;
    if (ctl < 0) {
      problems += std::string(" open /dev/loop-control: ") + std::strerror(errno) + ";";
      ok = false;
      break;
    }
    ok = remove_created(ctl, index, &problems) && ok;
  }
  if (ctl >= 0) close(ctl);
  devices_.clear();
  skipped_opens_.clear();
  locks_.release_all();
  scope_.release();
  if (!ok) *why = "leaked state after the reset:" + problems;
  return ok;
}

}  // namespace loopcheck::vm::agent
