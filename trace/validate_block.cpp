// The rules of concurrent blocks (validate.h): a block is a contiguous run of
// statements, each thread's statements contiguous and in thread order, bounded by
// kMaxThreads / kMaxThreadStatements / kMaxBlockStatements; no statement outside a
// block names a thread; `allow` tuples have one outcome per block statement; a
// `process` thread's fds are its own (process_thread below).
#include <fmt/format.h>

#include <vector>

#include "trace/bind.h"
#include "trace/validate.h"

namespace loopcheck {

namespace {

class BlockRules {
 public:
  explicit BlockRules(const Trace& trace) : t_(trace) {}

  std::vector<TraceProblem> run() {
    if (!t_.blocks.empty() && t_.version < 2)
      problem(-1, {}, "a concurrent block needs language version 2 (`@trace 2`)");
    if (t_.blocks.size() > static_cast<size_t>(kMaxBlocks))
      problem(-1, {}, fmt::format("at most {} concurrent block per trace", kMaxBlocks));
    std::vector<bool> inside(t_.stmts.size(), false);
    for (const ConcurrentBlock& b : t_.blocks) {
      block(b, inside);
      after(b);
    }
    for (size_t i = 0; i < t_.stmts.size(); ++i)
      if (!inside[i] && t_.stmts[i].thread != 0)
        problem(static_cast<int>(i), t_.stmts[i].pos, "names a thread outside a concurrent block");
    return std::move(out_);
  }

 private:
  const Trace& t_;
  std::vector<TraceProblem> out_;

  void problem(int stmt, SourcePos pos, std::string message) {
    out_.push_back(TraceProblem{stmt, -1, pos, std::move(message)});
  }

  void block(const ConcurrentBlock& b, std::vector<bool>& inside) {
    if (b.first >= b.end || b.end > t_.stmts.size())
      return problem(-1, b.pos,
                     fmt::format("concurrent block [{}, {}) is not a range of the {} "
                                 "statements",
                                 b.first, b.end, t_.stmts.size()));
    if (b.repeat < 1 || b.repeat > kMaxRepeat)
      problem(-1, b.pos, fmt::format("repeat={} is outside 1..{}", b.repeat, kMaxRepeat));
    if (b.threads.size() < 2 || b.threads.size() > static_cast<size_t>(kMaxThreads))
      problem(-1, b.pos,
              fmt::format("a concurrent block has 2..{} threads, not {}", kMaxThreads,
                          b.threads.size()));
    if (b.end - b.first > static_cast<uint32_t>(kMaxBlockStatements))
      problem(-1, b.pos, fmt::format("a block has at most {} statements", kMaxBlockStatements));
    for (size_t k = 0; k < b.threads.size(); ++k) {
      if (!is_identifier(b.threads[k])) problem(-1, b.pos, "invalid thread name");
      for (size_t j = 0; j < k; ++j)
        if (b.threads[j] == b.threads[k])
          problem(-1, b.pos, fmt::format("thread '{}' is declared twice", b.threads[k]));
    }
    statements(b, inside);
    if (b.kinds.size() != b.threads.size())
      problem(-1, b.pos,
              fmt::format("{} thread kinds for {} threads", b.kinds.size(), b.threads.size()));
    for (size_t k = 0; k < b.kinds.size(); ++k)
      if (b.kinds[k] == ThreadKind::Process) process_thread(b, static_cast<uint8_t>(k + 1));
    for (const OutcomeTuple& tuple : b.allowed)
      if (tuple.count != b.end - b.first)
        problem(-1, b.end_pos,
                fmt::format("an allow line lists {} outcomes for {} statements", tuple.count,
                            b.end - b.first));
    if (b.allowed.size() > static_cast<size_t>(kMaxAllowedTuples))
      problem(-1, b.end_pos, fmt::format("at most {} allow lines", kMaxAllowedTuples));
  }

  // After the block, outcomes may depend on the order the threads took: what a
  // run shows there is checked through the linearizability search, not `=>`.
  void after(const ConcurrentBlock& b) {
    for (size_t i = b.end; i < t_.stmts.size(); ++i)
      if (t_.stmts[i].expect.count != 0)
        problem(static_cast<int>(i), t_.stmts[i].pos,
                "a statement after a concurrent block takes no `=>`: its outcome may depend on "
                "the order the threads took (runs are checked against every order)");
  }

