// The builtin fuzzing engine: a coverage-guided mutation loop over the fuzz
// decoder, driven by the run's one seeded PRNG. It is what `loopcheck fuzz` uses
// for the host target (whose sandbox cannot live inside a libFuzzer binary) and
// for inproc when the clang-built libFuzzer binary is absent.
//
// Guidance is the model's (operation, outcome) pairs: an input that makes the
// model produce a pair no earlier input did joins the corpus. With a budget in
// executions (`runs`), the same seed gives the same findings, byte for byte.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/decode.h"
#include "fuzz/exec.h"
#include "fuzz/mutate.h"
#include "targets/target.h"

namespace loopcheck::fuzz {

using Input = std::vector<uint8_t>;

struct CampaignOptions {
  uint64_t seed = 1;
  uint64_t runs = 0;          // executions per job; 0 = until `seconds` pass
  double seconds = 60;        // wall-clock budget (ignored when runs > 0)
  unsigned jobs = 1;          // independent loops, each with its own target and seed
  size_t ops_per_input = 16;  // statements in a freshly generated input
  std::vector<Input> seeds;   // initial corpus
  DecodeOptions decode;
  // Live counts for a progress line (`loopcheck fuzz --progress`); may be null.
  std::atomic<uint64_t>* live_execs = nullptr;
  std::atomic<uint64_t>* live_findings = nullptr;
  // Makes one target per job (null result: the model alone).
  std::function<std::unique_ptr<Target>()> make_target;
};

struct RawFinding {
  Input input;  // the first input that showed this signature
  Finding finding;
  MutationSequence mutations;  // how `input` was made from its corpus parent
};

struct CampaignResult {
  uint64_t execs = 0;
  uint64_t steps = 0;
  double seconds = 0;                // wall clock
  std::vector<RawFinding> findings;  // one per signature, ordered by signature
  ModelCoverage coverage;            // over every executed input
  size_t corpus_size = 0;
  // Model pairs covered after each tenth of the budget (coverage growth).
  std::vector<size_t> pairs_over_time;
};

CampaignResult run_campaign(const CampaignOptions& options);

}  // namespace loopcheck::fuzz
