// Triage: one trace on several kernels (and the host), outcomes side by side,
// and the first release, in version order, where the behaviour changed.
//
// Each kernel runs the trace through its own target without the model: triage
// asks "what does each kernel do", not "does it match the model", so a
// divergence early in the trace does not hide the later steps. Outcomes are put
// in machine-independent terms before they are compared: fds and device indices
// become their order of first appearance (fd#1, dev#1), and the status fields
// that name a machine's inodes and devices are blanked.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "targets/target.h"
#include "targets/vm/vm_target.h"
#include "trace/trace.h"

namespace loopcheck::vm {

struct TriageColumn {
  std::string name;                // "6.1.0-56-cloud-amd64", "host (6.18.0)"
  bool is_vm_kernel = true;        // host columns stay out of the version-order search
  std::string error;               // the target could not run the trace at all
  std::vector<std::string> cells;  // one per statement: the normalized outcome text
  std::vector<GuestReport> guest_reports;
};

// Runs `trace` on `target` with no model: every step's outcome, normalized.
TriageColumn observe_trace(const Trace& trace, Target& target, std::string_view profile_name);

// The outcome in machine-independent terms (see above); `fds`/`devs` carry the
// renaming across a column's steps.
std::string normalized_outcome(const Outcome& outcome, std::vector<int64_t>& fds,
                               std::vector<int64_t>& devs);

// Calls observe(i, target) for each of `kernels` on a VM of its own, `jobs` of
// them at once. Each worker makes, uses and destroys its VMs on its own thread:
// QEMU is tied to the thread that started it.
void on_each_kernel(const std::vector<KernelFiles>& kernels, const VmTargetOptions& options,
                    unsigned jobs, const std::function<void(size_t, VmTarget&)>& observe);

// Markdown table cells cannot hold '|' or newlines: escaped and flattened.
std::string markdown_cell(std::string_view text);

// observe_trace on each of `kernels` (a column each, named by its version, with
// its guest reports), `jobs` of them at once (on_each_kernel).
std::vector<TriageColumn> observe_on_kernels(const Trace& trace,
                                             const std::vector<KernelFiles>& kernels,
                                             const VmTargetOptions& options, unsigned jobs);

struct BehaviourChange {
  bool found = false;
  size_t before = 0, after = 0;  // column indices: the last old and the first new behaviour
  std::vector<size_t> steps;     // 0-based statements that differ
};
// The first adjacent pair of VM columns (in the given order) whose cells differ.
BehaviourChange first_change(const std::vector<TriageColumn>& columns);

// The whole report as Markdown, ready for a bug report.
std::string triage_markdown(const Trace& trace, const std::vector<TriageColumn>& columns);

}  // namespace loopcheck::vm
