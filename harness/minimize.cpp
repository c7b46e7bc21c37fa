#include "harness/minimize.h"

#include <algorithm>
#include <array>
#include <cassert>

namespace loopcheck {
namespace {

// Calls f(slot) for every variable the op reads.
template <typename F>
void for_each_read(const Op& op, F f) {
  auto visit = [&](const Value& v) {
    if (v.kind == Value::Kind::Var) f(v.var);
  };
  visit(op.subject);
  visit(op.arg);
  visit(op.offset);
  for (int i = 0; i < kFieldCount; ++i) {
    if (op.fields.present & (1u << i)) visit(op.fields.value[i]);
  }
}

}  // namespace

Trace keep_statements(const Trace& trace, std::vector<bool> keep) {
  assert(keep.size() == trace.stmts.size());
  // binder[slot]: the statement whose value a later read of `slot` sees, or -1.
  std::array<int, kMaxVars> binder;
  binder.fill(-1);
  Trace out = trace;
  out.stmts.clear();
  for (size_t i = 0; i < trace.stmts.size(); ++i) {
    const Statement& st = trace.stmts[i];
    // A read sees the newest binding before this statement (a rebinding
    // statement reads the old value), so check reads before recording the bind.
    bool bound = true;
    for_each_read(st.op, [&](uint8_t slot) {
      if (binder[slot] < 0 || !keep[static_cast<size_t>(binder[slot])]) bound = false;
    });
    if (!bound) keep[i] = false;
    if (st.bind >= 0) binder[static_cast<size_t>(st.bind)] = static_cast<int>(i);
    if (!keep[i]) continue;
    Statement copy = st;
    copy.expect = Expectation{};  // outcomes change when statements go: expectations would lie
    out.stmts.push_back(copy);
  }
  return out;
}

MinimizeResult minimize(const Trace& trace, const std::string& signature, const CandidateRunner& run,
                        size_t max_tests) {
  MinimizeResult result;
  result.trace = keep_statements(trace, std::vector<bool>(trace.stmts.size(), true));
  result.finding = run(result.trace);
  result.tests_run = 1;
  if (!result.finding || result.finding.signature != signature) return result;
  result.reproduced = true;

  // Nothing after the failing step matters.
  std::vector<bool> keep(result.trace.stmts.size(), false);
  std::fill(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(result.finding.step + 1), true);

  Trace best = result.trace;
  auto still_fails = [&](const std::vector<bool>& candidate_keep) {
    if (result.tests_run >= max_tests) return false;
    Trace candidate = keep_statements(best, candidate_keep);
    ++result.tests_run;
    fuzz::Finding f = run(candidate);
    if (!f || f.signature != signature) return false;
    best = std::move(candidate);
    result.finding = std::move(f);
    return true;
  };
  still_fails(keep);  // a deterministic side fails the same way on the prefix

  // ddmin over complements: remove one of n chunks at a time, halving the chunk
  // size when no chunk can go.
  size_t n = 2;
  while (best.stmts.size() >= 2 && result.tests_run < max_tests) {
    const size_t len = best.stmts.size();
    const size_t chunk = (len + n - 1) / n;
    bool reduced = false;
    for (size_t start = 0; start < len; start += chunk) {
      std::vector<bool> candidate(len, true);
      for (size_t i = start; i < std::min(len, start + chunk); ++i) candidate[i] = false;
      if (still_fails(candidate)) {
        reduced = true;
        n = std::max<size_t>(n - 1, 2);
        break;
      }
    }
    if (reduced) continue;
    if (chunk == 1) break;  // 1-minimal: no single statement can go
    n = std::min(n * 2, len);
  }
  result.trace = std::move(best);
  return result;
}

}  // namespace loopcheck
