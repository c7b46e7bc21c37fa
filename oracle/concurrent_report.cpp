// The text report of a concurrent trace (concurrent_runner.h).
#include <fmt/format.h>

#include "oracle/concurrent_runner.h"
#include "trace/outcome_tuple.h"
#include "trace/print.h"

namespace loopcheck {

namespace {

std::string witness_text(const ConcurrentBlock& block, const std::vector<uint8_t>& witness) {
  std::string out;
  for (uint8_t t : witness) out += (out.empty() ? "" : " ") + block.threads[t];
  return out;
}

std::string tuples_text(const Trace& trace, const ConcurrentResult& r) {
  const ConcurrentBlock& block = trace.blocks.front();
  const bool on_target = r.target != "model";
  std::string out;
  for (const TupleTally& t : r.tuples) {
    std::string note;
    if (on_target) note = t.observed ? fmt::format("observed {:>6}", t.observed) : "never observed";
    if (!t.model_allows)
      note += (note.empty() ? "" : ", ") + std::string("MODEL FORBIDS");
    else if (on_target && !t.observed)
      note += fmt::format(" (model order: {})", witness_text(block, t.witness));
    if (!block.allowed.empty() && !t.written) note += ", no allow line";
    out += fmt::format("    {:<40} {}\n", format_tuple(trace, block, t.tuple), note);
  }
  return out;
}

}  // namespace

std::string format_unexplained_history(const Trace& trace, const UnexplainedHistory& h) {
  const ConcurrentBlock& block = trace.blocks.front();
  int64_t t0 = h.calls.empty() ? 0 : h.calls.front().start_ns;
  for (const CallRecord& c : h.calls) t0 = std::min(t0, c.start_ns);
  std::string out = fmt::format("  unexplained history (run {}): {}\n", h.repetition, h.why);
  for (const CallRecord& c : h.calls)
    out += fmt::format("    [{:>9} .. {:>9} ns] {:<10} {} => {}\n", c.start_ns - t0, c.end_ns - t0,
                       block.threads[c.thread], print_statement(trace, trace.stmts[c.stmt]),
                       format_outcome(c.outcome));
  for (const SuffixCall& c : h.suffix)
    out += fmt::format("    {:<37} {} => {}\n", "after the block",
                       print_statement(trace, trace.stmts[c.stmt]), format_outcome(c.outcome));
  return out;
}

std::string format_concurrent_result(const Trace& trace, const ConcurrentResult& r) {
  std::string out;
  if (r.target == "model") {
    out += fmt::format(
        "  model: {} outcome tuple(s) over {} interleavings ({} configurations, {} "
        "micro-steps, {:.3f} s)\n",
        r.model.tuples.size(), r.model.executions, r.model.expanded, r.model.transitions,
        r.model.seconds);
  } else {
    out += fmt::format(
        "  {} runs: {} linearizable, {} unexplained, {} undecided, {} skipped, {} "
        "failed before the block; linearizability {:.1f} µs and {:.0f} nodes per "
        "history\n",
        r.repetitions, r.linearizable, r.unexplained, r.undecided, r.skipped, r.prefix_failures,
        r.linearizable + r.unexplained
            ? 1e6 * r.check_seconds / double(r.linearizable + r.unexplained)
            : 0.0,
        r.linearizable + r.unexplained
            ? double(r.check_nodes) / double(r.linearizable + r.unexplained)
            : 0.0);
  }
  out += "  outcome tuples:\n" + tuples_text(trace, r);
  for (const std::string& v : r.model.violations) out += "  INVARIANT VIOLATED: " + v + "\n";
  for (const std::string& p : r.problems) out += "  " + p + "\n";
  for (const UnexplainedHistory& h : r.histories) out += format_unexplained_history(trace, h);
  return out;
}

}  // namespace loopcheck
