#include "mutants/report.h"

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>

namespace loopcheck::mutants {

double mutation_score(size_t killed, size_t survived) {
  return killed + survived ? double(killed) / double(killed + survived) : 0.0;
}

namespace {

struct Tally {
  size_t mutants = 0, killed = 0, survived = 0, equivalent = 0, compile_errors = 0;
  void add(Status s) {
    ++mutants;
    if (s == Status::Killed) ++killed;
    if (s == Status::Survived) ++survived;
    if (s == Status::Equivalent) ++equivalent;
    if (s == Status::CompileError) ++compile_errors;
  }
  double score() const { return mutation_score(killed, survived); }
  nlohmann::ordered_json json() const {
    return {{"mutants", mutants},
            {"killed", killed},
            {"survived", survived},
            {"equivalent", equivalent},
            {"compile_errors", compile_errors},
            {"score", std::round(score() * 10000) / 10000}};
  }
};

std::map<std::string, Tally> per_function(const ReportInputs& in) {
  std::map<std::string, Tally> t;
  for (size_t i = 0; i < in.run.results.size(); ++i)
    t[in.set.selected[i].function].add(in.run.results[i].status);
  return t;
}

Tally total(const ReportInputs& in) {
  Tally t;
  for (const MutantResult& r : in.run.results) t.add(r.status);
  return t;
}

nlohmann::ordered_json mutant_json(const ReportInputs& in, size_t i) {
  const Mutant& m = in.set.selected[i];
  const MutantResult& r = in.run.results[i];
  nlohmann::ordered_json j = {{"id", m.id},
                              {"operator", operator_name(m.op)},
                              {"function", m.function},
                              {"line", m.line},
                              {"column", m.column},
                              {"original", m.original},
                              {"replacement", m.replacement},
                              {"status", status_name(r.status)}};
  if (r.status == Status::Killed) {
    j["kill"] = kill_kind_name(r.kill);
    j["stage"] = stage_name(r.stage);
    j["killer"] = r.killer;
    j["killer_step"] = r.killer_step;
    j["traces_run"] = r.traces_run;
  }
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (r.status == Status::Survived || r.status == Status::Equivalent)
    j["diff"] = mutant_diff(in.set.source.loop_c, m, "drivers/block/loop.c");
  return j;
}

}  // namespace

nlohmann::ordered_json report_json(const ReportInputs& in) {
  nlohmann::ordered_json j;
  j["command"] = in.command;
  j["kernel"] = in.options.release;
  j["source"] = in.set.source.origin;
  j["mutants_generated"] = in.set.all.size();
  j["mutants_in_unreachable_functions"] = in.set.skipped_unreachable;
  j["mutants_analysed"] = in.set.selected.size();
  j["totals"] = total(in).json();
  std::array<Tally, kOperatorCount> ops;
  std::map<std::string, size_t> kinds, stages;
  for (size_t i = 0; i < in.run.results.size(); ++i) {
    ops[size_t(in.set.selected[i].op)].add(in.run.results[i].status);
    if (in.run.results[i].status != Status::Killed) continue;
    ++kinds[std::string(kill_kind_name(in.run.results[i].kill))];
    ++stages[std::string(stage_name(in.run.results[i].stage))];
  }
  for (int op = 0; op < kOperatorCount; ++op)
    j["per_operator"][std::string(operator_name(Operator(op)))] = ops[size_t(op)].json();
  j["kills_by_kind"] = kinds;
  j["kills_by_stage"] = stages;
  for (const auto& [name, t] : per_function(in)) j["per_function"][name] = t.json();
  const Baseline& b = in.run.baseline;
  j["baseline"] = {{"corpus_traces", b.corpus.size()},
                   {"generated_traces", b.generated.size()},
                   {"excluded", b.excluded},
                   {"fuzz_runs", in.options.fuzz_runs},
                   {"fuzz_findings_on_original", b.fuzz_signatures}};
  j["kills_per_trace"] = in.run.kills_per_trace;
  j["mutants"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < in.run.results.size(); ++i) j["mutants"].push_back(mutant_json(in, i));
  return j;
}

nlohmann::ordered_json timings_json(const ReportInputs& in) {
  nlohmann::ordered_json j;
  j["total_seconds"] = in.run.seconds;
  j["baseline_seconds"] = in.run.baseline.seconds;
  j["jobs"] = in.options.jobs;
  double build = 0, run = 0;
  for (const MutantResult& r : in.run.results) {
    build += r.build_seconds;
    run += r.run_seconds;
    j["mutants"].push_back({{"id", r.id},
                            {"status", status_name(r.status)},
                            {"build_seconds", r.build_seconds},
                            {"build_cached", r.build_cached},
                            {"run_seconds", r.run_seconds},
                            {"reused", r.reused}});
  }
  const double n = in.run.results.empty() ? 1.0 : double(in.run.results.size());
  j["mean_build_seconds"] = build / n;
  j["mean_run_seconds"] = run / n;
  j["wall_seconds_per_mutant"] = in.run.seconds / n;
  return j;
}

namespace {

std::string pct(double score) {
  return fmt::format("{:.1f}%", score * 100);
}

std::string tally_row(std::string_view name, const Tally& t) {
  return fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", name, t.mutants, t.killed,
                     t.survived, t.equivalent, t.compile_errors,
                     t.killed + t.survived ? pct(t.score()) : "—");
}

constexpr std::string_view kTallyHeader =
    "| {} | mutants | killed | survived | equivalent | not compiling | score |\n"
    "|---|---:|---:|---:|---:|---:|---:|\n";

std::string md_code(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\t' || c == '|') c = ' ';
  if (s.size() > 50) s = s.substr(0, 50) + "…";
  return "`" + s + "`";
}

void md_listing(const ReportInputs& in, Status status, std::string* out) {
  for (size_t i = 0; i < in.run.results.size(); ++i) {
    const MutantResult& r = in.run.results[i];
    if (r.status != status) continue;
    const Mutant& m = in.set.selected[i];
    *out += fmt::format("### #{} {}\n\n", m.id, describe(m));
    if (status == Status::Survived)
      *out += fmt::format("Hole: {}\n\n", r.reason.empty() ? "not judged yet" : r.reason);
    else if (!r.reason.empty())
      *out += fmt::format("Reason: {}\n\n", r.reason);
    *out += "```diff\n" + mutant_diff(in.set.source.loop_c, m, "drivers/block/loop.c") + "```\n\n";
  }
}

void md_killed(const ReportInputs& in, std::string* out) {
  *out +=
      "| # | function | line | operator | change | kill | stage | by | step | traces |\n"
      "|---:|---|---:|---|---|---|---|---|---:|---:|\n";
  for (size_t i = 0; i < in.run.results.size(); ++i) {
    const MutantResult& r = in.run.results[i];
    const Mutant& m = in.set.selected[i];
    if (r.status != Status::Killed) continue;
    *out += fmt::format("| {} | {} | {} | {} | {} → {} | {} | {} | {} | {} | {} |\n", m.id,
                        m.function, m.line, operator_name(m.op), md_code(m.original),
                        md_code(m.replacement), kill_kind_name(r.kill), stage_name(r.stage),
                        md_code(r.killer), r.killer_step, r.traces_run);
  }
}

}  // namespace

