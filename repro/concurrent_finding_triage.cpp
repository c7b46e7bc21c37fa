// Triage of a stored finding whose trace has a concurrent block (finding_triage.h).
//
// A concurrent finding is a history no order of the model explains. Which side
// is wrong is again a question for a real kernel, but one run proves little: an
// order may come up once in a thousand. So the kernel runs the block as many
// times as the trace's `repeat` says (the finding's own runs) and every history
// is checked; the verdict compares the kernel's unexplained histories with the
// driver's by signature (the calls and outcomes, without line numbers).
#include <fmt/format.h>

#include <algorithm>

#include "oracle/concurrent_runner.h"
#include "repro/finding_triage.h"

namespace loopcheck {
namespace {

ConcurrentResult run_block_runs(const Trace& trace, const model::Profile& profile, Target& target) {
  ConcurrentOptions options;
  options.check_expectations = false;  // target vs model, as for sequential findings
  options.kept_histories = 8;
  return run_concurrent(trace, profile, &target, options);
}

std::string runs_text(const ConcurrentResult& r) {
  if (r.skipped == r.repetitions) return "SKIPPED";
  std::string text = fmt::format("{} of {} runs unexplained", r.unexplained, r.repetitions);
  if (!r.histories.empty()) text += fmt::format(" (`{}`)", r.histories.front().signature);
  if (r.prefix_failures) text += fmt::format(", {} failed before the block", r.prefix_failures);
  return text;
}

bool shares_a_signature(const ConcurrentResult& kernel, const ConcurrentResult& driver) {
  for (const UnexplainedHistory& k : kernel.histories) {
    for (const UnexplainedHistory& d : driver.histories)
      if (k.signature == d.signature) return true;
  }
  return false;
}

KernelVerdict concurrent_verdict(const ConcurrentResult& kernel, const ConcurrentResult& driver) {
  if (kernel.repetitions > 0 && kernel.skipped == kernel.repetitions) return KernelVerdict::Skipped;
  if (kernel.unexplained == 0) {
    if (kernel.prefix_failures > 0) return KernelVerdict::DivergesEarlier;
    return driver.unexplained ? KernelVerdict::DriverBug : KernelVerdict::NoDivergence;
  }
  if (driver.unexplained && shares_a_signature(kernel, driver)) return KernelVerdict::ModelGap;
  return KernelVerdict::Neither;
}

}  // namespace

DriverRun run_concurrent_on_driver(const Trace& trace, const model::Profile& profile,
                                   Target& driver) {
  const ConcurrentResult r = run_block_runs(trace, profile, driver);
  DriverRun out;
  out.error = r.error;
  if (!r.error.empty() || r.histories.empty()) return out;
  out.diverged = true;
  out.step = trace.blocks.front().first;
  out.signature = r.histories.front().signature;
  return out;
}

KernelObservation observe_concurrent_finding(const Trace& trace, const model::Profile& profile,
                                             Target& driver, Target& kernel) {
  KernelObservation o;
  o.profile = std::string(profile.name);
  o.step = trace.blocks.front().first;
  const ConcurrentResult drv = run_block_runs(trace, profile, driver);
  const ConcurrentResult ker = run_block_runs(trace, profile, kernel);
  if (!drv.error.empty() || !ker.error.empty()) {
    o.error = !ker.error.empty() ? ker.error : drv.error;
    return o;
  }
  o.model = fmt::format("allows {} outcome tuple(s)",
                        std::count_if(ker.tuples.begin(), ker.tuples.end(),
                                      [](const TupleTally& t) { return t.model_allows; }));
  o.driver = runs_text(drv);
  o.kernel = runs_text(ker);
  o.verdict = concurrent_verdict(ker, drv);
  if (o.verdict == KernelVerdict::DivergesEarlier) {
    o.earlier_step = ker.first_prefix_failure_stmt;
    o.earlier_detail =
        ker.problems.empty() ? "a statement before the block diverged" : ker.problems.front();
  }
  return o;
}

}  // namespace loopcheck
