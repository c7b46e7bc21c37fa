// What a step's outcome is when written down as an expectation: `record` prints
// a trace with these, and `profile infer` keeps a target's outcomes this way to
// ask which profile's model explains them.
#pragma once

#include "oracle/runner.h"
#include "trace/trace.h"

namespace loopcheck {

// The expectation for a step that passed (or diverged). The model alone records
// its envelope (`=> 0 | EIO`) where the kernel is nondeterministic; a real
// target records exactly what it did, except where it passed only inside the
// model's envelope: a single value there would fail on the model (and on the
// next run of the kernel), so the envelope is written, which admits what the
// kernel did. A diverged step records what the target did.
//
// `profile infer` wants the branch the target took instead (AsObserved): a
// model run against `=> 1 | EIO` follows its main outcome, and a later step
// that depends on the target having taken EIO would then count against the
// profile; against `=> EIO` the model settles on that branch.
enum class EnvelopeStep : uint8_t { Admitting, AsObserved };
Expectation recorded_expectation(const StepResult& step, bool real_target,
                                 EnvelopeStep envelope = EnvelopeStep::Admitting);

}  // namespace loopcheck
