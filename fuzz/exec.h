// Running one decoded fuzz program on the model and a target in lockstep, and
// turning what goes wrong into a Finding with a signature. Shared by the
// libFuzzer targets (fuzz/), `loopcheck fuzz` and `loopcheck minimize`, so a
// finding means the same thing wherever it was found.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/decode.h"
#include "targets/target.h"
#include "trace/classify.h"

namespace loopcheck::fuzz {

// Which (operation, model outcome) pairs the model has produced: the model's own
// coverage, independent of how the code under test is instrumented.
class ModelCoverage {
 public:
  // The pairs are trace/classify.h's keys: the op key and the outcome key.
  static constexpr int kOpClasses = kOpKeyCount;
  static constexpr int kOutcomeClasses = kOutcomeKeyCount;

  // Records the pair; true when it was new.
  bool add(const Op& op, const Outcome& model_outcome);
  size_t count() const { return seen_.count(); }
  void merge(const ModelCoverage& other) { seen_ |= other.seen_; }
  template <typename F>
  void for_each(F f) const {
    for (size_t i = seen_._Find_first(); i < seen_.size(); i = seen_._Find_next(i))
      f(static_cast<int>(i));
  }
  // The pair's index, for callers that feed it to their own feedback (libFuzzer's
  // extra counters).
  static int pair_index(const Op& op, const Outcome& model_outcome);

 private:
  std::bitset<kOpClasses * kOutcomeClasses> seen_;
};

struct Finding {
  // Crash: the target itself failed while the program ran (a kernel oops, panic,
  // WARNING, hang, or state its reset could not undo); `detail` has the console.
  enum class Kind : uint8_t { None, Divergence, Invariant, TargetError, Crash };
  Kind kind = Kind::None;
  size_t step = 0;        // the statement where it showed
  std::string signature;  // what deduplication and minimization compare
  std::string detail;     // for humans
  explicit operator bool() const { return kind != Kind::None; }
};

// Runs programs and traces on the model and one target. (Not to be confused with
// targets/host's Executor, which performs one Op as a system call.)
class ProgramRunner {
 public:
  // `target` may be null (the model alone: only invariants can fail). It must
  // outlive the runner; the runner starts and finishes it for every run.
  explicit ProgramRunner(Target* target) : target_(target) {}

  // Runs the program until the first divergence or invariant violation.
  // Every model outcome is recorded in `coverage` when it is given.
  Finding run(const Program& program, ModelCoverage* coverage = nullptr);

  // Runs a trace (a minimized finding, a candidate of the minimizer) the same way.
  Finding run(const Trace& trace, const model::Profile& profile, ModelCoverage* coverage = nullptr);

  uint64_t steps_run() const { return steps_run_; }

 private:
  Target* target_;
  uint64_t steps_run_ = 0;
};

}  // namespace loopcheck::fuzz
