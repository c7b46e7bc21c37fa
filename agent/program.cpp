#include "agent/program.h"

#include <array>
#include <cassert>
#include <mutex>

#include "agent/guest_loop.h"
#include "targets/block_threads.h"
#include "trace/bind.h"

namespace loopcheck::vm::agent {
namespace {

// Which devices the reset must put back: every device opened, added or removed.
void note_touched(const Op& op, std::set<uint64_t>& touched) {
  if (op.kind == OpKind::Open && op.node == Node::Loop) touched.insert(op.subject.lit);
  const bool ctl_by_index = op.kind == OpKind::Ioctl && op.arg_kind == ArgKind::Number &&
                            (op.req == Req::LoopCtlAdd || op.req == Req::LoopCtlRemove);
  if (ctl_by_index) touched.insert(op.arg.lit);
}

// The block starting at statement `first`: its threads at once; returns the index
// after it.
size_t run_block(std::span<const ProgramStatement> statements, size_t first,
                 std::array<int64_t, kMaxVars>& vars, const ExecuteOn& execute,
                 const MakeChild& make_child, ProgramRun& run) {
  size_t end = first;
  std::vector<BlockThread> threads;
  for (; end < statements.size() && statements[end].thread != 0; ++end) {
    const ProgramStatement& s = statements[end];
    if (threads.size() < s.thread) threads.resize(s.thread);
    threads[s.thread - 1u].stmts.push_back(static_cast<uint32_t>(end));
    threads[s.thread - 1u].kind = s.kind;
    threads[s.thread - 1u].statements.push_back(PlannedStatement{s.op, s.bind, s.thread, s.kind});
  }
  std::vector<std::unique_ptr<host::ChildExecutor>> children(threads.size());
  for (size_t t = 0; t < threads.size(); ++t)
    if (threads[t].kind == ThreadKind::Process) children[t] = make_child();
  std::mutex touched_lock;
  auto call = [&](size_t t, const Op& op, CallClock& clock) {
    {
      std::lock_guard<std::mutex> guard(touched_lock);
      note_touched(op, run.touched);
    }
    return children[t] ? children[t]->execute(op, clock) : execute(t + 1, op);
  };
  const BlockHistory h = run_block_threads(threads, vars, call);
  for (const CallRecord& c : h.calls) {
    assert(c.stmt == run.outcomes.size());
    run.outcomes.push_back(c.outcome);
    run.intervals.push_back(CallInterval{c.start_ns, c.end_ns});
    const int16_t bind = statements[c.stmt].bind;
    if (bind >= 0) vars[static_cast<size_t>(bind)] = bound_value(c.outcome);
  }
  return end;
}

}  // namespace

ProgramRun run_program(std::span<const ProgramStatement> statements, const ExecuteOn& execute,
                       const MakeChild& make_child) {
  ProgramRun run;
  std::array<int64_t, kMaxVars> vars;
  vars.fill(-1);
  uint64_t skipped_vars = 0;
  uint64_t taint = kernel_taint();
  for (size_t i = 0; i < statements.size();) {
    const ProgramStatement& s = statements[i];
    if (s.thread != 0) {
      i = run_block(statements, i, vars, execute, make_child, run);
    } else {
      Outcome outcome = Outcome::skipped();
      const int64_t start_ns = monotonic_ns();
      if ((op_var_mask(s.op) & skipped_vars) == 0) {
        const Op op = bind_op(s.op, vars);
        note_touched(op, run.touched);
        outcome = execute(0, op);
      }
      run.intervals.push_back(CallInterval{start_ns, monotonic_ns()});
      if (s.bind >= 0) {
        const uint64_t bit = uint64_t{1} << s.bind;
        const bool skipped = outcome.kind == Outcome::Kind::Skipped;
        vars[static_cast<size_t>(s.bind)] = bound_value(outcome);
        skipped_vars = skipped ? skipped_vars | bit : skipped_vars & ~bit;
      }
      run.outcomes.push_back(outcome);
      ++i;
    }
    const uint64_t now = kernel_taint();
    if (now != taint && run.taint_step == 0) run.taint_step = static_cast<uint32_t>(i);
    taint = now;
  }
  run.taint = taint;
  return run;
}

}  // namespace loopcheck::vm::agent
