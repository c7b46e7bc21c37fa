// The campaign's static HTML report, rendered from summary.json (schema 1,
// docs: the report folder layout): OUT/index.html and one page per finding at
// OUT/<finding.page>. The folder is opened from disk or from a CI artifact store,
// so everything is inline — style, SVG plots (campaign/svg_plot.h) — no script,
// no network, and every link is relative to the page that holds it: the folder can
// be moved or archived whole. Every string from the summary is HTML-escaped.
//
// Stable element ids others rely on (tests, links from summary.md and CI):
//   index.html  #summary #findings #stages #matrix #matrix-all-pass #plots #fuzz
//               #explore; each chart is an <svg class="plot">
//   finding     #finding #files #trace
#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace loopcheck::campaign {

std::string render_index_html(const nlohmann::ordered_json& summary);

// The page of one element of summary["findings"]; its links are relative to the
// page's own location, finding["page"].
std::string render_finding_html(const nlohmann::ordered_json& summary,
                                const nlohmann::ordered_json& finding);

// Writes out_dir/index.html and each finding's page, creating directories; each
// file appears whole (written aside, then renamed). Throws std::runtime_error
// naming the path on an I/O failure, or on a finding page that would land outside
// out_dir (absolute, or with a `..` component).
void write_html_report(const std::filesystem::path& out_dir, const nlohmann::ordered_json& summary);

// The href from the page at `from_page` to `to_path` (both relative to the report
// folder): "../../index.html" from "findings/inproc/finding-1.html". The result
// is percent-encoded (a `vm:6.1` directory would otherwise read as a URL scheme).
std::string relative_href(std::string_view to_path, std::string_view from_page);

}  // namespace loopcheck::campaign
