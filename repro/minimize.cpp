#include "repro/minimize.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>

#include "trace/validate.h"

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

// Simpler replacements for a number, simplest first: zero, the small round
// values a reader recognises, then half of it. Only values below `v` (so every
// accepted step makes the trace strictly simpler and the search ends).
std::array<uint64_t, 5> simpler_values(uint64_t v, int* count) {
  std::array<uint64_t, 5> out{};
  int n = 0;
  for (uint64_t c : {uint64_t{0}, uint64_t{1}, uint64_t{512}, uint64_t{4096}, v / 2}) {
    if (c >= v) continue;
    bool seen = false;
    for (int i = 0; i < n; ++i) seen = seen || out[static_cast<size_t>(i)] == c;
    if (!seen) out[static_cast<size_t>(n++)] = c;
  }
  *count = n;
  return out;
}

// The numbers of a statement the argument pass may shrink: literal operands
// and struct fields, and I/O lengths. Variables, fds and the operation itself
// are the statement pass's business.
template <typename F>
void for_each_number(Op& op, F f) {
  auto literal = [&](Value& v) {
    if (v.is_literal() && !v.negative) f(v.lit);
  };
  if (op.kind == OpKind::Ioctl) {
    if (op.arg_kind == ArgKind::Number) literal(op.arg);
    for (int i = 0; i < kFieldCount; ++i) {
      if (op.fields.present & (1u << i)) literal(op.fields.value[static_cast<size_t>(i)]);
    }
  }
  if (op.kind == OpKind::Pread || op.kind == OpKind::Pwrite || op.kind == OpKind::Truncate)
    literal(op.offset);
  if (op.kind == OpKind::Pread || op.kind == OpKind::Pwrite) f(op.length);
}

// Runs a candidate; when it still fails with `signature` it becomes the best
// trace found. Counts the run, and runs nothing once the budget is spent.
bool try_candidate(Trace candidate, const std::string& signature, const CandidateRunner& run,
                   size_t max_tests, Trace& best, MinimizeResult& result) {
  if (result.tests_run >= max_tests) return false;
  LOOPCHECK_VALIDATE(candidate, "the minimizer");
  ++result.tests_run;
  fuzz::Finding f = run(candidate);
  if (!f || f.signature != signature) return false;
  best = std::move(candidate);
  result.finding = std::move(f);
  return true;
}

}  // namespace

namespace {

// The concurrent block of `out` after `keep` dropped statements of `in`: its
// threads that kept a statement, renumbered; with fewer than two left, what is
// left runs in order (no block). Allow lines go with the expectations.
void rebuild_block(const Trace& in, const std::vector<bool>& keep, Trace& out) {
  out.blocks.clear();
  if (in.blocks.empty()) return;
  const ConcurrentBlock& b = in.blocks.front();
  ConcurrentBlock kept;
  kept.repeat = b.repeat;
  kept.pos = b.pos;
  kept.end_pos = b.end_pos;
  std::vector<uint8_t> renumbered(b.threads.size() + 1, 0);
  uint32_t at = 0;  // index in out.stmts
  for (uint32_t i = 0; i < in.stmts.size(); ++i) {
    if (!keep[i]) continue;
    if (i < b.first) kept.first = at + 1;
    const uint8_t t = in.stmts[i].thread;
    if (t != 0 && renumbered[t] == 0) {
      kept.threads.push_back(b.threads[t - 1u]);
      kept.kinds.push_back(b.kinds[t - 1u]);
      renumbered[t] = static_cast<uint8_t>(kept.threads.size());
    }
    if (t != 0) kept.end = at + 1;
    out.stmts[at].thread = t == 0 ? 0 : renumbered[t];
    ++at;
  }
  if (kept.threads.size() < 2) {
    for (Statement& st : out.stmts) st.thread = 0;
    return;
  }
  out.blocks.push_back(kept);
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
  rebuild_block(trace, keep, out);
  return out;
}

MinimizeResult minimize(const Trace& trace, const std::string& signature,
                        const CandidateRunner& run, size_t max_tests) {
  MinimizeResult result;
  result.trace = keep_statements(trace, std::vector<bool>(trace.stmts.size(), true));
  LOOPCHECK_VALIDATE(result.trace, "the minimizer");
  result.finding = run(result.trace);
  result.tests_run = 1;
  if (!result.finding || result.finding.signature != signature) return result;
  result.reproduced = true;

  // Nothing after the failing step matters.
  std::vector<bool> keep(result.trace.stmts.size(), false);
  std::fill(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(result.finding.step + 1),
            true);

  Trace best = result.trace;
  auto still_fails = [&](const std::vector<bool>& candidate_keep) {
    return try_candidate(keep_statements(best, candidate_keep), signature, run, max_tests, best,
                         result);
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
  shrink_arguments(best, signature, run, max_tests, result);
  result.trace = std::move(best);
  return result;
}

void shrink_arguments(Trace& best, const std::string& signature, const CandidateRunner& run,
                      size_t max_tests, MinimizeResult& result) {
  // Each number in turn: try its simpler values, simplest first, and start over
  // from the accepted one until none keeps the signature. Clearing single bits
  // comes first for flag words, where "smaller" means "fewer flags".
  for (size_t i = 0; i < best.stmts.size(); ++i) {
    int numbers = 0;
    for_each_number(best.stmts[i].op, [&](uint64_t&) { ++numbers; });
    for (int k = 0; k < numbers; ++k) {
      auto nth = [&](Trace& t) -> uint64_t& {
        uint64_t* slot = nullptr;
        int seen = 0;
        for_each_number(t.stmts[i].op, [&](uint64_t& v) {
          if (seen++ == k) slot = &v;
        });
        return *slot;
      };
      auto try_value = [&](uint64_t value) {
        Trace candidate = best;
        nth(candidate) = value;
        return try_candidate(std::move(candidate), signature, run, max_tests, best, result);
      };
      for (bool progress = true; progress && result.tests_run < max_tests;) {
        progress = false;
        const uint64_t v = nth(best);
        for (int bit = 0; bit < 64 && !progress && std::popcount(v) > 1; ++bit) {
          if ((v >> bit) & 1) progress = try_value(v & ~(uint64_t{1} << bit));
        }
        int count = 0;
        std::array<uint64_t, 5> simpler = simpler_values(v, &count);
        for (int c = 0; c < count && !progress; ++c)
          progress = try_value(simpler[static_cast<size_t>(c)]);
      }
    }
  }
}

}  // namespace loopcheck
