#include "campaign/findings_stage.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>

#include "campaign/child_process.h"
#include "campaign/files.h"
#include "campaign/finding_fates.h"
#include "fuzz/findings.h"

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;

constexpr double kChildBudgetSeconds = 900;

// "inproc/finding-0123456789abcdef" for OUT/findings/inproc/finding-0123456789abcdef.trace.
std::string finding_id(const fs::path& trace) {
  return trace.parent_path().filename().string() + "/" + trace.stem().string();
}

fs::path trace_path(const fs::path& out_dir, const std::string& id) {
  return out_dir / "findings" / (id + ".trace");
}

// Tonight's finding traces, copied into OUT/findings/: the first task (in plan
// order) that stored an id wins, as in a run that never sharded.
std::vector<KnownFinding> gather_tonight(const FindingsStageInput& in) {
  std::map<std::string, KnownFinding> found;
  for (const fs::path& dir : in.task_findings_dirs) {
    std::error_code ec;
    std::vector<fs::path> traces;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->path().extension() == ".trace") traces.push_back(it->path());
    }
    std::sort(traces.begin(), traces.end());
    for (const fs::path& t : traces) {
      const std::string id = finding_id(t);
      if (found.contains(id)) continue;
      const std::string text = read_text(t);
      found[id] = KnownFinding{
          id, fuzz::header_value(text, "# signature: ").value_or(""), {}, FindingStatus::New, {}};
      fs::create_directories(trace_path(in.out_dir, id).parent_path());
      fuzz::write_finding_file(trace_path(in.out_dir, id).string(), text);
    }
  }
  std::vector<KnownFinding> out;
  for (auto& [id, f] : found) out.push_back(std::move(f));
  return out;
}

std::vector<KnownFinding> previous_findings(const nlohmann::json& summary) {
  std::vector<KnownFinding> out;
  if (!summary.is_object() || !summary.contains("findings")) return out;
  for (const nlohmann::json& f : summary["findings"]) {
    KnownFinding k{f.value("id", ""),
                   f.value("signature", ""),
                   f.value("first_seen", ""),
                   FindingStatus::Open,
                   {}};
    finding_status_from_name(f.value("status", "open"), &k.status);
    if (!k.id.empty()) out.push_back(std::move(k));
  }
  return out;
}

// Copies a previous night's file for `id` (trace, .c, .triage.md) into tonight's folder.
void carry_files(const FindingsStageInput& in, const std::string& id) {
  for (std::string_view ext : {".trace", ".c", ".triage.md"}) {
    const fs::path from = in.previous_dir / "findings" / (id + std::string(ext));
    const fs::path to = in.out_dir / "findings" / (id + std::string(ext));
    std::error_code ec;
    if (!fs::exists(from, ec) || fs::exists(to, ec)) continue;
    fs::create_directories(to.parent_path(), ec);
    fuzz::write_finding_file(to.string(), read_text(from));
  }
}

Rerun rerun_finding(const FindingsStageInput& in, const KnownFinding& f, bool from_previous,
                    size_t* reruns) {
  if (from_previous) carry_files(in, f.id);
  const fs::path trace = trace_path(in.out_dir, f.id);
  std::error_code ec;
  if (!fs::exists(trace, ec)) return Rerun::CouldNotRun;
  ++*reruns;
  const fs::path log = in.out_dir / "findings" / (f.id + ".rerun.log");
  const ChildRun run = run_child({in.loopcheck, "findings", "check", trace.string()}, log,
                                 log.string() + ".stderr", kChildBudgetSeconds);
  const std::string output = read_text(log);
  fs::remove(log.string() + ".stderr", ec);
  if (run.exit_code == 0) return Rerun::Reproduces;
  if (run.exit_code == 1 && output.find("NO LONGER REPRODUCES") != std::string::npos)
    return Rerun::Gone;
  return Rerun::CouldNotRun;
}

