// Lockstep execution of statements on the model and (optionally) a target: the
// one place where variables are bound on both sides, outcomes are compared up to
// renaming, and written expectations are checked. run_trace() drives it over a
// whole trace; the RapidCheck state-machine test drives it one command at a time.
#pragma once

#include <array>
#include <span>

#include "oracle/renaming.h"
#include "oracle/runner.h"
#include "targets/target.h"
#include "model/model.h"

namespace loopcheck {

class Lockstep {
 public:
  // `target` may be null (model alone); it must already be started.
  Lockstep(const model::Profile& profile, const Env& env, std::span<const ObjectDecl> objects,
           Target* target);

  // Runs one statement on both sides. After a Diverged verdict the two sides no
  // longer describe the same system; callers stop there.
  StepResult step(const Statement& stmt, bool check_expectations);

  const model::State& model_state() const { return state_; }
  // Each side's variables and the renaming so far: where a concurrent block takes
  // over (oracle/concurrent_runner.h).
  std::span<const int64_t> model_vars() const { return model_vars_; }
  std::span<const int64_t> target_vars() const { return target_vars_; }
  uint64_t skipped_vars() const { return skipped_vars_; }
  const Renaming& names() const { return names_; }

 private:
  const model::Profile& profile_;
  Env env_;
  Target* target_;
  model::State state_;
  // Unbound variables read as -1, an fd no target owns, never a real fd 0.
  std::array<int64_t, kMaxVars> model_vars_;
  std::array<int64_t, kMaxVars> target_vars_;
  // Variables whose defining step the target skipped: a step reading one is
  // skipped too, never run on a stand-in value (an fd that was never opened
  // would only "diverge" with EBADF).
  uint64_t skipped_vars_ = 0;
  Renaming names_;

  StepResult skip_dependant(const Statement& stmt);
  // Sets ExpectationFailed (with why) when `written` does not hold for the step.
  void check_expectation(const Expectation& written, std::span<const uint8_t> bytes,
                         StepResult& result) const;
};

}  // namespace loopcheck
