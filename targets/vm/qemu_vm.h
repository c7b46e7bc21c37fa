// One QEMU guest running the loopcheck agent: boot, the framed channel to the
// agent, the serial console log, kernel-report detection, and reaping.
//
// Safety: QEMU runs in its own process group with PR_SET_PDEATHSIG(SIGKILL), so
// it dies with the thread that started it even if loopcheck is killed; the
// destructor kills the group by its pid (never by name) and reaps it. A Vm must
// therefore be created and destroyed on the same thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "targets/vm/agent_link.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/protocol.h"
#include "targets/vm/vm_snapshot.h"

namespace loopcheck::vm {

inline constexpr const char* kQemuProgram = "qemu-system-x86_64";

struct VmOptions {
  bool kvm = false;  // TCG by default: nested KVM hangs on the machines this runs on
  int memory_mb = 512;
  // Virtual CPUs (-smp; MTTCG gives each its own host thread). One is enough for
  // sequential traces; a concurrent block's threads need two to run truly at
  // once (VmTarget boots such traces with kConcurrentCpus).
  int cpus = 1;
  int disk_mb = 128;  // the ext4 filesystem holding the trace's files
  // TCG boot is ~3 s (6 on a loaded machine); this catches a guest that never
  // comes up without a word (a module init that deadlocks killably). Panics end
  // QEMU and oopses or hung tasks are seen on the console long before it.
  int boot_timeout_ms = 60000;
  bool keep_work_dir = false;  // keep console log and disk image (LOOPCHECK_KEEP_VM=1)
  // Restore a saved booted guest instead of booting, saving one after the first
  // boot (targets/vm/vm_snapshot.h; LOOPCHECK_VM_SNAPSHOT=0 turns it off).
  bool snapshot = true;
  std::string snapshot_dir;  // where snapshots live; empty: default_snapshot_dir()
};

// The guest kernel's command line: panic=-1 with -no-reboot makes a panic end
// QEMU at once; loglevel=5 keeps WARNINGs on the console for report detection; a
// task stuck uninterruptibly is reported after 10 s, not 120 s, so a deadlock
// shows its stack before the step budget ends; brd.* sizes a built-in RAM disk;
// loopcheck_channel=virtio (an environment variable of /init) tells the agent to
// take the virtio-serial port.
std::string guest_kernel_command_line(const VmOptions& options, bool virtio_channel);

// The guest machine as QEMU is told it, without the per-VM paths (kernel,
// initramfs, sockets, logs): the snapshot key hashes it, so a changed machine
// never restores an old state. The agent's channel is a virtio-serial port when
// the guest gets the virtio console modules, else the second serial line.
std::vector<std::string> guest_machine_args(const VmOptions& options, bool virtio_channel);

// The kernel reports in the console log after byte *scanned, whole lines only;
// advances *scanned past what it read. Pure, so it is tested on recorded logs.
std::vector<KernelReport> scan_kernel_reports(std::string_view log, size_t* scanned);

// Whether a report of this kind (KernelReport::kind) may leave the guest unable
// to answer: a panic, an oops, a BUG, a hung task, a soft lockup. A wait for the
// agent that sees one on the console gives up after a short grace, not its budget.
bool report_stops_the_guest(std::string_view kind);

class Vm : public AgentLink {
 public:
  // Boots `kernel` with the agent and waits for its Ready frame. Null with `why`
  // (naming the problem and the fix) when anything fails; nothing is left running.
  // A guest saved after an earlier boot of the same inputs is restored instead.
  static std::unique_ptr<Vm> boot(const KernelFiles& kernel, const VmOptions& options,
                                  std::string* why);
  ~Vm() override;
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // AgentLink. On a timeout or a dead guest the VM is killed and stays dead.
  std::optional<Frame> call(const std::vector<uint8_t>& frame, FrameType reply, int timeout_ms,
                            std::string* why) override;
  bool send_bytes(std::span<const uint8_t> bytes, std::string* why) override;
  // The agent powers the guest off: QEMU exits.
  ChannelEnd wait_for_close(int timeout_ms, std::string* why) override;
  bool alive() const override { return pid_ > 0 && !dead_; }
  const ReadyInfo& ready() const override { return ready_; }
  double boot_seconds() const override { return boot_seconds_; }  // QEMU's start to Ready
  bool restored() const override { return restored_; }            // from a snapshot
  const std::string& kernel_version() const { return version_; }
  pid_t pid() const { return pid_; }  // QEMU, while it runs (for tests proving it is reaped)

  // Reports that appeared on the console since the last call.
  std::vector<KernelReport> new_kernel_reports() override;
  // The last `max_lines` lines of the console, for messages about a dead guest.
  std::string console_tail(size_t max_lines) const;
  // The console as a failure message shows it: the first kernel report that
  // stops the guest, from its first line (a panic's message is printed above
  // the stack a tail shows), then the last lines; else the last 25 lines.
  std::string failure_console() const;
  std::string console_log_path() const { return work_dir_ + "/console.log"; }

  // Asks the agent to power off, then reaps QEMU (killing it after a grace period).
  void shutdown() override;

 private:
  Vm() = default;
  static std::unique_ptr<Vm> make_vm(const KernelFiles& kernel, const VmOptions& options,
                                     std::string* why);
  bool cold_boot(const KernelFiles& kernel, const VmOptions& options, const std::string& agent,
                 std::string* why);
  bool take_ready(const std::vector<uint8_t>& payload, std::string* why);
  // qemu_vm_snapshot.cpp
  bool restore(const KernelFiles& kernel, const VmOptions& options, const SnapshotSlot& slot,
               std::string* why);
  bool save_snapshot(const SnapshotSlot& slot, std::string* why);
  bool start_qemu(const KernelFiles& kernel, const VmOptions& options, const std::string& initramfs,
                  const std::string& incoming_state, std::string* why);
  std::string qmp_socket_path() const { return work_dir_ + "/qmp.sock"; }
  bool wait_for_frame(FrameType type, int timeout_ms, Frame* out, std::string* why);
  void pump_channel(int slice_ms);
  std::optional<std::string> watch_console_for_fatal_report();
  bool reap_if_exited();
  void kill_and_reap();

  std::string version_;
  std::string work_dir_;
  bool keep_work_dir_ = false;
  pid_t pid_ = -1;
  int listen_fd_ = -1;
  int channel_fd_ = -1;
  bool dead_ = false;
  int exit_status_ = 0;
  FrameReader reader_;
  ReadyInfo ready_;
  std::vector<uint8_t> ready_payload_;  // kept for a snapshot: a restored guest does not resend it
  std::chrono::steady_clock::time_point started_;
  double boot_seconds_ = 0;
  bool restored_ = false;
  size_t console_scanned_ = 0;  // new_kernel_reports() has seen the console up to here
  size_t console_watched_ = 0;  // wait_for_frame() has looked for fatal reports up to here
};

// The snapshot slot of a guest booted from `kernel` with `options` and `agent`
// (targets/vm/vm_snapshot.h); an empty dir when an input cannot be read.
SnapshotSlot guest_snapshot_slot(const KernelFiles& kernel, const VmOptions& options,
                                 const std::string& agent);

// Whether QEMU is installed; `why` names the package otherwise.
bool qemu_available(std::string* why);

}  // namespace loopcheck::vm
