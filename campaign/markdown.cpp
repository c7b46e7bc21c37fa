#include "campaign/markdown.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "campaign/files.h"

namespace loopcheck::campaign {
namespace {

using Json = nlohmann::ordered_json;

std::string fenced(std::string_view language, std::string text) {
  if (!text.empty() && text.back() != '\n') text += '\n';
  return fmt::format("```{}\n{}```\n", language, text);
}

std::string finding_section(const Json& f, const std::filesystem::path& out_dir) {
  std::string out = fmt::format("### {} — {}\n\n", f.value("id", ""), f.value("status", ""));
  out += fmt::format("- signature: `{}`\n- first seen: {}\n- {} statements",
                     f.value("signature", ""), f.value("first_seen", ""), f.value("statements", 0));
  if (!f.value("mutations", "").empty())
    out += fmt::format("; mutations: {}", f.value("mutations", ""));
  out += "\n";
  if (!f.value("note", "").empty()) out += fmt::format("- note: {}\n", f.value("note", ""));
  out += "\nMinimized trace:\n\n" + fenced("", f.value("trace_text", "")) + "\n";
  const Json& triage = f["triage"];
  if (triage.is_object() && triage["file"].is_string()) {
    out += "Triage:\n\n" + read_text(out_dir / triage["file"].get<std::string>()) + "\n";
  } else {
    out += "Triage: not triaged (no `triage_kernels` in the config).\n\n";
  }
  if (f["reproducer"].is_string()) {
    out += fmt::format("Reproducer (`{}`):\n\n", f["reproducer"].get<std::string>());
    out += fenced("c", read_text(out_dir / f["reproducer"].get<std::string>())) + "\n";
  }
  return out;
}

std::string findings_part(const Json& summary, const std::filesystem::path& out_dir) {
  const Json& by_status = summary["totals"]["findings"];
  std::string out = fmt::format("## Findings: {} new, {} still open, {} flaky, {} fixed\n\n",
                                by_status.value("new", 0), by_status.value("open", 0),
                                by_status.value("flaky", 0), by_status.value("fixed", 0));
  for (const Json& f : summary["findings"]) {
    if (f.value("status", "") == "new") out += finding_section(f, out_dir);
  }
  for (std::string_view status : {"open", "flaky", "fixed"}) {
    bool any = false;
    for (const Json& f : summary["findings"]) {
      if (f.value("status", "") != status) continue;
      if (!any) out += fmt::format("{} findings:\n\n", status);
      any = true;
      out += fmt::format("- `{}` (first seen {}): `{}`{}\n", f.value("id", ""),
                         f.value("first_seen", ""), f.value("signature", ""),
                         f.value("note", "").empty() ? "" : " — " + f.value("note", ""));
    }
    if (any) out += "\n";
  }
  return out;
}

std::string stages_part(const Json& summary) {
  std::string out =
      "## Stages\n\n| task | status | detail | seconds | budget | throughput |\n"
      "|---|---|---|---:|---:|---:|\n";
  for (const Json& s : summary["stages"]) {
    const Json& t = s["timing"];
    std::string throughput;
    if (t.contains("execs_per_second"))
      throughput = fmt::format("{:.0f} execs/s", t["execs_per_second"].get<double>());
    std::string detail = s.value("detail", "");
    for (char& c : detail) c = (c == '\n' || c == '|') ? ' ' : c;
    out += fmt::format("| {} | {}{} | {} | {:.1f} | {:.0f} | {} |\n", s.value("id", ""),
                       s.value("status", ""), s.value("retried", false) ? " (retried)" : "", detail,
                       t.value("seconds", 0.0), t.value("budget_seconds", 0.0), throughput);
  }
  return out + "\n";
}

std::string diff_part(const Json& summary) {
  const Json& history = summary["history"];
  if (history.size() < 2) return "No previous night to compare with.\n";
  const Json& before = history[history.size() - 2];
  const Json& now = history.back();
  auto delta = [&](const char* key) {
    const long long d = now.value(key, 0LL) - before.value(key, 0LL);
    return fmt::format("{} ({}{})", now.value(key, 0LL), d >= 0 ? "+" : "", d);
  };
  return fmt::format(
      "## Against {} ({})\n\nopen findings {}, failed traces {}, model pairs {}, execs {}\n",
      before.value("night", ""),
      summary["campaign"]["previous"].is_string()
          ? summary["campaign"]["previous"].get<std::string>()
          : "history",
      delta("findings_open"), delta("traces_failed"), delta("model_pairs"), delta("execs"));
}

}  // namespace

std::string render_markdown(const Json& summary, const std::filesystem::path& out_dir) {
  const Json& c = summary["campaign"];
  const Json& t = summary["totals"];
  std::string out =
      fmt::format("# loopcheck campaign {} — {}\n\n", c.value("name", ""), c.value("night", ""));
  out += fmt::format(
      "{} tasks: {} ok, {} failed, {} could not run, {} skipped ({} retried). Conformance: {} "
      "traces, {} failed. loopcheck {}; results digest {}.\n\n",
      t.value("tasks", 0), t.value("tasks_ok", 0), t.value("tasks_failed", 0),
      t.value("tasks_error", 0), t.value("tasks_skipped", 0), t.value("tasks_retried", 0),
      t.value("traces", 0), t.value("traces_failed", 0), c.value("loopcheck", ""),
      summary.value("results_digest", ""));
  out += findings_part(summary, out_dir);
  out += stages_part(summary);
  out += diff_part(summary);
  return out;
}

}  // namespace loopcheck::campaign
