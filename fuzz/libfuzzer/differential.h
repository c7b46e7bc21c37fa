// What the differential fuzz targets share: decode an input, run it in lockstep,
// feed the model's (operation, outcome) pairs to libFuzzer as extra features, and
// crash with the trace when something diverges. Included by exactly one .cpp per
// fuzzer binary (each defines the libFuzzer entry points).
#pragma once

#include <fmt/format.h>
#include <xxhash.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "fuzz/decode.h"
#include "fuzz/exec.h"
#include "fuzz/findings.h"
#include "fuzz/mutate.h"
#include "trace/print.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace loopcheck::fuzz {

// libFuzzer treats every non-zero byte here as a feature: a new (operation,
// model outcome) pair is new coverage even when no new edge was hit (the model's
// outcome tables are data, not branches).
__attribute__((used, section("__libfuzzer_extra_counters"))) inline std::array<
    uint8_t, ModelCoverage::kOpClasses * ModelCoverage::kOutcomeClasses>
    g_model_pairs;

// Signatures already stored under reports/findings/ (or $LOOPCHECK_KNOWN_FINDINGS)
// are analysed bugs: they do not stop a campaign or fail the CI smoke run.
inline const std::set<std::string>& known_findings() {
  static const std::set<std::string> known = [] {
    const char* dir = std::getenv("LOOPCHECK_KNOWN_FINDINGS");
    return known_signatures(dir ? dir : LOOPCHECK_FINDINGS_DIR);
  }();
  return known;
}

// The mutators applied since libFuzzer took the current input from its corpus.
// libFuzzer mutates a copy of a corpus entry several times, running each step:
// a mutation whose input is not the one run last starts from a new parent.
struct MutationTrail {
  MutationSequence sequence;
  uint64_t last_run = 0;  // XXH3-64 of the input run last
};
inline MutationTrail& mutation_trail() {
  static MutationTrail trail;
  return trail;
}

// Called before mutating data[0, size): starts a new sequence when the input is
// not the one run last (a new parent).
inline MutationSequence& trail_for(const uint8_t* data, size_t size) {
  MutationTrail& trail = mutation_trail();
  if (XXH3_64bits(data, size) != trail.last_run) trail.sequence = MutationSequence{};
  return trail.sequence;
}

// Stored findings this process ran into, by signature: a CI log says which known
// bugs the run hit (they are counted, not hidden) when the process exits.
inline std::map<std::string, size_t>& known_hits() {
  static std::map<std::string, size_t> hits;
  return hits;
}

inline void print_known_hits() {
  const std::map<std::string, size_t>& hits = known_hits();
  size_t total = 0;
  for (const auto& [signature, n] : hits) total += n;
  fmt::print(stderr, "==loopcheck== {} input(s) hit {} stored finding signature(s):\n", total,
             hits.size());
  for (const auto& [signature, n] : hits)
    fmt::print(stderr, "==loopcheck==   {:6} {}\n", n, signature);
}

inline void count_known(const std::string& signature) {
  if (known_hits().empty()) std::atexit(print_known_hits);
  ++known_hits()[signature];
}

inline int run_one(ProgramRunner& runner, const uint8_t* data, size_t size) {
  mutation_trail().last_run = XXH3_64bits(data, size);
  static Program program;  // static: no per-input allocation for the 64-statement array
  decode({data, size}, program);
  ModelCoverage run_pairs;
  Finding finding = runner.run(program, &run_pairs);
  run_pairs.for_each([](int pair) { g_model_pairs[static_cast<size_t>(pair)] = 1; });
  if (!finding) return 0;
  if (known_findings().contains(finding.signature)) {
    count_known(finding.signature);
    return 0;
  }
  // LOOPCHECK_FUZZ_REPORT_ONLY (exploring by hand): print each new signature once
  // and go on. Otherwise — campaigns and the CI smoke run — a signature not stored
  // under reports/findings/ crashes the run: a new bug is a failure until it is
  // stored and triaged (docs/fuzzing.md).
  static const bool report_only = std::getenv("LOOPCHECK_FUZZ_REPORT_ONLY") != nullptr;
  static std::set<std::string> reported;
  if (report_only && reported.contains(finding.signature)) return 0;
  // The crash carries a runnable trace: what `loopcheck minimize` and
  // `loopcheck run` take, and what a bug report shows.
  Trace trace = to_trace(program);
  trace.stmts.resize(finding.step + 1);
  fmt::print(stderr,
             "==loopcheck== NEW {} (signature not stored under reports/findings/)\n"
             "==loopcheck== signature: {}\n==loopcheck== mutations: {}\n"
             "==loopcheck== {}\n{}==loopcheck== end\n",
             finding.kind == Finding::Kind::Invariant ? "INVARIANT VIOLATION" : "DIVERGENCE",
             finding.signature, mutation_trail().sequence.format(), finding.detail,
             print_trace(trace));
  if (!report_only) std::abort();
  reported.insert(finding.signature);
  fmt::print(stderr, "==loopcheck== report-only: {} new signature(s) so far\n", reported.size());
  return 0;
}

inline size_t custom_mutate(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Prng rng(seed);
  // Mostly whole-operation edits; sometimes libFuzzer's own byte mutations, which
  // are what insert the dictionary's records.
  MutationSequence& sequence = trail_for(data, size);
  if (rng.below(8) == 0) {
    sequence.push(Mutation::LibFuzzerMutate);
    return LLVMFuzzerMutate(data, size, max_size);
  }
  return mutate(data, size, max_size, rng, &sequence);
}

inline size_t custom_cross_over(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size,
                                uint8_t* out, size_t max_out, unsigned int seed) {
  Prng rng(seed);
  // A crossover starts a new sequence: its output descends from two parents.
  mutation_trail().sequence = MutationSequence{};
  mutation_trail().sequence.push(Mutation::CrossOver);
  return cross_over(a, a_size, b, b_size, out, max_out, rng);
}

}  // namespace loopcheck::fuzz
