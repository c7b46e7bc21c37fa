// Differential fuzzing: the model against the in-process loop driver.
#include "fuzz/libfuzzer/differential.h"
#include "targets/inproc/inproc_target.h"

namespace {

loopcheck::fuzz::ProgramRunner& runner() {
  // One target for the whole process: it starts and finishes a sandbox per input.
  static loopcheck::inproc::InprocTarget target;
  static loopcheck::fuzz::ProgramRunner exec(&target);
  return exec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return loopcheck::fuzz::run_one(runner(), data, size);
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return loopcheck::fuzz::custom_mutate(data, size, max_size, seed);
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* a, size_t a_size, const uint8_t* b,
                                            size_t b_size, uint8_t* out, size_t max_out,
                                            unsigned int seed) {
  return loopcheck::fuzz::custom_cross_over(a, a_size, b, b_size, out, max_out, seed);
}
