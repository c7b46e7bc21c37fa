// The campaign's HTML report (campaign/html_report, campaign/svg_plot) from the
// fixture tests/campaign/testdata/summary.json: escaping, the order of findings,
// the ids others link to, one SVG per plot, an empty campaign, relative links that
// resolve on disk, and the files write_html_report leaves.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "campaign/html_report.h"
#include "campaign/svg_plot.h"

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

const fs::path kTestdata = fs::path(LOOPCHECK_SOURCE_DIR) / "tests" / "campaign" / "testdata";

json fixture() {
  std::ifstream in(kTestdata / "summary.json");
  return json::parse(in);
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

// A fresh directory per test, removed after it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "loopcheck-html-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The first element left open or closed out of order ("" when every element the
// renderer opens it also closes, in order). Chromium would repair a misnested page
// silently, moving rows out of their table; this catches it at the source.
std::string unbalanced(const std::string& html) {
  static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link", "col"};
  std::vector<std::string> open;
  for (size_t at = html.find('<'); at != std::string::npos; at = html.find('<', at + 1)) {
    if (html.compare(at, 2, "<!") == 0) continue;
    const size_t end = html.find('>', at);
    if (end == std::string::npos) return "unterminated tag";
    const bool closing = html[at + 1] == '/';
    const size_t name_at = at + (closing ? 2 : 1);
    const std::string name = html.substr(name_at, html.find_first_of(" />\n", name_at) - name_at);
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + ">";
      open.pop_back();
    } else if (html[end - 1] != '/' && !kVoid.contains(name)) {
      open.push_back(name);
      if (name == "style") at = html.find("</style>", at) - 1;  // CSS is raw text
    }
    at = std::max(at, end - 1);
  }
  return open.empty() ? "" : "<" + open.back() + "> left open";
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += char(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> hrefs(const std::string& html) {
  std::vector<std::string> out;
  const std::string key = "href=\"";
  for (size_t at = html.find(key); at != std::string::npos; at = html.find(key, at + 1)) {
    const size_t from = at + key.size();
    out.push_back(html.substr(from, html.find('"', from) - from));
  }
  return out;
}

const json& finding_by_status(const json& summary, std::string_view status) {
  for (const json& f : summary["findings"])
    if (f["status"] == status) return f;
  throw std::runtime_error("fixture has no " + std::string(status) + " finding");
}

// ---- svg_plot

TEST(SvgPlot, EmptyPlotSaysNoDataWithoutNonFiniteCoordinates) {
  for (const PlotSpec& spec : {PlotSpec{"empty", "x", "y", {}, {}},
                               PlotSpec{"empty series", "x", "y", {{"a", {}}, {"b", {}}}, {}}}) {
    const std::string svg = line_plot_svg(spec);
    EXPECT_TRUE(svg.starts_with("<svg class=\"plot\"")) << svg;
    EXPECT_NE(svg.find("no data"), std::string::npos) << svg;
    EXPECT_EQ(svg.find("nan"), std::string::npos) << svg;
    EXPECT_EQ(svg.find("inf"), std::string::npos) << svg;
    EXPECT_EQ(unbalanced(svg), "");
  }
  const std::string bars = bar_chart_svg(BarSpec{"no bars", "x", "y", {}});
  EXPECT_NE(bars.find("no data"), std::string::npos) << bars;
}

TEST(SvgPlot, SinglePointAndNonFinitePoints) {
  PlotSpec spec{"one", "x", "y", {{"s", {{0, 0}, {NAN, 3}, {2, INFINITY}}}}, {}};
  const std::string svg = line_plot_svg(spec);
  EXPECT_EQ(count(svg, "<circle"), 1u) << svg;
  EXPECT_EQ(svg.find("nan"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("inf"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("no data"), std::string::npos) << svg;
  spec.series[0].points = {{5, 7}};
  spec.y_from_zero = false;
  EXPECT_EQ(line_plot_svg(spec).find("nan"), std::string::npos);
}

TEST(SvgPlot, DeterministicEscapedWithLegend) {
  PlotSpec spec{"a <b> & \"c\"", "x&", "y<", {{"s<1>", {{1, 10}, {2, 20}}}, {"s2", {{1, 5}}}}, {}};
  const std::string svg = line_plot_svg(spec);
  EXPECT_EQ(svg, line_plot_svg(spec));
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">s&lt;1&gt;</text>"), std::string::npos) << svg;  // the legend
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_EQ(count(svg, "stroke-width=\"2\""), 1u);  // s2 has one point
  EXPECT_EQ(unbalanced(svg), "");
}

TEST(SvgPlot, TickLabelsAndEscape) {
  EXPECT_EQ(tick_label(120000, 20000), "120k");
  EXPECT_EQ(tick_label(3000000, 1000000), "3M");
  EXPECT_EQ(tick_label(0.6000000001, 0.2), "0.6");
  EXPECT_EQ(tick_label(-1e-12, 1), "0");
  EXPECT_EQ(tick_label(240, 20), "240");
  EXPECT_EQ(xml_escape("<a href='x'>&\x01"), "&lt;a href=&#39;x&#39;&gt;&amp;\uFFFD");
}

TEST(SvgPlot, BarChartOneBarPerValue) {
  const std::string svg =
      bar_chart_svg(BarSpec{"states", "profile", "states", {{"linux-6.1", 48213}, {"6.18", 0}}});
  EXPECT_NE(svg.find("<title>linux-6.1: 48.2k</title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("<title>6.18: 0</title>"), std::string::npos) << svg;
  EXPECT_EQ(unbalanced(svg), "");
}

// ---- the index page

TEST(HtmlReport, IndexHasStableIdsAndIsWellFormed) {
  const std::string html = render_index_html(fixture());
  for (const char* id :
       {"summary", "findings", "stages", "matrix", "matrix-all-pass", "plots", "fuzz", "explore"})
    EXPECT_EQ(count(html, fmt::format("id=\"{}\"", id)), 1u) << id;
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no fetches
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(unbalanced(html), "");
  EXPECT_EQ(html, render_index_html(fixture()));
}

// summary.json keeps a stage's rate under "timing": the stage table shows it.
TEST(HtmlReport, StageThroughputComesFromTiming) {
  json summary = fixture();
  summary["stages"] = json::array({{{"id", "fuzz-inproc-seed-1"},
                                    {"stage", "fuzz"},
                                    {"status", "ok"},
                                    {"timing", {{"seconds", 10.0}, {"execs_per_second", 4321.0}}},
                                    {"figures", json::object()}}});
  EXPECT_NE(render_index_html(summary).find("4,321 execs/s"), std::string::npos);
}

TEST(HtmlReport, OneSvgPerPlot) {
  // Fuzz growth, history counts, history model pairs, explorer states.
  EXPECT_EQ(count(render_index_html(fixture()), "<svg class=\"plot\""), 4u);
  EXPECT_EQ(count(render_index_html(json{{"schema", 1}}), "<svg class=\"plot\""), 4u);
}

TEST(HtmlReport, EscapesEveryStringFromTheSummary) {
  json summary = fixture();
  const std::string hostile = "<script>alert(1)</script>&\"";
  summary["findings"][0]["signature"] = hostile;
  summary["campaign"]["name"] = "<b>night</b>";
  summary["matrix"]["rows"][3]["trace"] = "x\"><script>.trace";
  summary["stages"][0]["detail"] = "<img src=x>";
  const std::string html = render_index_html(summary);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>night"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;"), std::string::npos);
  EXPECT_EQ(unbalanced(html), "");
  const std::string page = render_finding_html(summary, summary["findings"][0]);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;"), std::string::npos);
}

TEST(HtmlReport, FindingsNewFirstThenOpenFlakyFixed) {
  const json summary = fixture();
  const std::string html = render_index_html(summary);
  const size_t table = html.find("id=\"findings\"");
  size_t last = table;
  for (const char* status : {"new", "open", "flaky", "fixed"}) {
    const std::string id = finding_by_status(summary, status)["id"];
    const size_t at = html.find(">" + id + "</a>", table);
    ASSERT_NE(at, std::string::npos) << id;
    EXPECT_GT(at, last) << status << " out of order";
    last = at;
  }
  EXPECT_EQ(count(html, "<tr class=\"finding\">"), summary["findings"].size());
  EXPECT_NE(html.find("<span class=\"badge b-new\">new</span>"), std::string::npos);
}

TEST(HtmlReport, MatrixFoldsAllPassRows) {
  const std::string html = render_index_html(fixture());
  const size_t folded = html.find("<details id=\"matrix-all-pass\">");
  ASSERT_NE(folded, std::string::npos);
  EXPECT_NE(html.find("3 traces passed exactly on every target</summary>"), std::string::npos);
  const size_t fail = html.find("<td class=\"cell c-fail\"");
  ASSERT_LT(fail, folded);  // a failing row is in the open table
  EXPECT_NE(html.find("title=\"linux-6.12/configure_status_before_block_size.trace on inproc: "
                      "fail\""),
            std::string::npos);
  EXPECT_EQ(count(html, "<td class=\"cell c-fail\""), 1u);
  EXPECT_EQ(count(html, "<td class=\"cell c-hedged\""), 1u);
  EXPECT_GT(html.find("<code>common/lifecycle.trace</code>"), folded);
  EXPECT_EQ(count(html, "<td class=\"cell "), 18u);  // 6 rows x 3 targets, none lost
}

TEST(HtmlReport, StagesAndExplorerFigures) {
  const std::string html = render_index_html(fixture());
  EXPECT_NE(html.find("<span class=\"badge b-error\">error</span>"), std::string::npos);
  EXPECT_NE(html.find("qemu-system-x86_64: not found"), std::string::npos);
  EXPECT_NE(html.find("12.3 s / 600 s"), std::string::npos);
  EXPECT_NE(html.find("1,993 execs/s"), std::string::npos);
  EXPECT_NE(html.find("1,156 states/s"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"tasks/conformance-inproc.log\">"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">48,213</td>"), std::string::npos);
}

TEST(HtmlReport, EmptyCampaignRendersAndSaysSo) {
  for (const json& summary : {json{{"schema", 1}, {"campaign", {{"name", "smoke"}}}},
                              json::object(), json(), json::array()}) {
    const std::string html = render_index_html(summary);
    EXPECT_NE(html.find("no findings"), std::string::npos);
    EXPECT_NE(html.find("no data"), std::string::npos);
    EXPECT_EQ(unbalanced(html), "");
  }
}

TEST(HtmlReport, MistypedFieldsRenderBlankInsteadOfThrowing) {
  json summary = fixture();
  summary["findings"][0]["statements"] = "seven";
  summary["findings"][1]["status"] = 5;
  summary["history"] = json::object();
  summary["fuzz"][0]["growth"] = {1, "x", nullptr, 3.5};
  summary["matrix"]["rows"][0]["cells"] = "pass";
  summary["campaign"]["seeds"] = {18446744073709551615u, 7};
  const std::string html = render_index_html(summary);
  EXPECT_NE(html.find("fuzz seeds 18446744073709551615, 7"), std::string::npos);
  EXPECT_EQ(unbalanced(html), "");
  EXPECT_EQ(unbalanced(render_finding_html(summary, summary["findings"][1])), "");
}

// ---- the finding page and links

TEST(HtmlReport, RelativeHref) {
  EXPECT_EQ(relative_href("index.html", "findings/inproc/f.html"), "../../index.html");
  EXPECT_EQ(relative_href("findings/inproc/f.trace", "findings/inproc/f.html"), "f.trace");
  EXPECT_EQ(relative_href("tasks/a.log", "index.html"), "tasks/a.log");
  EXPECT_EQ(relative_href("findings/vm:6.1/f.html", "index.html"), "findings/vm%3A6.1/f.html");
  EXPECT_EQ(relative_href("a b#?.html", ""), "a%20b%23%3F.html");
}

TEST(HtmlReport, FindingPageLinksAreRelativeToThePage) {
  const json summary = fixture();
  const json& open = finding_by_status(summary, "open");
  const std::string page = render_finding_html(summary, open);
  EXPECT_NE(page.find("href=\"../../index.html\""), std::string::npos);
  EXPECT_NE(page.find("href=\"finding-8c41d07e95b2f6a3.trace\""), std::string::npos);
  EXPECT_NE(page.find("href=\"finding-8c41d07e95b2f6a3.c\""), std::string::npos);
  EXPECT_NE(page.find("href=\"finding-8c41d07e95b2f6a3.triage.md\""), std::string::npos);
  EXPECT_NE(page.find("<pre id=\"trace\">"), std::string::npos);
  EXPECT_NE(page.find("sysfs n queue/logical_block_size"), std::string::npos);
  EXPECT_NE(page.find("driver bug"), std::string::npos);  // the triage summary
  EXPECT_EQ(unbalanced(page), "");
  // The flaky finding has neither reproducer nor triage file: no dead links.
  const std::string flaky = render_finding_html(summary, finding_by_status(summary, "flaky"));
  EXPECT_EQ(count(flaky, "href="), 2u) << flaky;  // back to the index, the trace
}

TEST(HtmlReport, WrittenReportLinksResolveOnDisk) {
  TempDir dir;
  const json summary = fixture();
  write_html_report(dir.path(), summary);
  fs::copy(kTestdata / "findings", dir.path() / "findings",
           fs::copy_options::recursive | fs::copy_options::skip_existing);
  const auto check = [&](const fs::path& page, const std::string& href) {
    EXPECT_EQ(href.find("://"), std::string::npos) << page << ": " << href;
    EXPECT_FALSE(href.starts_with("/")) << page << ": " << href;
    const fs::path target = (page.parent_path() / percent_decode(href)).lexically_normal();
    const std::string rel = target.lexically_relative(dir.path()).generic_string();
    EXPECT_FALSE(rel.starts_with("..")) << page << ": " << href << " leaves the report";
    return target;
  };
  const std::string previous = summary["campaign"]["previous"].get<std::string>() + "/index.html";
  for (const std::string& href : hrefs(read(dir.path() / "index.html"))) {
    if (href == previous) continue;  // the one link out: the previous night's folder
    const fs::path target = check(dir.path() / "index.html", href);
    if (target.extension() == ".html" && target.filename() != "index.html") {
      EXPECT_TRUE(fs::exists(target)) << href << ": no such page";
    }
  }
  const json& fresh = finding_by_status(summary, "new");
  const fs::path page = dir.path() / fresh["page"].get<std::string>();
  for (const std::string& href : hrefs(read(page))) {
    const fs::path target = check(page, href);
    if (target.extension() != ".c") {
      EXPECT_TRUE(fs::exists(target)) << href;
    }
  }
}

// ---- writing

TEST(HtmlReport, WriteHtmlReportWritesEveryPage) {
  TempDir dir;
  const json summary = fixture();
  const fs::path out = dir.path() / "reports" / "2026-12-05";
  write_html_report(out, summary);
  write_html_report(out, summary);  // a second run replaces the pages
  EXPECT_EQ(read(out / "index.html"), render_index_html(summary));
  for (const json& f : summary["findings"]) {
    const fs::path page = out / f["page"].get<std::string>();
    ASSERT_TRUE(fs::exists(page)) << page;
    EXPECT_EQ(read(page), render_finding_html(summary, f));
  }
  for (const auto& e : fs::recursive_directory_iterator(out))
    EXPECT_NE(e.path().extension(), ".partial") << e.path();
}

TEST(HtmlReport, WriteHtmlReportRefusesPagesOutsideTheFolder) {
  TempDir dir;
  json summary = fixture();
  summary["findings"][2]["page"] = "../escaped.html";
  try {
    write_html_report(dir.path() / "out", summary);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("escaped.html"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.path() / "escaped.html"));
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "index.html"));
}

TEST(HtmlReport, WriteHtmlReportNamesThePathOnIoFailure) {
  TempDir dir;
  const fs::path blocker = dir.path() / "not-a-dir";
  std::ofstream(blocker) << "x";
  try {
    write_html_report(blocker / "out", fixture());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(blocker.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace loopcheck::campaign
