// The mutation report: report.json and report.md (deterministic: the same inputs
// give the same bytes), and timings.json (wall times, which no run repeats).
#pragma once

#include <nlohmann/json.hpp>
#include <map>
#include <string>

#include "mutants/runner.h"
#include "mutants/source.h"

namespace loopcheck::mutants {

struct ReportInputs {
  const MutantSet& set;
  const RunnerOptions& options;
  const RunResult& run;
  std::string command;  // the command line that reproduces it
};

nlohmann::ordered_json report_json(const ReportInputs& in);
std::string report_markdown(const ReportInputs& in);
nlohmann::ordered_json timings_json(const ReportInputs& in);

// Writes report.json, report.md and timings.json into `dir`; false with `why`.
bool write_report(const ReportInputs& in, const std::string& dir, std::string* why);

// One line of OUT/journal.jsonl, written as each mutant finishes (so a run that
// is stopped can be resumed): the mutant, its verdict and its times.
nlohmann::ordered_json journal_line(const Mutant& m, const MutantResult& r);

// The verdicts of the run whose report.json and timings.json are in `dir`, by
// resume_key(), and of its journal.jsonl (a run stopped before its report);
// false with `why` when neither can be read.
bool load_previous(const std::string& dir, std::map<std::string, MutantResult>* out,
                   std::string* why);

// Killed / (killed + survived): equivalent and not-compiling mutants do not count.
double mutation_score(size_t killed, size_t survived);

}  // namespace loopcheck::mutants