// Writes `id`'s EXT file from `loopcheck ARGS... TRACE` unless it exists; the
// file is kept only when the command succeeded.
bool derive_file(const FindingsStageInput& in, const std::string& id, std::string_view ext,
                 std::vector<std::string> args) {
  const fs::path file = in.out_dir / "findings" / (id + std::string(ext));
  std::error_code ec;
  if (fs::exists(file, ec)) return true;
  const fs::path partial = file.string() + ".partial";
  args.insert(args.begin(), in.loopcheck);
  args.push_back(trace_path(in.out_dir, id).string());
  const ChildRun run = run_child(args, partial, file.string() + ".log", kChildBudgetSeconds);
  if (run.exit_code != 0 && !(ext == ".triage.md" && run.exit_code == 1)) {
    fs::remove(partial, ec);
    return false;
  }
  fs::rename(partial, file, ec);
  fs::remove(file.string() + ".log", ec);
  return !ec;
}

size_t statement_count(const std::string& text) {
  size_t n = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    const size_t first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos && line[first] != '#' && line[first] != '@') ++n;
    at = end + 1;
  }
  return n;
}

// The triage table's last line that says where behaviour changed, or its last line.
std::string triage_summary(const fs::path& file) {
  const std::string text = read_text(file);
  std::string last, change;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.front() != '|') last = line;
    if (line.find("change") != std::string::npos && line.front() != '|') change = line;
    at = end + 1;
  }
  return change.empty() ? last : change;
}

nlohmann::ordered_json finding_json(const FindingsStageInput& in, const KnownFinding& f) {
  const std::string rel = "findings/" + f.id;
  const std::string text = read_text(trace_path(in.out_dir, f.id));
  std::error_code ec;
  const bool has_c = fs::exists(in.out_dir / (rel + ".c"), ec);
  const bool has_triage = fs::exists(in.out_dir / (rel + ".triage.md"), ec);
  nlohmann::ordered_json j;
  j["id"] = f.id;
  j["target"] = f.id.substr(0, f.id.rfind('/'));
  j["signature"] = f.signature;
  j["status"] = finding_status_name(f.status);
  j["first_seen"] = f.first_seen;
  j["note"] = f.note;
  j["statements"] = statement_count(text);
  j["trace"] = rel + ".trace";
  j["trace_text"] = text;
  j["reproducer"] = has_c ? nlohmann::ordered_json(rel + ".c") : nlohmann::ordered_json();
  j["triage"] = {
      {"file", has_triage ? nlohmann::ordered_json(rel + ".triage.md") : nlohmann::ordered_json()},
      {"summary", has_triage ? triage_summary(in.out_dir / (rel + ".triage.md"))
                             : std::string("not triaged")}};
  j["mutations"] = fuzz::header_value(text, "# mutations: ").value_or("");
  j["page"] = rel + ".html";
  return j;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ",") + w;
  return out;
}

}  // namespace

FindingsStageResult run_findings_stage(const FindingsStageInput& in) {
  const auto started = std::chrono::steady_clock::now();
  FindingsStageResult result;
  NightFindings night{gather_tonight(in), previous_findings(in.previous_summary)};
  const std::vector<KnownFinding> fates =
      decide_fates(night, in.night, [&](const KnownFinding& f, bool from_previous) {
        if (in.say)
          in.say(fmt::format("findings: rerunning {}{}", f.id,
                             from_previous ? " (reported before, not found tonight)" : ""));
        return rerun_finding(in, f, from_previous, &result.reruns);
      });
  for (size_t i = 0; i < fates.size(); ++i) {
    const KnownFinding& f = fates[i];
    if (in.say)
      in.say(fmt::format("findings [{}/{}] {}: {}{}", i + 1, fates.size(), f.id,
                         finding_status_name(f.status), f.note.empty() ? "" : " (" + f.note + ")"));
    if (f.status != FindingStatus::Fixed && f.status != FindingStatus::Flaky) {
      if (in.config.reproducers) derive_file(in, f.id, ".c", {"repro"});
      if (!in.triage_kernels.empty())
        derive_file(in, f.id, ".triage.md", {"triage", "--kernels", joined(in.triage_kernels)});
    }
    result.findings.push_back(finding_json(in, f));
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace loopcheck::campaign
