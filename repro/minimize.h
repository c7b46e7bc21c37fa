// Delta debugging (ddmin) over a trace's statements, then simplification of its
// numbers: the smallest, simplest trace found that still fails with the same
// signature (fuzz/exec.h). Removing a statement removes every statement
// that reads a variable it bound, so each candidate is a valid trace whose
// variables are all bound before use.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "fuzz/exec.h"
#include "trace/trace.h"

namespace loopcheck {

// Runs a candidate and says how it failed (Finding::Kind::None: it passed).
using CandidateRunner = std::function<fuzz::Finding(const Trace&)>;

struct MinimizeResult {
  Trace trace;            // the smallest failing trace found (expectations cleared)
  fuzz::Finding finding;  // how it fails: the same signature as the original
  size_t tests_run = 0;   // candidates executed
  bool reproduced =
      false;  // false: the original did not fail with `signature`; `trace` is the input
};

// `max_tests` bounds the candidates run (a host run costs ~16 ms per control ioctl).
// After the statements, the numbers: each literal operand, struct field and I/O
// length is replaced by the simplest value (0, 1, 512, 4096, half of it, or the
// same flags with fewer bits) that keeps the signature.
MinimizeResult minimize(const Trace& trace, const std::string& signature,
                        const CandidateRunner& run, size_t max_tests = 5000);

// The argument pass alone, on a trace that already fails with `signature`:
// shrinks `trace` in place and counts its candidates in `result`.
void shrink_arguments(Trace& trace, const std::string& signature, const CandidateRunner& run,
                      size_t max_tests, MinimizeResult& result);

// The trace with only the statements keep[i] == true, after also dropping every
// statement that reads a variable bound by a dropped one (transitively).
Trace keep_statements(const Trace& trace, std::vector<bool> keep);

}  // namespace loopcheck