std::string report_markdown(const ReportInputs& in) {
  const Tally t = total(in);
  std::string s = fmt::format(
      "# Mutation analysis of drivers/block/loop.c ({})\n\n"
      "Reproduce: `{}`\n\nSource: {}. {} mutants generated in reachable functions ({} more in "
      "unreachable ones, not run); {} analysed. Score = killed / (killed + survived): "
      "**{}** ({} killed, {} survived, {} equivalent, {} not compiling).\n\n"
      "Baseline (unmutated module): {} corpus traces and {} generated traces pass; {} fuzz "
      "programs per campaign, {} findings on the original (not kills).\n\n",
      in.options.release, in.command, in.set.source.origin, in.set.all.size(),
      in.set.skipped_unreachable, in.set.selected.size(), pct(t.score()), t.killed, t.survived,
      t.equivalent, t.compile_errors, in.run.baseline.corpus.size(),
      in.run.baseline.generated.size(), in.options.fuzz_runs,
      in.run.baseline.fuzz_signatures.size());
  for (const std::string& e : in.run.baseline.excluded) s += "- excluded: " + e + "\n";
  s += "\n## Per operator\n\n" + fmt::format(fmt::runtime(kTallyHeader), "operator");
  std::array<Tally, kOperatorCount> ops;
  for (size_t i = 0; i < in.run.results.size(); ++i)
    ops[size_t(in.set.selected[i].op)].add(in.run.results[i].status);
  for (int op = 0; op < kOperatorCount; ++op)
    s += tally_row(operator_name(Operator(op)), ops[size_t(op)]);
  s += tally_row("**all**", t);
  s += "\n## Per function\n\n" + fmt::format(fmt::runtime(kTallyHeader), "function");
  for (const auto& [name, ft] : per_function(in)) s += tally_row(name, ft);
  s += "\n## Surviving mutants\n\n";
  md_listing(in, Status::Survived, &s);
  s += "## Equivalent mutants\n\n";
  md_listing(in, Status::Equivalent, &s);
  s += "## Mutants that do not compile\n\n";
  for (size_t i = 0; i < in.run.results.size(); ++i)
    if (in.run.results[i].status == Status::CompileError)
      s += fmt::format("- #{} {}: {}\n", in.set.selected[i].id, describe(in.set.selected[i]),
                       md_code(in.run.results[i].reason));
  s += "\n## Killed mutants\n\n";
  md_killed(in, &s);
  return s;
}

