// Running mutants: each is built as loop.ko (build_loop_ko, cached by content),
// compared with the original's object code, booted in the kernel it was built
// for, and run through three stages until something kills it:
//   1. the conformance corpus, traces ordered so the likeliest killers run first
//      (those that killed most mutants of earlier waves, then the shortest);
//   2. a generated suite (loopcheck gen, seeded);
//   3. a bounded fuzz campaign (a fixed number of programs, seeded).
// Only traces that pass on the unmutated module count, and a fuzz finding counts
// only when the same campaign on the unmutated module did not find it: a model
// gap is not a kill. The first failing trace kills; later stages never run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mutants/mutant.h"
#include "mutants/source.h"
#include "trace/trace.h"

namespace loopcheck::mutants {

enum class Status : uint8_t { Killed, Survived, Equivalent, CompileError };
std::string_view status_name(Status s);

// What the killing check saw (issue #14: divergence, expectation failure, crash, hang).
enum class KillKind : uint8_t {
  None,
  Divergence,          // the module answered differently from the model
  ExpectationFailure,  // a written expectation of a corpus trace failed
  Crash,               // oops, panic, BUG, WARNING on the console, or the guest died
  Hang,                // a step got no answer within the step timeout
  BootFailure,         // the guest did not come up with the module (init failed)
};
std::string_view kill_kind_name(KillKind k);

enum class Stage : uint8_t { None, Corpus, Generated, Fuzz };
std::string_view stage_name(Stage s);

struct MutantResult {
  uint32_t id = 0;
  Status status = Status::Survived;
  KillKind kill = KillKind::None;
  Stage stage = Stage::None;
  std::string killer;      // the trace (path or gen-SEED-I) or the fuzz signature
  size_t killer_step = 0;  // 1-based
  size_t traces_run = 0;   // traces (and fuzz programs) run before the verdict
  std::string reason;      // equivalent: why; survivor: the hole; compile error: the first error
  double build_seconds = 0, run_seconds = 0;
  bool build_cached = false;
  bool reused = false;  // taken from an earlier run's report (RunnerOptions::previous)
};

struct NamedTrace {
  std::string name;  // corpus path relative to the corpus root, or gen-SEED-I
  Trace trace;
  size_t steps = 0;
};

struct RunnerOptions {
  std::string release = "6.1.0-56-cloud-amd64";
  std::string corpus_dir;  // corpus/conformance
  unsigned jobs = 1;       // mutants at once, one VM each
  uint64_t gen_seed = 1401, gen_count = 24;
  uint32_t gen_ops = 24;
  uint64_t fuzz_seed = 1402, fuzz_runs = 150;  // programs per campaign; 0: no fuzz stage
  // Survivors judged by reading loop.c, by describe(): equivalent ones (-> why
  // no caller can tell), and holes (-> what no corpus trace, generator or
  // model rule covers, and why it is not closed).
  std::map<std::string, std::string> equivalent, holes;
  // Verdicts of an earlier run (resume_key -> result), taken as they are.
  std::map<std::string, MutantResult> previous;
  bool rerun_survivors = false;  // the suites changed: survivors of `previous` run again
  std::vector<uint32_t> rerun;   // mutant ids never taken from `previous`
  // Corpus traces to run before all others (the traces added since `previous`,
  // which its survivors have not met yet).
  std::vector<std::string> first;
  std::function<void(const Mutant&, const MutantResult&, size_t done)> progress;
};

struct Baseline {
  std::string ko_path, code_digest;
  std::vector<NamedTrace> corpus, generated;  // those that pass on the original
  std::vector<std::string> excluded;          // traces that fail on the original, and why
  std::vector<std::string> fuzz_signatures;   // the original's fuzz findings
  double seconds = 0;
};

struct RunResult {
  Baseline baseline;
  std::vector<MutantResult> results;  // one per mutant, in mutant order
  std::map<std::string, size_t> kills_per_trace;
  double seconds = 0;
};

// The original module and its suites; false with `why` naming the fix.
bool prepare_baseline(const MutantSet& set, const RunnerOptions& options, Baseline* out,
                      std::string* why);

// Runs every mutant of `set.selected` against `baseline`.
RunResult run_mutants(const MutantSet& set, const RunnerOptions& options, Baseline baseline);

// The key equivalent-mutant annotations are stored under: describe() of the mutant.
std::string equivalence_key(const Mutant& m);

// What identifies a mutant across runs and samples: place, operator, replacement.
std::string resume_key(std::string_view function, uint32_t line, uint32_t column,
                       std::string_view op, std::string_view replacement);
std::string resume_key(const Mutant& m);

}  // namespace loopcheck::mutants
