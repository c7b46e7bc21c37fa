// Running a clang-built libFuzzer binary (fuzz/fuzz_inproc) as a subprocess for a
// time budget, and reading back what it did: its statistics, its coverage (edges),
// the corpus it grew and the crash inputs it saved. `loopcheck fuzz` is built with
// gcc and without coverage instrumentation, so libFuzzer's own engine runs in its
// own binary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loopcheck::fuzz {

struct LibFuzzerRun {
  std::string binary;
  std::string work_dir;                // gets corpus/, crash-* artifacts and logs
  std::vector<std::string> seed_dirs;  // read-only initial corpora
  std::string dict;                    // "" for none
  uint64_t seed = 1;
  unsigned seconds = 60;
  unsigned jobs = 1;   // plain libFuzzer processes on one corpus, each restarted after a crash
  size_t max_len = 0;  // 0: libFuzzer's default
};

struct LibFuzzerResult {
  bool ran = false;
  std::string error;  // why it could not run
  int exit_status = 0;
  uint64_t execs = 0;
  double execs_per_second = 0;  // execs over the run's wall-clock time
  uint64_t edges = 0;           // the last `cov:` libFuzzer printed (max over jobs)
  uint64_t features = 0;        // the last `ft:`
  std::string corpus_dir;
  std::vector<std::string> crashes;  // crash-*/leak-*/timeout-*/oom-* files, sorted
};

LibFuzzerResult run_libfuzzer(const LibFuzzerRun& run);

// What libFuzzer logs say: totals of `stat::number_of_executed_units`, sum of
// `stat::average_exec_per_sec`, the largest last `cov:`/`ft:` (public for tests).
void parse_libfuzzer_log(const std::string& text, LibFuzzerResult& into);

}  // namespace loopcheck::fuzz