bool write_report(const ReportInputs& in, const std::string& dir, std::string* why) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::array<std::pair<const char*, std::string>, 3> files = {{
      {"report.json", report_json(in).dump(2) + "\n"},
      {"report.md", report_markdown(in)},
      {"timings.json", timings_json(in).dump(2) + "\n"},
  }};
  for (const auto& [name, text] : files) {
    std::ofstream f(fs::path(dir) / name, std::ios::binary | std::ios::trunc);
    if (!(f << text) || !f.flush()) {
      *why = fmt::format("cannot write {}/{}", dir, name);
      return false;
    }
  }
  return true;
}

}  // namespace loopcheck::mutants

namespace loopcheck::mutants {
namespace {

template <typename E, typename F>
E enum_named(std::string_view name, int count, F name_of) {
  for (int i = 0; i < count; ++i)
    if (name_of(E(i)) == name) return E(i);
  return E(0);
}

MutantResult result_from_json(const nlohmann::json& m) {
  MutantResult r;
  r.id = m.value("id", 0u);
  r.status = enum_named<Status>(m.value("status", ""), 4, status_name);
  r.kill = enum_named<KillKind>(m.value("kill", ""), 6, kill_kind_name);
  r.stage = enum_named<Stage>(m.value("stage", ""), 4, stage_name);
  r.killer = m.value("killer", "");
  r.killer_step = m.value("killer_step", size_t(0));
  r.traces_run = m.value("traces_run", size_t(0));
  r.reason = m.value("reason", "");
  return r;
}

std::string key_of(const nlohmann::json& m) {
  return resume_key(m.value("function", ""), m.value("line", 0u), m.value("column", 0u),
                    m.value("operator", ""), m.value("replacement", ""));
}

// journal.jsonl: one mutant per line, times included.
size_t load_journal(const std::string& path, std::map<std::string, MutantResult>* out) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json m = nlohmann::json::parse(line, nullptr, false);
    if (m.is_discarded() || !m.is_object()) continue;  // a line cut short by a kill
    MutantResult r = result_from_json(m);
    r.build_seconds = m.value("build_seconds", 0.0);
    r.run_seconds = m.value("run_seconds", 0.0);
    r.build_cached = m.value("build_cached", false);
    (*out)[key_of(m)] = r;
    ++n;
  }
  return n;
}

}  // namespace

nlohmann::ordered_json journal_line(const Mutant& m, const MutantResult& r) {
  nlohmann::ordered_json j = {{"id", m.id},
                              {"operator", operator_name(m.op)},
                              {"function", m.function},
                              {"line", m.line},
                              {"column", m.column},
                              {"replacement", m.replacement},
                              {"status", status_name(r.status)},
                              {"kill", kill_kind_name(r.kill)},
                              {"stage", stage_name(r.stage)},
                              {"killer", r.killer},
                              {"killer_step", r.killer_step},
                              {"traces_run", r.traces_run},
                              {"reason", r.reason},
                              {"build_seconds", r.build_seconds},
                              {"run_seconds", r.run_seconds},
                              {"build_cached", r.build_cached}};
  return j;
}

bool load_previous(const std::string& dir, std::map<std::string, MutantResult>* out,
                   std::string* why) {
  std::ifstream report(dir + "/report.json"), timings(dir + "/timings.json");
  nlohmann::json r = nlohmann::json::parse(report, nullptr, false);
  nlohmann::json t = nlohmann::json::parse(timings, nullptr, false);
  const size_t journaled = load_journal(dir + "/journal.jsonl", out);
  if (r.is_discarded() || !r.contains("mutants")) {
    if (journaled) return true;
    *why = dir +
           "/report.json: missing or not a mutants report (run `loopcheck mutants run "
           "--out " +
           dir + "` first)";
    return false;
  }
  std::map<uint32_t, nlohmann::json> times;
  if (!t.is_discarded() && t.contains("mutants"))
    for (const nlohmann::json& m : t["mutants"]) times[m.value("id", 0u)] = m;
  for (const nlohmann::json& m : r["mutants"]) {
    MutantResult result = result_from_json(m);
    if (auto it = times.find(result.id); it != times.end()) {
      result.build_seconds = it->second.value("build_seconds", 0.0);
      result.run_seconds = it->second.value("run_seconds", 0.0);
      result.build_cached = it->second.value("build_cached", false);
    }
    (*out)[key_of(m)] = result;
  }
  return true;
}

}  // namespace loopcheck::mutants
