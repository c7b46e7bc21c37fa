// Triage of a trace with a concurrent block (docs/concurrency.md): one column per
// kernel, each the trace run `repeat` times on that kernel under its release's
// profile (oracle/concurrent_runner.h).
//
// A sequential trace's column is one outcome per step, and two kernels differ
// when a cell does. A concurrent run's outcome depends on the order the threads
// happened to take, so a column is a tally instead: which outcome tuples the
// kernel showed and how often, and how many of its histories some order of the
// model explains. A tuple seen on one kernel and not on the next is listed but
// is not a behaviour change (a rare order may simply not have come up in
// `repeat` runs); the change triage names is the first pair of kernels, in
// version order, where the model stops (or starts) explaining every history, or
// where the profiles' allowed tuple sets differ.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/profile.h"
#include "targets/target.h"
#include "targets/vm/vm_target.h"
#include "trace/trace.h"

namespace loopcheck::vm {

inline constexpr size_t kMaxColumnSignatures = 4;

struct ConcurrentColumn {
  std::string name;
  bool is_vm_kernel = true;  // host columns stay out of the version-order search
  std::string profile;       // the model's profile for the column's release
  std::string error;         // the target could not run the trace at all
  uint32_t runs = 0;
  uint64_t linearizable = 0, unexplained = 0, undecided = 0, skipped = 0, prefix_failures = 0;
  std::map<std::string, uint64_t> observed;  // outcome tuple (as `allow` writes it) -> runs
  std::set<std::string> allowed;             // the tuples the model allows under `profile`
  std::vector<std::string> signatures;       // distinct unexplained ones, at most kMax...
  std::string first_history;                 // the first unexplained history, formatted
  std::vector<GuestReport> guest_reports;
};

// Runs `trace` (it must have a block) `repeat` times on `target` (0: the block's
// own repeat). `profile` null: the column says why in `error`.
ConcurrentColumn observe_concurrent(const Trace& trace, Target& target,
                                    const model::Profile* profile, std::string_view release,
                                    uint32_t repeat);

// observe_concurrent on each kernel, `jobs` VMs at once (observe_on_kernels).
std::vector<ConcurrentColumn> observe_concurrent_on_kernels(const Trace& trace,
                                                            const std::vector<KernelFiles>& kernels,
                                                            const VmTargetOptions& options,
                                                            unsigned jobs, uint32_t repeat);

struct ConcurrentChange {
  bool found = false;
  size_t before = 0, after = 0;  // column indices
  std::string what;              // how the two differ
};
// The first adjacent pair of VM columns that ran (in the given order) whose
// explained/unexplained verdict or whose model-allowed tuples differ.
ConcurrentChange first_concurrent_change(const std::vector<ConcurrentColumn>& columns);

// The report as Markdown: a run summary per kernel, then every tuple observed or
// allowed with its count per kernel, the change, unexplained histories.
std::string concurrent_triage_markdown(const Trace& trace,
                                       const std::vector<ConcurrentColumn>& columns);

}  // namespace loopcheck::vm
