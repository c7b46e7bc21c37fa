#include "agent/program.h"

#include <array>

#include "agent/guest_loop.h"
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

}  // namespace

ProgramRun run_program(std::span<const ProgramStatement> statements,
                       const std::function<Outcome(const Op&)>& execute) {
  ProgramRun run;
  std::array<int64_t, kMaxVars> vars;
  vars.fill(-1);
  uint64_t skipped_vars = 0;
  uint64_t taint = kernel_taint();
  for (size_t i = 0; i < statements.size(); ++i) {
    const ProgramStatement& s = statements[i];
    Outcome outcome = Outcome::skipped();
    if ((op_var_mask(s.op) & skipped_vars) == 0) {
      const Op op = bind_op(s.op, vars);
      note_touched(op, run.touched);
      outcome = execute(op);
    }
    if (s.bind >= 0) {
      const uint64_t bit = uint64_t{1} << s.bind;
      const bool skipped = outcome.kind == Outcome::Kind::Skipped;
      vars[static_cast<size_t>(s.bind)] = outcome.kind == Outcome::Kind::Value ? outcome.value : -1;
      skipped_vars = skipped ? skipped_vars | bit : skipped_vars & ~bit;
    }
    run.outcomes.push_back(outcome);
    const uint64_t now = kernel_taint();
    if (now != taint && run.taint_step == 0) run.taint_step = static_cast<uint32_t>(i + 1);
    taint = now;
  }
  run.taint = taint;
  return run;
}

}  // namespace loopcheck::vm::agent
