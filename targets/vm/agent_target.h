// A target whose steps run in an agent at the other end of a link
// (docs/agent-protocol.md): a Debian kernel in QEMU (`vm:`, vm_target.h), a child
// process on pipes (`exec:CMD`) or a Unix socket / pty (`serial:PATH`). This is
// the one host side of the protocol: the handshake, per-step Exec, planned
// programs, resets, timeouts and what a dead agent becomes.
//
// execute() sends one literal Op to the agent and receives one Outcome (a read
// returns its byte count and XXH3 digest, never the bytes: the runner compares
// digests). Kernel reports seen on a guest's console (panic, oops, BUG, WARNING,
// KASAN, KFENCE, lockups) and hangs (no answer within the step's budget) become
// guest reports with the console excerpt. A step during which the agent died or
// hung reports errno EHOSTDOWN — a value no loop operation returns — so the run
// shows a divergence exactly there; later steps of that trace are skipped and the
// next trace brings a fresh link up (boots a VM, spawns the command again).
//
// A planned program (Target::plan, what the fuzzer and the minimizer give) runs
// in one round trip instead: start() sends the statements, the agent runs them,
// resets quickly and checks itself clean, and execute() answers from the
// outcomes that came back. An agent that leaks state is replaced before the next
// program, and the leak is an incident like a kernel report.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "targets/target.h"
#include "targets/vm/agent_link.h"
#include "targets/vm/step_budget.h"

namespace loopcheck::vm {

struct AgentTargetOptions {
  // A step with no answer within step_budget_ms(op, step_base_ms) is a hang
  // (targets/vm/step_budget.h: slow control ioctls get a multiple).
  // The agent's reset (detach everything, remove added devices, check clean)
  // gets a slow step's budget (LOOPCHECK_VM_STEP_MS sets both).
  int step_base_ms = kDefaultStepBaseMs;
  int reset_budget_ms = kDefaultStepBaseMs * kSlowStepFactor;
  // Run every trace step by step (Exec/Result) even when the runner offers a
  // plan: agent-check exercises both conversations.
  bool per_step = false;
};

// A kernel report (oops, panic, WARNING, hang, dead agent) seen while a trace ran.
struct GuestReport {
  std::string kernel;
  std::string trace;
  size_t step = 0;  // 1-based step during or after which it was seen (0: at start/reset)
  KernelReport report;
};

struct VmStats {
  size_t boots = 0;     // links brought up: guests started, booted or restored; agents spawned
  size_t restores = 0;  // of those, restored from a snapshot (targets/vm/vm_snapshot.h)
  size_t programs = 0;  // traces run as one planned round trip
  double program_round_trip_seconds = 0;  // their RunProgram/ProgramDone round trips, summed
  // The agent's share, summed: file set-up, statements, quick reset + clean check.
  double guest_start_seconds = 0, guest_run_seconds = 0, guest_reset_seconds = 0;
  double boot_seconds = 0;     // summed over boots (spawn to the agent's Ready)
  double restore_seconds = 0;  // the restores' share of it
  size_t traces = 0;
  double trace_seconds = 0;  // start() (after any boot) to the end of finish(), summed
};

// Where the trace's @env and what an agent says of itself (Ready) disagree on the
// backing filesystem's alignment or block size; `whose` names the agent in the
// text ("guest's").
std::vector<std::string> backing_env_mismatches(const Env& env, const ReadyInfo& ready,
                                                std::string_view whose);

class AgentTarget : public Target {
 public:
  // `name`: "vm:6.1.0-56-cloud-amd64", "exec:CMD"; `kernel`: what guest reports
  // name as the kernel.
  AgentTarget(std::string name, std::string kernel, AgentTargetOptions options);
  ~AgentTarget() override;
  AgentTarget(const AgentTarget&) = delete;
  AgentTarget& operator=(const AgentTarget&) = delete;

  std::string_view name() const override { return name_; }
  TargetError start(const Trace& trace, std::string_view profile, const Env& env) override;
  Outcome execute(const Op& op) override;
  std::string summary() const override;
  void finish() override;
  bool wants_plan() const override { return !options_.per_step; }
  void set_per_step(bool per_step) { options_.per_step = per_step; }
  void plan(std::span<const PlannedStatement> statements) override;
  std::vector<TargetIncident> take_incidents() override;
  // A block runs in the agent as part of the planned program (its threads at once
  // there); this replays its outcomes and the agent's call intervals.
  bool runs_blocks() const override { return true; }
  BlockHistory run_block(std::span<const BlockThread> threads,
                         std::span<const int64_t> vars) override;

  // Brings the link up now (start() does on demand); false with `why` when the
  // agent cannot come up.
  bool boot(std::string* why);
  // A link of its own to a new agent, not the one traces run on (agent-check
  // talks the protocol on it frame by frame). Null with `why`.
  std::unique_ptr<AgentLink> open_link(bool concurrent, std::string* why) {
    return connect(concurrent, why);
  }
  // The agent's Ready (boot() first).
  const ReadyInfo* ready() const { return link_ ? &link_->ready() : nullptr; }
  const std::vector<GuestReport>& guest_reports() const { return guest_reports_; }
  // Reports of the current/last trace only.
  std::vector<GuestReport> guest_reports_of_last_trace() const;
  const VmStats& stats() const { return stats_; }
  std::string boot_summary() const;

 protected:
  // A new link to the agent, up to its Ready; `concurrent`: the trace has a
  // concurrent block. Null with `why` naming the problem and the fix.
  virtual std::unique_ptr<AgentLink> connect(bool concurrent, std::string* why) = 0;
  // Whether the running link suits a trace (a VM booted with one vCPU does not
  // suit a concurrent block).
  virtual bool link_suits(bool /*concurrent*/) const { return true; }
  // The trace's @env items this agent's world does not have (empty: it fits).
  virtual std::vector<std::string> env_mismatches(const Env& env, const ReadyInfo& ready) const;

 private:
  void collect_reports(size_t step);
  void lose_link(const std::string& kind, const std::string& why);
  TargetError start_link(const Trace& trace, const Env& env);
  TargetError start_planned(const StartRequest& request);
  Outcome planned_outcome(const Op& op);

  std::string name_;
  std::string kernel_;
  AgentTargetOptions options_;
  std::unique_ptr<AgentLink> link_;
  std::vector<GuestReport> guest_reports_;
  size_t trace_reports_begin_ = 0;
  std::string trace_source_;
  size_t step_ = 0;
  bool trace_lost_link_ = false;
  VmStats stats_;
  static constexpr int kMaxBootAttempts = 2;
  int consecutive_boot_failures_ = 0;
  std::string last_boot_error_;
  bool want_concurrent_ = false;  // the next link is for a trace with a concurrent block
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
  bool started_in_agent_ = false;  // a Start frame went out for this trace (Reset is due)
};

}  // namespace loopcheck::vm
