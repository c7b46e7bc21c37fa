#include "campaign/nights.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace loopcheck::campaign {
namespace {

std::vector<const nlohmann::json*> by_night(const std::vector<nlohmann::json>& summaries) {
  std::vector<const nlohmann::json*> sorted;
  for (const nlohmann::json& s : summaries) sorted.push_back(&s);
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return (*a)["campaign"].value("night", "") < (*b)["campaign"].value("night", "");
  });
  return sorted;
}

// finding id -> status per night ("" where that night does not list it).
std::map<std::string, std::vector<std::string>> statuses(
    const std::vector<const nlohmann::json*>& nights) {
  std::map<std::string, std::vector<std::string>> table;
  for (size_t i = 0; i < nights.size(); ++i) {
    for (const nlohmann::json& f : (*nights[i]).value("findings", nlohmann::json::array())) {
      std::vector<std::string>& row = table[f.value("id", "")];
      row.resize(nights.size());
      row[i] = f.value("status", "");
    }
  }
  for (auto& [id, row] : table) row.resize(nights.size());
  return table;
}

}  // namespace

nlohmann::ordered_json compare_nights_json(const std::vector<nlohmann::json>& summaries) {
  const auto nights = by_night(summaries);
  nlohmann::ordered_json j;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const nlohmann::json* s : nights) {
    const nlohmann::json& t = (*s)["totals"];
    rows.push_back({{"night", (*s)["campaign"].value("night", "")},
                    {"campaign", (*s)["campaign"].value("name", "")},
                    {"tasks", t.value("tasks", 0)},
                    {"tasks_failed", t.value("tasks_failed", 0)},
                    {"tasks_error", t.value("tasks_error", 0)},
                    {"tasks_skipped", t.value("tasks_skipped", 0)},
                    {"traces", t.value("traces", 0)},
                    {"traces_failed", t.value("traces_failed", 0)},
                    {"findings", t.value("findings", nlohmann::json::object())},
                    {"results_digest", s->value("results_digest", "")}});
  }
  j["nights"] = rows;
  nlohmann::ordered_json findings = nlohmann::ordered_json::object();
  for (const auto& [id, row] : statuses(nights)) findings[id] = row;
  j["findings"] = findings;
  return j;
}

std::string compare_nights_text(const std::vector<nlohmann::json>& summaries) {
  const nlohmann::ordered_json j = compare_nights_json(summaries);
  std::string out = fmt::format(
      "{:<12} {:<10} {:>6} {:>6} {:>6} {:>7} {:>7} {:>4} {:>4} {:>5} "
      "{:>5}  {}\n",
      "night", "campaign", "tasks", "failed", "error", "skipped", "traces", "new", "open", "fixed",
      "flaky", "digest");
  for (const auto& n : j["nights"]) {
    const auto& f = n["findings"];
    out += fmt::format(
        "{:<12} {:<10} {:>6} {:>6} {:>6} {:>7} {:>7} {:>4} {:>4} {:>5} {:>5}  {}\n",
        n["night"].get<std::string>(), n["campaign"].get<std::string>(), n["tasks"].get<int>(),
        n["tasks_failed"].get<int>(), n["tasks_error"].get<int>(), n["tasks_skipped"].get<int>(),
        n["traces"].get<int>(), f.value("new", 0), f.value("open", 0), f.value("fixed", 0),
        f.value("flaky", 0), n["results_digest"].get<std::string>().substr(0, 12));
  }
  if (j["findings"].empty()) return out + "\nno findings on any night\n";
  out += "\nfindings, night by night (- = not listed):\n";
  for (const auto& [id, row] : j["findings"].items()) {
    std::string cells;
    for (const auto& status : row) {
      const std::string s = status.get<std::string>();
      cells += fmt::format(" {:<6}", s.empty() ? "-" : s);
    }
    out += fmt::format("  {}{}\n", id, cells);
  }
  return out;
}

}  // namespace loopcheck::campaign