  // A process thread runs in a process of its own (trace.h ThreadKind), which
  // starts with no fds of the checker's: it may read a value bound before the
  // block only as a device number (`open loop n`, `sysfs n`); every fd it opens
  // it binds and closes itself (its exit would close a leftover one behind the
  // model's back), and nothing after the block reads one (it lived in the other
  // process).
  void process_thread(const ConcurrentBlock& b, uint8_t thread) {
    uint64_t bound_here = 0, open_here = 0;
    for (uint32_t i = b.first; i < b.end && i < t_.stmts.size(); ++i) {
      const Statement& st = t_.stmts[i];
      if (st.thread != thread) continue;
      const int at = static_cast<int>(i);
      uint64_t reads = op_var_mask(st.op);
      const bool device_number =
          (st.op.kind == OpKind::Open && st.op.node == Node::Loop) || st.op.kind == OpKind::Sysfs;
      if (device_number && st.op.subject.kind == Value::Kind::Var)
        reads &= ~(uint64_t{1} << st.op.subject.var);
      if (reads & ~bound_here)
        problem(at, st.pos,
                "a process thread has its own fds: it may use a value bound before the block "
                "only as a device number (open loop N, sysfs N)");
      if (st.op.kind == OpKind::Close && st.op.subject.kind == Value::Kind::Var)
        open_here &= ~(uint64_t{1} << st.op.subject.var);
      if (st.op.kind == OpKind::Open && st.bind < 0)
        problem(at, st.pos, "an open in a process thread binds its fd, to close it");
      if (st.bind < 0) continue;
      const uint64_t bit = uint64_t{1} << st.bind;
      bound_here |= bit;
      open_here = st.op.kind == OpKind::Open ? open_here | bit : open_here & ~bit;
    }
    if (open_here)
      problem(
          -1, b.pos,
          fmt::format("process thread '{}' must close every fd it opens", b.threads[thread - 1u]));
    for (size_t i = b.end; i < t_.stmts.size(); ++i)
      if (op_var_mask(t_.stmts[i].op) & bound_here)
        problem(static_cast<int>(i), t_.stmts[i].pos,
                fmt::format("reads a variable of process thread '{}', whose values lived in "
                            "that process",
                            b.threads[thread - 1u]));
  }

  void statements(const ConcurrentBlock& b, std::vector<bool>& inside) {
    std::vector<int> count(b.threads.size() + 1, 0);
    uint8_t previous = 0;
    for (uint32_t i = b.first; i < b.end && i < t_.stmts.size(); ++i) {
      inside[i] = true;
      const Statement& st = t_.stmts[i];
      const int at = static_cast<int>(i);
      if (st.thread < 1 || st.thread > b.threads.size()) {
        problem(at, st.pos, fmt::format("thread {} is not one of the block's", st.thread));
        continue;
      }
      if (st.thread < previous)
        problem(at, st.pos, "a thread's statements must be contiguous, threads in order");
      if (st.thread > previous + 1) problem(at, st.pos, "a thread of the block has no statements");
      previous = st.thread;
      if (++count[st.thread] > kMaxThreadStatements)
        problem(at, st.pos,
                fmt::format("a thread has at most {} statements", kMaxThreadStatements));
      if (st.expect.count != 0)
        problem(at, st.pos, "a statement in a concurrent block takes no `=>` (use allow lines)");
      // The threads' events interleave as the kernel ran them: one thread's
      // `uevents` would see the others' in an order no model predicts.
      if (st.op.kind == OpKind::Uevents)
        problem(at, st.pos, "`uevents` reads every thread's events: it belongs outside the block");
    }
    if (previous != b.threads.size())
      problem(-1, b.pos, "every thread of the block needs at least one statement");
  }
};

}  // namespace

std::vector<TraceProblem> validate_blocks(const Trace& trace) {
  return BlockRules(trace).run();
}

}  // namespace loopcheck
