#include "oracle/recorded_expectation.h"

#include "trace/print.h"

namespace loopcheck {

Expectation recorded_expectation(const StepResult& step, bool real_target, EnvelopeStep envelope) {
  const bool admit = envelope == EnvelopeStep::Admitting;
  if (!real_target || (admit && step_class(step) == StepClass::Envelope))
    return expectation_with_envelope_from(step.model);
  Expectation e;
  e.count = 1;
  // Bytes the model predicted exactly are written as the model describes them
  // (data=zero, pattern:3), which a reader can check; others as a digest.
  const bool described =
      step.model.kind == Outcome::Kind::Data && step_class(step) == StepClass::Exact;
  e.alt[0] = expectation_from(described ? step.model : step.observed);
  // Bytes the model cannot predict: a data= there could never be checked (an
  // expectation failure); the count still is.
  if (step.verdict == StepVerdict::Pass && step.model.kind == Outcome::Kind::Data &&
      !step.model.data_known && e.alt[0].kind == ExpectAlt::Kind::Data) {
    e.alt[0].kind = ExpectAlt::Kind::Value;
    e.alt[0].has_data = false;
    e.alt[0].data = DataDesc{};
  }
  return e;
}

}  // namespace loopcheck
