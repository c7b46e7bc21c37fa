// The host target: runs traces on this machine's real kernel inside a sandbox
// that is safe on a shared machine (docs/host.md).
//
// Rules, enforced before every step (a step that would break one is not
// executed and reports Outcome::skipped(), which the runner counts, never as a
// pass):
//  - A loop device is this run's only if the run created it (LOOP_CTL_ADD) or
//    LOOP_CTL_GET_FREE handed it over and the claim checks passed (unbound, no
//    holders, no opener in any process, no other loopcheck run's lock). Opening,
//    ioctls, I/O and sysfs reads touch only such devices.
//  - A device stops being this run's the moment it is seen bound to anything
//    but the run's own files or devices; the run's fds on it are then swapped
//    for /dev/null (dup3) so the run no longer counts as an opener.
//  - LOOP_CTL_REMOVE only for devices the run created.
//  - An fd number that is open in this process but not opened by the trace
//    (the test harness's own, another target's) is never used.
// Everything is written to a ledger before it is done, and finish() (or the
// next run's recovery, if this one is killed) puts it all back.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "targets/host/device_cleanup.h"
#include "targets/host/syscall_executor.h"
#include "targets/host/ledger.h"
#include "targets/host/recovery.h"
#include "targets/sandbox_dir.h"
#include "targets/host/state_dir.h"
#include "targets/target.h"

namespace loopcheck {

struct HostTargetOptions {
  std::string state_dir = host::kDefaultStateDir;            // locks and ledgers
  std::string sandbox_parent = host::kDefaultSandboxParent;  // where sandboxes are made
  int teardown_timeout_ms = 5000;  // wait for a deferred LOOP_CLR_FD teardown
};

class HostTarget : public Target {
 public:
  explicit HostTarget(HostTargetOptions options = {});
  ~HostTarget() override;
  HostTarget(const HostTarget&) = delete;
  HostTarget& operator=(const HostTarget&) = delete;

  std::string_view name() const override { return "host"; }
  TargetError start(const Trace& trace, std::string_view profile, const Env& env) override;
  void describe_env(Env& env, uint16_t pinned) const override;
  Outcome execute(const Op& op) override;
  std::span<const uint8_t> last_read() const override;
  std::string summary() const override;
  void finish() override;
  bool runs_blocks() const override { return true; }
  BlockHistory run_block(std::span<const BlockThread> threads,
                         std::span<const int64_t> vars) override;

  // For tests and reports.
  const std::string& sandbox_dir() const { return sandbox_dir_; }
  size_t skipped_steps() const { return skipped_; }
  const std::vector<std::string>& skip_reasons() const { return skip_reasons_; }
  std::string last_skip_reason() const override { return last_skip_reason_; }
  const host::RecoveryReport& last_recovery() const { return recovery_; }
  // What the last finish() could not put back (empty when it left nothing behind).
  const std::vector<std::string>& finish_problems() const { return finish_problems_; }
  // Devices this run owns now, by index: true if created, false if handed.
  std::map<uint64_t, bool> owned_devices() const;

 private:
  enum class FdKind : uint8_t { Control, Loop, File, Dir, Neutralized };
  struct FdInfo {
    FdKind kind = FdKind::File;
    uint64_t index = 0;  // FdKind::Loop (and Neutralized: the device it was on)
  };
  enum class FdClass : uint8_t { Ours, Foreign, Closed };
  struct Device {
    bool created = false;  // by LOOP_CTL_ADD in this run (else handed by GET_FREE)
    // A handed device's sticky read-only bit when we claimed it: the model starts
    // from a writable device, and finish() puts the bit back as it was.
    bool read_only_at_claim = false;
    // Its read_ahead_kb and rotational when we claimed it (the model starts from
    // those of a new device), put back by finish().
    std::optional<host::QueueTuning> tuning_at_claim;
  };

  Outcome skip(std::string reason);
  // The system call itself: on this thread's executor, outside the block's lock,
  // timed, when a concurrent block runs (run_block).
  Outcome syscall(const Op& op);
  bool reset_queue_tuning(uint64_t index, Device* device);
  Outcome retry_remove_busy_from_outside(const Op& op, uint64_t index, Outcome busy);
  TargetError prepare(const Trace& trace, const Env& env);  // start() but the lock release
  FdClass classify_fd(uint64_t fd, FdInfo* info) const;
  bool usable_device(uint64_t index, std::string* why);
  void lose_device(uint64_t index);
  std::vector<uint64_t> owned_indices() const;
  void release_devices();
  bool claim_handed_device(uint64_t index, std::string* why);
  bool backing_fd_allowed(const Op& op, uint64_t device, std::string* why);

  Outcome execute_step(const Op& op);
  // The events of the devices this run owns (before the step, or as `after`
  // the step: a device it removed is still its own then) join uevents_.
  void collect_uevents(const std::map<uint64_t, Device>& owned);
  Outcome read_uevents();  // `uevents`

  Outcome open(const Op& op);
  Outcome close(const Op& op);
  Outcome ioctl(const Op& op);
  Outcome control_ioctl(const Op& op);
  Outcome fd_io(const Op& op);
  Outcome sysfs(const Op& op);

  HostTargetOptions options_;
  std::unique_ptr<host::SyscallExecutor> executor_;
  std::unique_ptr<host::DeviceLocks> locks_;
  std::unique_ptr<host::KernelScopeLock> kernel_scope_;  // held from start() to finish()
  host::Ledger ledger_;
  std::string sandbox_dir_;
  int devnull_ = -1;
  bool caller_without_cap_sys_admin_ = false;  // @env cap_sys_admin=0
  // queue/rotational of a device LOOP_CTL_ADD makes, under the run's profile.
  bool created_rotational_ = false;
  std::map<int, FdInfo> fds_;           // every fd the trace opened and has not closed
  std::map<uint64_t, Device> devices_;  // devices this run owns
  // The trace reads uevents: the executor listens, and every step collects the
  // events of this run's devices (the machine's others are not the trace's).
  bool listening_ = false;
  UeventList uevents_;
  // Devices the current block removed: its other threads may still open them by
  // number (the model's legacy autoload makes the device again, and the open
  // records it), so their index lock is kept until the block ends.
  std::set<uint64_t> removed_in_block_;
  // Indices whose `open loop N` was skipped: where the trace's open would have
  // autoloaded a missing device, the host never does (loop_sys.h), so a later
  // LOOP_CTL_ADD of the index would see a kernel the trace does not describe.
  std::set<uint64_t> unopened_indices_;
  size_t skipped_ = 0;
  std::vector<std::string> skip_reasons_;  // bounded: the first kMaxSkipReasons
  std::string last_skip_reason_;
  host::RecoveryReport recovery_;
  std::vector<std::string> finish_problems_;
};

// Whether this machine can run the host target: /dev/loop-control opens
// read-write and the process has CAP_SYS_ADMIN. `why` says what is missing.
bool host_loop_available(std::string* why);

// The running kernel's release (uname -r), for choosing a model profile.
std::string host_kernel_release();

}  // namespace loopcheck
