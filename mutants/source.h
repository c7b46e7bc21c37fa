// The loop.c a mutation run starts from, parsed and mutated: what `mutants list`
// prints and `mutants run` runs.
#pragma once

#include <string>
#include <vector>

#include "mutants/generator.h"
#include "targets/vm/loop_ko_build.h"

namespace loopcheck::mutants {

struct MutantSet {
  vm::LoopSource source;
  ParsedSource parsed;
  std::vector<Mutant> all;         // every mutant the operators make
  std::vector<Mutant> selected;    // the sample a run analyses
  size_t skipped_unreachable = 0;  // tokens' mutants not made: unreachable functions
};

struct SetOptions {
  std::string release = "6.1.0-56-cloud-amd64";
  std::string source = "linux-source-6.1";
  std::string headers;   // empty: vm::headers_dir_for(release)
  size_t max_count = 0;  // 0: every mutant
  uint64_t seed = 1;
};

// Loads, parses and mutates; false with `why` naming the fix (no source package,
// no headers, a parse that found no functions).
bool make_mutant_set(const SetOptions& options, MutantSet* out, std::string* why);

// Mutants the same operators would make in unreachable functions (reported, not run).
size_t count_unreachable_mutants(const ParsedSource& parsed, std::string_view source);

}  // namespace loopcheck::mutants
