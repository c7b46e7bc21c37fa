// Stored findings (reports/findings/<target>/finding-*.trace) against real
// kernels, and against their own target again.
//
// A finding is a divergence between the model and a target (the in-process
// driver) at one step. Which side is wrong is a question for a real kernel: run
// the trace on it beside the model, step by step, and look at the failing step.
// The kernel agreeing with the model means the driver is wrong; agreeing with the
// driver means the model has a gap; agreeing with neither means both are wrong.
// The answer is recorded per kernel release in the finding's header as
// `# triage RELEASE (PROFILE): ...` lines (docs/triage.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/profile.h"
#include "targets/target.h"
#include "trace/trace.h"

namespace loopcheck {

enum class KernelVerdict : uint8_t {
  DriverBug,        // the kernel does what the model says: the driver is wrong
  ModelGap,         // the kernel does what the driver does: the model is wrong
  Neither,          // the kernel agrees with neither side
  NoDivergence,     // under this profile the model and the driver agree at the step
  DivergesEarlier,  // the kernel left the model before the step: not comparable there
  Skipped,          // the target did not run the step (the host's foreign devices)
  NotRun,           // the target could not run the trace at all
};
std::string_view verdict_name(KernelVerdict verdict);  // "driver bug", "model gap", ...

// What one kernel did at a finding's failing step, beside the model and the driver
// under the kernel's own profile.
struct KernelObservation {
  std::string release;   // "6.1.0-56-cloud-amd64", "host 6.18.0"
  std::string profile;   // the profile the model and the driver ran under
  std::string env_note;  // set when the trace's @env was adjusted to the kernel's world
  size_t step = 0;       // 0-based failing step
  std::string model, driver, kernel;  // outcomes at the step, in the model's names
  KernelVerdict verdict = KernelVerdict::NotRun;
  size_t earlier_step = 0;     // DivergesEarlier: 0-based step where the kernel left the model
  std::string earlier_detail;  // DivergesEarlier: how
  std::string error;           // NotRun: why
};

// The trace's step where the driver first diverges from the model under `profile`
// (nullopt: they agree throughout); `error` when the driver could not run it.
struct DriverRun {
  bool diverged = false;
  size_t step = 0;
  std::string signature;
  std::string error;
};
DriverRun run_on_driver(const Trace& trace, const model::Profile& profile, Target& driver);

// Runs `trace` under `profile` on the driver and on `kernel` (each beside the
// model) and compares the three at `step`, the finding's failing step.
KernelObservation observe_finding(const Trace& trace, const model::Profile& profile, size_t step,
                                  Target& driver, Target& kernel);

// A finding whose trace has a concurrent block (repro/concurrent_finding_triage.cpp):
// the block's `repeat` runs on the driver and on the kernel, each history checked
// against the model. The driver's unexplained histories with the kernel's all
// explained: a driver bug; the kernel showing one with the same signature: a model
// gap; another signature: neither. `step` is the block's first statement.
DriverRun run_concurrent_on_driver(const Trace& trace, const model::Profile& profile,
                                   Target& driver);
KernelObservation observe_concurrent_finding(const Trace& trace, const model::Profile& profile,
                                             Target& driver, Target& kernel);

// The header line recording `o`: `# triage RELEASE (PROFILE): step N: model ...;
// driver ...; kernel ... => VERDICT`.
std::string triage_line(const KernelObservation& o);

// Whether a stored finding still shows its stored signature on `target` (the
// target its directory names). A finding that no longer does is fixed, or changed
// into another bug: it belongs in corpus/conformance as a regression trace.
struct FindingCheck {
  std::string path;
  std::string stored;  // its `# signature:` line
  std::string now;     // what running it gives now ("" when it no longer diverges)
  size_t step = 0;     // 0-based step of the divergence now
  std::string error;   // unreadable, or the target could not run it
  bool reproduces() const { return error.empty() && !now.empty() && now == stored; }
};
FindingCheck check_finding(const std::string& path, Target& target);

// The target a finding's directory names: reports/findings/<target>/finding-*.trace.
std::string finding_target_name(const std::string& path);

// The host target runs only on devices the run itself created or was handed
// (targets/host): a finding's literal `open loop 0` would be skipped there, and
// LOOP_CTL_GET_FREE hands out a device of a machine others use. The host variant
// starts with `hctl = open loop-control rw` and `hdev = ioctl hctl LOOP_CTL_ADD -1`,
// names device 0 by `hdev` and asks LOOP_CTL_ADD -1 instead of GET_FREE (the same
// answer while no free device exists). Nullopt when the trace names another
// literal index. The variant's steps are the original's plus kHostPrefixSteps.
inline constexpr size_t kHostPrefixSteps = 2;
std::optional<Trace> host_variant(const Trace& trace);

// A VM guest's loop.ko creates 8 devices (docs/vm.md); findings minimized on the
// in-process driver often say `@env precreated=0`, which changes nothing at their
// failing step but would make the VM refuse the trace.
inline constexpr uint32_t kGuestPrecreated = 8;

}  // namespace loopcheck
