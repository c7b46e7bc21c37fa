#include "campaign/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <vector>

#include "campaign/files.h"
#include "campaign/svg_plot.h"

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using Out = std::back_insert_iterator<std::string>;

// ---- reading the summary: a missing or mistyped field renders as blank, never throws,
// so that a report of a half-finished campaign still shows what there is.

const json& null_json() {
  static const json null;
  return null;
}

const json& at(const json& j, const char* key) {
  if (!j.is_object()) return null_json();
  const auto it = j.find(key);
  return it == j.end() ? null_json() : *it;
}

const json& items(const json& j, const char* key) {
  static const json empty = json::array();
  const json& v = at(j, key);
  return v.is_array() ? v : empty;
}

std::optional<double> number(const json& v) {
  if (!v.is_number()) return std::nullopt;
  const double d = v.get<double>();
  return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

// "1,234,567" from "1234567" or "-1234567".
std::string grouped(std::string_view digits) {
  std::string out;
  if (digits.starts_with('-')) out += '-', digits.remove_prefix(1);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string grouped(double v) {
  if (std::fabs(v) < 0.5) v = 0;  // no "-0"
  return grouped(fmt::format("{:.0f}", v));
}

// Counts with thousands separators, rates and seconds with one decimal. Integers
// are printed from their own type: a 64-bit seed is not a double.
std::string text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_unsigned()) return grouped(std::to_string(v.get<uint64_t>()));
  if (v.is_number_integer()) return grouped(std::to_string(v.get<int64_t>()));
  if (const auto d = number(v))
    return *d == std::floor(*d) ? grouped(*d) : fmt::format("{:.1f}", *d);
  return "";
}

std::string esc(const json& v) {
  return xml_escape(text(v));
}

// An identifier such as a seed, copied into a command line: no separators.
std::string plain(const json& v) {
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return text(v);
}

// The campaign's fuzz seeds, "1, 2, 3".
std::string seeds_text(const json& seeds) {
  std::string out;
  if (!seeds.is_array()) return plain(seeds);
  for (const json& seed : seeds) out += (out.empty() ? "" : ", ") + plain(seed);
  return out;
}

std::string rate(const json& v, std::string_view unit) {
  const auto d = number(v);
  if (!d) return "";
  const std::string value = *d >= 100 ? grouped(*d) : fmt::format("{:.1f}", *d);
  return unit.empty() ? value : value + " " + std::string(unit);
}

// ---- links

std::string percent_encode(std::string_view path) {
  std::string out;
  for (const char c : path) {
    const bool plain = std::isalnum(uint8_t(c)) || std::strchr("-._~/", c) != nullptr;
    out += plain && c != '\0' ? std::string(1, c) : fmt::format("%{:02X}", uint8_t(c));
  }
  return out;
}

std::string link(std::string_view href, std::string_view label) {
  return fmt::format("<a href=\"{}\">{}</a>", xml_escape(href), xml_escape(label));
}

// ---- badges: a status from the summary picks a class only from a fixed set.

std::string_view status_class(std::string_view status) {
  static constexpr std::array<std::string_view, 12> kKnown = {"new",  "open",   "flaky", "fixed",
                                                              "ok",   "failed", "error", "skipped",
                                                              "pass", "hedged", "fail",  "skip"};
  for (std::string_view k : kKnown)
    if (k == status) return k;
  return "other";
}

std::string badge(const json& status) {
  const std::string s = text(status);
  return fmt::format("<span class=\"badge b-{}\">{}</span>", status_class(s), xml_escape(s));
}

constexpr std::string_view kStyle = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
  max-width: 1240px; padding: 12px 20px 40px; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
