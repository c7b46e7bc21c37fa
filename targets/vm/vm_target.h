// The VM target: traces run on a real Debian kernel booted in QEMU, one VM
// serving many traces (the agent resets the guest's loop driver between them).
//
// execute() sends one literal Op to the agent and receives one Outcome (a read
// returns its byte count and XXH3 digest, never the bytes: the runner compares
// digests). Kernel reports seen on the console (panic, oops, BUG, WARNING,
// KASAN, KFENCE, lockups) and hangs (no answer within the step's budget) become
// guest reports with the console excerpt. A step during which the guest died or hung
// reports errno EHOSTDOWN — a value no loop operation returns — so the run shows
// a divergence exactly there; later steps of that trace are skipped and the next
// trace boots a fresh VM.
//
// A planned program (Target::plan, what the fuzzer and the minimizer give) runs
// in one round trip instead: start() sends the statements, the agent runs them,
// resets the guest quickly and checks it clean, and execute() answers from the
// outcomes that came back. A guest that leaks state is rebooted before the next
// program, and the leak is an incident like a kernel report.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "targets/target.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"
#include "targets/vm/step_budget.h"

namespace loopcheck::vm {

// vCPUs of a guest running a trace with a concurrent block (VmOptions::cpus).
inline constexpr int kConcurrentCpus = 2;

struct VmTargetOptions {
  VmOptions vm;
  // A step with no answer within step_budget_ms(op, step_base_ms) is a hang
  // (targets/vm/step_budget.h: slow control ioctls get a multiple).
  // The guest's reset (detach everything, remove added devices, check clean)
  // gets a slow step's budget (LOOPCHECK_VM_STEP_MS sets both).
  int step_base_ms = kDefaultStepBaseMs;
  int reset_budget_ms = kDefaultStepBaseMs * kSlowStepFactor;
};

// A kernel report (oops, panic, WARNING, hang, dead guest) seen while a trace ran.
struct GuestReport {
  std::string kernel;
  std::string trace;
  size_t step = 0;  // 1-based step during or after which it was seen (0: at start/reset)
  KernelReport report;
};

struct VmStats {
  size_t boots = 0;     // guests started, booted or restored
  size_t restores = 0;  // of those, restored from a snapshot (targets/vm/vm_snapshot.h)
  size_t programs = 0;  // traces run as one planned round trip
  double program_round_trip_seconds = 0;  // their RunProgram/ProgramDone round trips, summed
  // The guest's share, summed: file set-up, statements, quick reset + clean check.
  double guest_start_seconds = 0, guest_run_seconds = 0, guest_reset_seconds = 0;
  double boot_seconds = 0;     // summed over boots (spawn to the agent's Ready)
  double restore_seconds = 0;  // the restores' share of it
  size_t traces = 0;
  double trace_seconds = 0;  // start() (after any boot) to the end of finish(), summed
};

class VmTarget : public Target {
 public:
  VmTarget(KernelFiles kernel, VmTargetOptions options = {});
  ~VmTarget() override;
  VmTarget(const VmTarget&) = delete;
  VmTarget& operator=(const VmTarget&) = delete;

  std::string_view name() const override { return name_; }
  TargetError start(const Trace& trace, std::string_view profile, const Env& env) override;
  void describe_env(Env& env, uint16_t pinned) const override;
  static std::vector<std::string> env_mismatches(const Env& env, const ReadyInfo& ready);
  Outcome execute(const Op& op) override;
  std::string summary() const override;
  void finish() override;
  bool wants_plan() const override { return true; }
  void plan(std::span<const PlannedStatement> statements) override;
  std::vector<TargetIncident> take_incidents() override;
  // A block runs in the guest as part of the planned program (its threads at once
  // there); this replays its outcomes and the guest's call intervals.
  bool runs_blocks() const override { return true; }
  BlockHistory run_block(std::span<const BlockThread> threads,
                         std::span<const int64_t> vars) override;

  // Boots now (start() boots on demand); false with `why` when the VM cannot come up.
  bool boot(std::string* why);
  const std::vector<GuestReport>& guest_reports() const { return guest_reports_; }
  // Reports of the current/last trace only.
  std::vector<GuestReport> guest_reports_of_last_trace() const;
  const VmStats& stats() const { return stats_; }
  std::string boot_summary() const;
  const KernelFiles& kernel() const { return kernel_; }

 private:
  void collect_reports(size_t step);
  void lose_vm(const std::string& kind, const std::string& why);
  TargetError start_planned(const StartRequest& request);
  Outcome planned_outcome(const Op& op);

  KernelFiles kernel_;
  VmTargetOptions options_;
  std::string name_;
  std::unique_ptr<Vm> vm_;
  std::vector<GuestReport> guest_reports_;
  size_t trace_reports_begin_ = 0;
  std::string trace_source_;
  size_t step_ = 0;
  bool trace_lost_vm_ = false;
  VmStats stats_;
  static constexpr int kMaxBootAttempts = 2;
  int consecutive_boot_failures_ = 0;
  std::string last_boot_error_;
  std::chrono::steady_clock::time_point trace_started_;
  size_t incidents_begin_ = 0;  // guest_reports_ before this one were taken as incidents
  // The planned program: its statements, then (after start) the agent's outcomes,
  // replayed to execute() with the lockstep's own binding.
  std::vector<PlannedStatement> planned_;
  bool planned_ran_ = false;
  std::vector<Outcome> planned_outcomes_;
  std::vector<CallInterval> planned_intervals_;
  size_t planned_cursor_ = 0;
  std::array<int64_t, kMaxVars> planned_vars_{};
  uint64_t planned_skipped_vars_ = 0;
  bool started_in_guest_ = false;  // a Start frame went out for this trace (Reset is due)
  int booted_cpus_ = 0;            // the running (or next) guest's vCPUs; 0: VmOptions::cpus
};

}  // namespace loopcheck::vm