a { color: #0b5cad; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
pre { background: #fff; border: 1px solid #ddd; padding: 8px; overflow-x: auto; }
.meta { color: #555; font-size: 13px; margin: 2px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 6px 12px; }
.card b { display: block; font-size: 18px; }
.card span { color: #555; font-size: 12px; }
.badge { display: inline-block; border-radius: 9px; padding: 0 8px; font-size: 12px;
  color: #fff; background: #777; white-space: nowrap; }
.b-new, .b-failed, .b-fail { background: #c62828; }
.b-open { background: #e65100; }
.b-flaky, .b-hedged { background: #8e24aa; }
.b-fixed, .b-ok, .b-pass { background: #2e7d32; }
.b-error { background: #6d1b1b; }
.b-skipped, .b-skip { background: #9e9e9e; }
.verdict { font-weight: bold; padding: 6px 10px; border-radius: 6px; display: inline-block; }
.verdict.clean { background: #e8f5e9; color: #1b5e20; }
.verdict.attention { background: #ffebee; color: #b71c1c; }
.empty { color: #555; font-style: italic; }
table.matrix td.cell { width: 22px; text-align: center; padding: 1px; font-size: 12px; }
table.matrix th.target { font-size: 11px; font-weight: normal; white-space: nowrap;
  writing-mode: vertical-rl; transform: rotate(180deg); padding: 6px 2px; text-align: left; }
td.nowrap { white-space: nowrap; }
.c-pass { background: #c8e6c9; } .c-hedged { background: #fff59d; }
.c-fail { background: #ef9a9a; font-weight: bold; } .c-skip { background: #e0e0e0; }
.c-none { background: #fff; color: #999; } .c-other { background: #b3e5fc; }
.legend span.cell { display: inline-block; width: 20px; text-align: center;
  border: 1px solid #ccc; margin: 0 3px 0 10px; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
svg.plot { border: 1px solid #ddd; background: #fff; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 4px 14px; }
dl.facts dt { color: #555; } dl.facts dd { margin: 0; }
.triage { white-space: pre-wrap; }
)css";

void page_head(Out out, std::string_view title) {
  fmt::format_to(out,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
                 xml_escape(title), kStyle);
}

constexpr std::string_view kPageFoot = "</body>\n</html>\n";

std::string campaign_title(const json& summary) {
  const json& c = at(summary, "campaign");
  std::string name = text(at(c, "name"));
  const std::string night = text(at(c, "night"));
  if (name.empty()) name = "campaign";
  return night.empty() ? name : name + " " + night;
}

// ---- index.html: header

void card(Out out, const json& value, std::string_view label) {
  fmt::format_to(out, "<div class=\"card\"><b>{}</b><span>{}</span></div>\n",
                 value.is_null() ? "&ndash;" : esc(value), xml_escape(label));
}

std::string verdict(const json& totals) {
  const json& f = at(totals, "findings");
  const double new_findings = number(at(f, "new")).value_or(0);
  const double errors = number(at(totals, "tasks_error")).value_or(0);
  const double failed = number(at(totals, "traces_failed")).value_or(0);
  if (new_findings + errors + failed > 0) {
    return fmt::format(
        "<p class=\"verdict attention\">needs attention: {} new finding(s), {} failed "
        "trace(s), {} task error(s)</p>\n",
        grouped(new_findings), grouped(failed), grouped(errors));
  }
  return "<p class=\"verdict clean\">clean: no new finding, no failed trace, no task error</p>\n";
}

void index_header(Out out, const json& summary) {
  const json& c = at(summary, "campaign");
  const json& totals = at(summary, "totals");
  fmt::format_to(out, "<header id=\"summary\">\n<h1>loopcheck campaign {}</h1>\n",
                 xml_escape(campaign_title(summary)));
  fmt::format_to(out, "<p class=\"meta\">night {} &middot; fuzz seeds {} &middot; loopcheck {}",
                 esc(at(c, "night")), xml_escape(seeds_text(at(c, "seeds"))),
                 esc(at(c, "loopcheck")));
  if (at(c, "config").is_string())
    fmt::format_to(out, " &middot; {}", link(percent_encode(text(at(c, "config"))), "config"));
  if (at(c, "previous").is_string() && !text(at(c, "previous")).empty())
    fmt::format_to(out, " &middot; {}",
                   link(percent_encode(text(at(c, "previous")) + "/index.html"), "previous night"));
  fmt::format_to(out, "</p>\n<p class=\"meta\">results digest <code>{}</code></p>\n",
                 esc(at(summary, "results_digest")));
  fmt::format_to(out, "{}", verdict(totals));
  const json& f = at(totals, "findings");
  const json& steps = at(totals, "steps");
  fmt::format_to(out, "<div class=\"cards\">\n");
  card(out, at(f, "new"), "new findings");
  card(out, at(f, "open"), "open findings");
  card(out, at(f, "flaky"), "flaky findings");
  card(out, at(f, "fixed"), "fixed findings");
  card(out, at(totals, "tasks_ok"), fmt::format("of {} tasks ok", text(at(totals, "tasks"))));
  card(out, at(totals, "tasks_failed"), "tasks failed");
  card(out, at(totals, "tasks_error"), "task errors");
  card(out, at(totals, "tasks_retried"), "tasks retried");
  card(out, at(totals, "traces"), "traces");
  card(out, at(totals, "traces_failed"), "traces failed");
  for (const char* kind : {"exact", "envelope", "unchecked", "skipped", "diverged"})
    card(out, at(steps, kind), fmt::format("steps {}", kind));
  fmt::format_to(out, "</div>\n</header>\n");
}

// ---- index.html: findings

int finding_rank(const json& finding) {
  static constexpr std::array<std::string_view, 4> kOrder = {"new", "open", "flaky", "fixed"};
  const std::string status = text(at(finding, "status"));
  const auto it = std::find(kOrder.begin(), kOrder.end(), status);
  return int(it - kOrder.begin());  // unknown statuses last
}

void findings_section(Out out, const json& summary) {
  std::vector<const json*> findings;
  for (const json& f : items(summary, "findings")) findings.push_back(&f);
  // New first: they are what the night is read for; fixed last.
  std::stable_sort(findings.begin(), findings.end(), [](const json* a, const json* b) {
    return finding_rank(*a) < finding_rank(*b);
  });
  fmt::format_to(out, "<section id=\"findings\">\n<h2>Findings ({})</h2>\n", findings.size());
  if (findings.empty()) {
    fmt::format_to(out, "<p class=\"empty\">no findings</p>\n</section>\n");
    return;
  }
  fmt::format_to(
      out,
      "<table class=\"findings\">\n<thead><tr><th>id</th><th>target</th><th>status</th>"
      "<th>first seen</th><th>statements</th><th>signature</th></tr></thead>\n<tbody>\n");
  for (const json* f : findings) {
    const std::string id = text(at(*f, "id")), page = text(at(*f, "page"));
    fmt::format_to(
        out,
        "<tr class=\"finding\"><td>{}</td><td>{}</td><td>{}</td><td class=\"nowrap\">{}</td>"
        "<td class=\"num\">{}</td><td><code>{}</code></td></tr>\n",
        page.empty() ? xml_escape(id) : link(percent_encode(page), id), esc(at(*f, "target")),
        badge(at(*f, "status")), esc(at(*f, "first_seen")), esc(at(*f, "statements")),
        esc(at(*f, "signature")));
  }
  fmt::format_to(out, "</tbody>\n</table>\n</section>\n");
}

// ---- index.html: stages

std::string stage_time(const json& timing) {
  const auto seconds = number(at(timing, "seconds"));
  const auto budget = number(at(timing, "budget_seconds"));
  if (!seconds) return "";
  std::string s = fmt::format("{:.1f} s", *seconds);
  if (budget) s += " / " + grouped(*budget) + " s";
  return s;
}

// A stage's rate: summary.json keeps it under "timing" (it is not a result).
std::string stage_throughput(const json& stage) {
  for (const json* where : {&at(stage, "timing"), &at(stage, "figures")}) {
    if (number(at(*where, "execs_per_second")))
      return rate(at(*where, "execs_per_second"), "execs/s");
    if (number(at(*where, "states_per_second")))
      return rate(at(*where, "states_per_second"), "states/s");
  }
  return "";
}

void stages_section(Out out, const json& summary) {
  const json& stages = items(summary, "stages");
  fmt::format_to(out, "<section id=\"stages\">\n<h2>Stages ({})</h2>\n", stages.size());
  if (stages.empty()) {
    fmt::format_to(out, "<p class=\"empty\">no stages ran</p>\n</section>\n");
    return;
  }
  fmt::format_to(out,
                 "<table class=\"stages\">\n<thead><tr><th>task</th><th>stage</th><th>target</th>"
                 "<th>status</th><th>detail</th><th>seconds / budget</th><th>throughput</th>"
                 "</tr></thead>\n<tbody>\n");
  for (const json& s : stages) {
    const std::string id = text(at(s, "id")), log = text(at(s, "log"));
    const bool retried = at(s, "retried").is_boolean() && at(s, "retried").get<bool>();
    fmt::format_to(out,
                   "<tr class=\"stage\"><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td>"
                   "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                   log.empty() ? xml_escape(id) : link(percent_encode(log), id),
                   esc(at(s, "stage")), esc(at(s, "target")), badge(at(s, "status")),
                   retried ? " <span class=\"badge\">retried</span>" : "", esc(at(s, "detail")),
                   xml_escape(stage_time(at(s, "timing"))), xml_escape(stage_throughput(s)));
  }
  fmt::format_to(out, "</tbody>\n</table>\n</section>\n");
}

// ---- index.html: the conformance matrix

std::string_view cell_symbol(std::string_view cell) {
  if (cell == "pass") return "&#10003;";
  if (cell == "hedged") return "&#8776;";
  if (cell == "fail") return "&#10007;";
  if (cell == "skip") return "&ndash;";
  if (cell == "none") return "";
  return "?";
}

std::string_view cell_class(std::string_view cell) {
  for (std::string_view k : {"pass", "hedged", "fail", "skip", "none"})
    if (k == cell) return k;
  return "other";
}

void matrix_head(Out out, const json& targets) {
  fmt::format_to(out, "<table class=\"matrix\">\n<thead><tr><th>trace</th>");
  for (const json& t : targets) fmt::format_to(out, "<th class=\"target\">{}</th>", esc(t));
  fmt::format_to(out, "</tr></thead>\n<tbody>\n");
}

void matrix_row(Out out, const json& row, const json& targets) {
  const std::string trace = text(at(row, "trace"));
  const json& cells = items(row, "cells");
  fmt::format_to(out, "<tr><td><code>{}</code></td>", xml_escape(trace));
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string cell = i < cells.size() ? text(cells[i]) : "none";
    const std::string tip = fmt::format("{} on {}: {}", trace, text(targets[i]), cell);
    fmt::format_to(out, "<td class=\"cell c-{}\" title=\"{}\">{}</td>", cell_class(cell),
                   xml_escape(tip), cell_symbol(cell));
  }
  fmt::format_to(out, "</tr>\n");
}

bool all_pass(const json& row, size_t targets) {
  const json& cells = items(row, "cells");
  if (cells.empty() || cells.size() < targets) return false;
  return std::all_of(cells.begin(), cells.end(), [](const json& c) { return text(c) == "pass"; });
}

void matrix_legend(Out out) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kMeaning = {{
      {"pass", "every step exact"},
      {"hedged", "passed, some step within an envelope or unchecked"},
      {"fail", "failed"},
      {"skip", "not applicable or skipped there"},
      {"none", "not run there"},
  }};
  fmt::format_to(out, "<p class=\"legend\">");
  for (const auto& [kind, meaning] : kMeaning) {
    fmt::format_to(out, "<span class=\"cell c-{0}\">{1}</span>{0}: {2}", kind, cell_symbol(kind),
                   meaning);
  }
  fmt::format_to(out, "</p>\n");
}

void matrix_section(Out out, const json& summary) {
  const json& matrix = at(summary, "matrix");
  const json& targets = items(matrix, "targets");
  std::vector<const json*> shown, passed;
  for (const json& r : items(matrix, "rows"))
    (all_pass(r, targets.size()) ? passed : shown).push_back(&r);
  fmt::format_to(out, "<section id=\"matrix\">\n<h2>Conformance: trace &times; target</h2>\n");
  if (shown.empty() && passed.empty()) {
    fmt::format_to(out, "<p class=\"empty\">no conformance results</p>\n</section>\n");
    return;
  }
  matrix_legend(out);
  if (!shown.empty()) {
    matrix_head(out, targets);
    for (const json* r : shown) matrix_row(out, *r, targets);
    fmt::format_to(out, "</tbody>\n</table>\n");
  }
  // The all-pass rows stay in the page, folded: the full matrix is one click away.
  fmt::format_to(out,
                 "<details id=\"matrix-all-pass\"><summary class=\"count\">{} traces passed "
                 "exactly on every target</summary>\n",
                 passed.size());
  if (!passed.empty()) {
    matrix_head(out, targets);
    for (const json* r : passed) matrix_row(out, *r, targets);
    fmt::format_to(out, "</tbody>\n</table>\n");
  }
  fmt::format_to(out, "</details>\n</section>\n");
}

// ---- index.html: plots

std::string growth_plot(const json& summary) {
  PlotSpec spec{"Fuzz: model (operation, outcome) pairs within the night",
                "growth sample",
                "model pairs",
                {},
                {}};
  spec.integer_x = spec.integer_y = true;
  spec.y_from_zero = false;  // the flattening of the curve is what is read
  for (const json& f : items(summary, "fuzz")) {
    PlotSeries s{fmt::format("{} {} seed {}", text(at(f, "target")), text(at(f, "engine")),
                             plain(at(f, "seed"))),
                 {}};
    const json& growth = items(f, "growth");
    for (size_t i = 0; i < growth.size(); ++i)
      if (const auto y = number(growth[i])) s.points.push_back({double(i + 1), *y});
    spec.series.push_back(std::move(s));
  }
  return line_plot_svg(spec);
}

std::string history_plot(const json& summary, std::string_view title, std::string_view y_label,
                         const std::vector<const char*>& keys, bool from_zero) {
  PlotSpec spec{std::string(title), "night", std::string(y_label), {}, {}};
  spec.integer_y = true;
  spec.y_from_zero = from_zero;
  const json& history = items(summary, "history");
  for (const json& h : history) spec.x_categories.push_back(text(at(h, "night")));
  for (const char* key : keys) {
    PlotSeries s{key, {}};
    for (size_t i = 0; i < history.size(); ++i)
      if (const auto y = number(at(history[i], key))) s.points.push_back({double(i), *y});
    spec.series.push_back(std::move(s));
  }
  return line_plot_svg(spec);
}

void fuzz_table(Out out, const json& summary) {
  const json& fuzz = items(summary, "fuzz");
  if (fuzz.empty()) {
    fmt::format_to(out, "<p class=\"empty\">no fuzz runs</p>\n");
    return;
  }
  fmt::format_to(out,
                 "<table id=\"fuzz\">\n<thead><tr><th>target</th><th>engine</th><th>seed</th>"
                 "<th>execs</th><th>model pairs</th><th>execs/s</th><th>seconds</th></tr></thead>\n"
                 "<tbody>\n");
  for (const json& f : fuzz) {
    const json& timing = at(f, "timing");
    fmt::format_to(out,
                   "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                   "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                   "</tr>\n",
                   esc(at(f, "target")), esc(at(f, "engine")), xml_escape(plain(at(f, "seed"))),
                   esc(at(f, "execs")), esc(at(f, "model_pairs")),
                   xml_escape(rate(at(timing, "execs_per_second"), "")),
                   esc(at(timing, "seconds")));
  }
  fmt::format_to(out, "</tbody>\n</table>\n");
}

void plots_section(Out out, const json& summary) {
  fmt::format_to(out,
                 "<section id=\"plots\">\n<h2>Fuzzing and history</h2>\n<div class=\"plots\">\n");
  fmt::format_to(out, "{}", growth_plot(summary));
  fmt::format_to(out, "{}",
                 history_plot(summary, "History: open findings and failed traces", "count",
                              {"findings_open", "traces_failed"}, true));
  fmt::format_to(
      out, "{}",
      history_plot(summary, "History: model pairs reached", "model pairs", {"model_pairs"},
                   false));  // model pairs grow by a few a night: 0 would flatten it
  fmt::format_to(out, "</div>\n");
  fuzz_table(out, summary);
  fmt::format_to(out, "</section>\n");
}

// ---- index.html: explorer

void explore_table(Out out, const json& explore) {
  fmt::format_to(out,
                 "<table class=\"explore\">\n<thead><tr><th>profile</th><th>scope</th>"
                 "<th>distinct states</th><th>edges</th><th>violations</th><th>complete</th>"
                 "<th>seconds</th><th>states/s</th></tr></thead>\n<tbody>\n");
  for (const json& e : explore) {
    const auto seconds = number(at(at(e, "timing"), "seconds"));
    const auto states = number(at(e, "distinct_states"));
    const std::string per_second =
        seconds && states && *seconds > 0 ? rate(json(*states / *seconds), "") : "";
    const bool violated = number(at(e, "violations")).value_or(0) > 0;
    fmt::format_to(out,
                   "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td>"
                   "<td class=\"num\">{}</td><td class=\"num{}\">{}</td><td>{}</td>"
                   "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                   esc(at(e, "profile")), esc(at(e, "scope")), esc(at(e, "distinct_states")),
                   esc(at(e, "edges")), violated ? " c-fail" : "", esc(at(e, "violations")),
                   esc(at(e, "complete")), seconds ? fmt::format("{:.1f}", *seconds) : "",
                   xml_escape(per_second));
  }
  fmt::format_to(out, "</tbody>\n</table>\n");
}

void explore_section(Out out, const json& summary) {
  const json& explore = items(summary, "explore");
  BarSpec spec{"Explorer: distinct states per profile", "profile", "distinct states", {}};
  for (const json& e : explore)
    spec.bars.push_back({text(at(e, "profile")), number(at(e, "distinct_states")).value_or(NAN)});
  fmt::format_to(out,
                 "<section id=\"explore\">\n<h2>Explorer</h2>\n<div class=\"plots\">\n{}</div>\n",
                 bar_chart_svg(spec));
  if (explore.empty())
    fmt::format_to(out, "<p class=\"empty\">no explorer runs</p>\n");
  else
    explore_table(out, explore);
  fmt::format_to(out, "</section>\n");
}

// ---- the finding page

void finding_facts(Out out, const json& finding) {
  fmt::format_to(out, "<dl class=\"facts\">\n");
  const auto fact = [&](std::string_view label, const std::string& html) {
    fmt::format_to(out, "<dt>{}</dt><dd>{}</dd>\n", label, html);
  };
  fact("status", badge(at(finding, "status")));
  fact("target", esc(at(finding, "target")));
  fact("signature", "<code>" + esc(at(finding, "signature")) + "</code>");
  fact("first seen", esc(at(finding, "first_seen")));
  fact("statements", esc(at(finding, "statements")));
  if (!text(at(finding, "mutations")).empty()) fact("mutations", esc(at(finding, "mutations")));
  const std::string triage = text(at(at(finding, "triage"), "summary"));
  fact("triage", triage.empty() ? "<span class=\"empty\">not triaged</span>"
                                : "<span class=\"triage\">" + xml_escape(triage) + "</span>");
  fmt::format_to(out, "</dl>\n");
}

void finding_files(Out out, const json& finding, std::string_view page) {
  fmt::format_to(out, "<ul id=\"files\">\n");
  const auto file = [&](const json& path, std::string_view what) {
    if (!path.is_string() || path.get<std::string>().empty()) return;
    fmt::format_to(out, "<li>{}: {}</li>\n", what,
                   link(relative_href(path.get<std::string>(), page), path.get<std::string>()));
  };
  file(at(finding, "trace"), "minimized trace");
  file(at(finding, "reproducer"), "C reproducer");
  file(at(at(finding, "triage"), "file"), "triage table");
  fmt::format_to(out, "</ul>\n");
}

// ---- writing

bool inside_report(const fs::path& rel) {
  if (rel.empty() || rel.is_absolute() || rel.has_root_name() || !rel.has_filename()) return false;
  return std::none_of(rel.begin(), rel.end(), [](const fs::path& p) { return p == ".."; });
}

}  // namespace

std::string relative_href(std::string_view to_path, std::string_view from_page) {
  const fs::path base = fs::path(from_page).parent_path();
  fs::path rel = fs::path(to_path).lexically_relative(base.empty() ? fs::path(".") : base);
  if (rel.empty()) rel = to_path;
  return percent_encode(rel.generic_string());
}

std::string render_index_html(const json& summary) {
  std::string html;
  Out out(html);
  page_head(out, "loopcheck campaign " + campaign_title(summary));
  index_header(out, summary);
  findings_section(out, summary);
  stages_section(out, summary);
  matrix_section(out, summary);
  plots_section(out, summary);
  explore_section(out, summary);
  html += kPageFoot;
  return html;
}

std::string render_finding_html(const json& summary, const json& finding) {
  const std::string page = text(at(finding, "page"));
  const std::string id = text(at(finding, "id"));
  std::string html;
  Out out(html);
  page_head(out, fmt::format("finding {} - {}", id, campaign_title(summary)));
  fmt::format_to(out, "<p class=\"meta\">{} &middot; campaign {}</p>\n",
                 link(relative_href("index.html", page), "back to the campaign report"),
                 xml_escape(campaign_title(summary)));
  fmt::format_to(out, "<section id=\"finding\">\n<h1>finding <code>{}</code></h1>\n",
                 xml_escape(id));
  finding_facts(out, finding);
  finding_files(out, finding, page);
  const std::string trace = text(at(finding, "trace_text"));
  fmt::format_to(out, "<h2>Minimized trace</h2>\n");
  if (trace.empty())
    fmt::format_to(out, "<p class=\"empty\">trace text not recorded</p>\n");
  else
    fmt::format_to(out, "<pre id=\"trace\">{}</pre>\n", xml_escape(trace));
  fmt::format_to(out, "</section>\n");
  html += kPageFoot;
  return html;
}

void write_html_report(const fs::path& out_dir, const json& summary) {
  // Pages are checked before any is written: a bad summary leaves no partial report.
  for (const json& f : items(summary, "findings")) {
    const std::string page = text(at(f, "page"));
    if (!page.empty() && !inside_report(fs::path(page)))
      throw std::runtime_error((out_dir / page).string() + ": finding page outside the report");
  }
  write_file_atomically(out_dir / "index.html", render_index_html(summary));
  for (const json& f : items(summary, "findings")) {
    const std::string page = text(at(f, "page"));
    if (!page.empty()) write_file_atomically(out_dir / page, render_finding_html(summary, f));
  }
}

}  // namespace loopcheck::campaign
