#include "campaign/summary.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <map>

namespace loopcheck::campaign {
namespace {

using Json = nlohmann::ordered_json;

uint64_t count(const nlohmann::json& j, std::string_view key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<uint64_t>() : 0;
}

Json conformance_figures(const nlohmann::json& r, std::string* detail) {
  const nlohmann::json steps = r.value("steps", nlohmann::json::object());
  Json f{{"traces", count(r, "passed") + count(r, "failed")},
         {"failed", count(r, "failed")},
         {"exact", count(steps, "exact")},
         {"envelope", count(steps, "envelope")},
         {"unchecked", count(steps, "unchecked")},
         {"skipped", count(steps, "skipped")},
         {"diverged", count(steps, "diverged")},
         {"expectation_failed", count(steps, "expectation_failed")}};
  *detail = fmt::format("{} passed, {} failed", count(r, "passed"), count(r, "failed"));
  return f;
}

Json explore_figures(const nlohmann::json& r, std::string* detail) {
  Json f{{"distinct_states", count(r, "distinct_states")},
         {"edges", count(r, "edges")},
         {"violations", count(r, "violations")},
         {"max_depth", count(r, "max_depth")},
         {"complete", r.value("complete", false)}};
  *detail = fmt::format("{} states, {} edges, {} violations", count(r, "distinct_states"),
                        count(r, "edges"), count(r, "violations"));
  return f;
}

Json fuzz_figures(const nlohmann::json& r, std::string* detail) {
  const nlohmann::json coverage = r.value("coverage", nlohmann::json::object());
  Json f{{"engine", r.value("engine", "")},
         {"execs", count(r, "execs")},
         {"model_pairs", count(coverage, "model_pairs")},
         {"edges", coverage.contains("edges") ? Json(coverage["edges"]) : Json()},
         {"new_findings", count(r, "new_findings")}};
  *detail = fmt::format("{} execs, {} model pairs, {} findings", count(r, "execs"),
                        count(coverage, "model_pairs"), count(r, "new_findings"));
  return f;
}

Json mutants_figures(const nlohmann::json& r, std::string* detail) {
  const nlohmann::json t = r.value("totals", nlohmann::json::object());
  Json f{{"mutants", count(t, "mutants")},
         {"killed", count(t, "killed")},
         {"survived", count(t, "survived")},
         {"equivalent", count(t, "equivalent")},
         {"compile_errors", count(t, "compile_errors")},
         {"score", t.value("score", 0.0)}};
  *detail = fmt::format("{} mutants: {} killed, {} survived, {} equivalent (score {:.3f})",
                        count(t, "mutants"), count(t, "killed"), count(t, "survived"),
                        count(t, "equivalent"), t.value("score", 0.0));
  return f;
}

Json stage_row(const Task& task, const TaskRecord& record) {
  std::string detail = record.why;
  Json figures = Json::object();
  if (record.status == TaskStatus::Ok || record.status == TaskStatus::Failed) {
    switch (task.stage) {
      case Stage::Conformance:
        figures = conformance_figures(record.result, &detail);
        break;
      case Stage::Explore:
        figures = explore_figures(record.result, &detail);
        break;
      case Stage::Fuzz:
        figures = fuzz_figures(record.result, &detail);
        break;
      case Stage::Mutants:
        figures = mutants_figures(record.result, &detail);
        break;
    }
  }
  Json timing{{"seconds", record.seconds}, {"budget_seconds", task.budget_seconds}};
  if (task.stage == Stage::Fuzz)
    timing["execs_per_second"] =
        record.result.is_object() ? record.result.value("execs_per_second", 0.0) : 0.0;
  return Json{{"id", task.id},
              {"stage", stage_name(task.stage)},
              {"target", task.target},
              {"status", task_status_name(record.status)},
              {"detail", detail},
              {"retried", record.retried},
              {"timing", timing},
              {"figures", figures},
              {"log", "tasks/" + task.id + ".log"}};
}

int cell_rank(const std::string& cell) {
  if (cell == "fail") return 4;
  if (cell == "hedged") return 3;
  if (cell == "pass") return 2;
  if (cell == "skip") return 1;
  return 0;  // none
}

// Conformance trace x target: one column per conformance task, in plan order.
Json matrix(const Plan& plan, const std::vector<TaskRecord>& records) {
  std::vector<std::string> targets;
  std::map<std::string, std::map<std::string, std::string>> cells;  // trace -> target -> cell
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    if (plan.tasks[i].stage != Stage::Conformance) continue;
    const std::string& target = plan.tasks[i].target;
    targets.push_back(target);
    const nlohmann::json& r = records[i].result;
    if (!r.is_object() || !r.contains("groups")) continue;
    for (const nlohmann::json& group : r["groups"]) {
      for (const nlohmann::json& t : group.value("traces", nlohmann::json::array())) {
        std::string& cell = cells[t.value("trace", "")][target];
        cell = worse_cell(cell, t.value("result", "none"));
      }
    }
  }
  Json rows = Json::array();
  for (const auto& [trace, by_target] : cells) {
    Json row_cells = Json::array();
    for (const std::string& target : targets) {
      auto it = by_target.find(target);
      row_cells.push_back(it == by_target.end() ? "none" : it->second);
    }
    rows.push_back({{"trace", trace}, {"cells", row_cells}});
  }
  return Json{{"targets", targets}, {"rows", rows}};
}

}  // namespace

std::string worse_cell(const std::string& a, const std::string& b) {
  return cell_rank(a) >= cell_rank(b) && !a.empty() ? a : b;
}

namespace {

Json explore_list(const Plan& plan, const std::vector<TaskRecord>& records) {
  Json list = Json::array();
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const Task& task = plan.tasks[i];
    const nlohmann::json& r = records[i].result;
    if (task.stage != Stage::Explore || !r.is_object()) continue;
    const nlohmann::json scope = r.value("scope", nlohmann::json::object());
    const double seconds = records[i].seconds;
    list.push_back(
        {{"id", task.id},
         {"profile", r.value("profile", "")},
         {"scope", fmt::format("devices={} files={} fds={} depth={} domain={}",
                               count(scope, "devices"), count(scope, "files"), count(scope, "fds"),
                               count(scope, "depth"), scope.value("domain", ""))},
         {"distinct_states", count(r, "distinct_states")},
         {"edges", count(r, "edges")},
         {"violations", count(r, "violations")},
         {"complete", r.value("complete", false)},
         {"timing",
          {{"seconds", seconds},
           {"states_per_second",
            seconds > 0 ? double(count(r, "distinct_states")) / seconds : 0.0}}}});
  }
  return list;
}

Json fuzz_list(const Plan& plan, const std::vector<TaskRecord>& records) {
  Json list = Json::array();
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const Task& task = plan.tasks[i];
    const nlohmann::json& r = records[i].result;
    if (task.stage != Stage::Fuzz || !r.is_object()) continue;
    list.push_back(
        {{"id", task.id},
         {"target", task.target},
         {"engine", r.value("engine", "")},
         {"seed", count(r, "seed")},
         {"execs", count(r, "execs")},
         {"model_pairs", count(r.value("coverage", nlohmann::json::object()), "model_pairs")},
         {"growth", r.value("model_pairs_growth", nlohmann::json::array())},
         {"timing",
          {{"seconds", records[i].seconds},
           {"execs_per_second", r.value("execs_per_second", 0.0)}}}});
  }
  return list;
}

Json totals(const Json& stages, const Json& findings) {
  Json t{{"tasks", stages.size()}, {"tasks_ok", 0},      {"tasks_failed", 0}, {"tasks_error", 0},
         {"tasks_skipped", 0},     {"tasks_retried", 0}, {"traces", 0},       {"traces_failed", 0}};
  Json steps{{"exact", 0},   {"envelope", 0}, {"unchecked", 0},
             {"skipped", 0}, {"diverged", 0}, {"expectation_failed", 0}};
  for (const Json& s : stages) {
    t["tasks_" + s["status"].get<std::string>()] =
        t["tasks_" + s["status"].get<std::string>()].get<uint64_t>() + 1;
    if (s["retried"].get<bool>()) t["tasks_retried"] = t["tasks_retried"].get<uint64_t>() + 1;
    if (s["stage"] != "conformance" || s["figures"].empty()) continue;
    t["traces"] = t["traces"].get<uint64_t>() + s["figures"]["traces"].get<uint64_t>();
    t["traces_failed"] =
        t["traces_failed"].get<uint64_t>() + s["figures"]["failed"].get<uint64_t>();
    for (auto& [key, value] : steps.items())
      value = value.get<uint64_t>() + count(s["figures"], key);
  }
  t["steps"] = steps;
  Json by_status{{"new", 0}, {"open", 0}, {"fixed", 0}, {"flaky", 0}};
  for (const Json& f : findings) {
    const std::string status = f.value("status", "new");
    by_status[status] = by_status[status].get<uint64_t>() + 1;
  }
  t["findings"] = by_status;
  return t;
}

Json history(const SummaryInput& in, const Json& totals_now, const Json& fuzz) {
  Json list = Json::array();
  if (in.previous_summary.is_object() && in.previous_summary.contains("history")) {
    for (const nlohmann::json& h : in.previous_summary["history"]) {
      if (h.value("night", "") != in.night) list.push_back(Json(h));
    }
  }
  uint64_t execs = 0, pairs = 0;
  for (const Json& f : fuzz) {
    execs += f["execs"].get<uint64_t>();
    pairs = std::max<uint64_t>(pairs, f["model_pairs"].get<uint64_t>());
  }
  const Json& by_status = totals_now["findings"];
  list.push_back(
      {{"night", in.night},
       {"findings_new", by_status["new"]},
       {"findings_open", by_status["new"].get<uint64_t>() + by_status["open"].get<uint64_t>()},
       {"traces_failed", totals_now["traces_failed"]},
       {"model_pairs", pairs},
       {"execs", execs}});
  while (list.size() > kMaxHistoryNights) list.erase(list.begin());
  return list;
}

// Removes what differs between equal runs: timings, places, history.
void strip_unstable(nlohmann::ordered_json& j) {
  if (j.is_object()) {
    for (const char* key :
         {"timing", "retried", "log", "campaign", "history", "results_digest", "tasks_retried"})
      j.erase(key);
    for (auto& [key, value] : j.items()) strip_unstable(value);
  } else if (j.is_array()) {
    for (auto& value : j) strip_unstable(value);
  }
}

}  // namespace

nlohmann::ordered_json build_summary(const SummaryInput& in) {
  const Plan& plan = *in.plan;
  const std::vector<TaskRecord>& records = *in.records;
  Json stages = Json::array();
  for (size_t i = 0; i < plan.tasks.size(); ++i)
    stages.push_back(stage_row(plan.tasks[i], records[i]));
  Json s;
  s["schema"] = kSummarySchema;
  s["campaign"] = {{"name", in.name},
                   {"night", in.night},
                   {"seeds", in.seeds},
                   {"loopcheck", in.loopcheck_version},
                   {"config", "campaign.toml"},
                   {"previous", in.previous.empty() ? Json() : Json(in.previous)},
                   {"timing", {{"findings_seconds", in.findings_seconds}}}};
  s["results_digest"] = "";
  s["totals"] = totals(stages, in.findings);
  s["stages"] = stages;
  s["matrix"] = matrix(plan, records);
  s["explore"] = explore_list(plan, records);
  s["fuzz"] = fuzz_list(plan, records);
  s["findings"] = in.findings;
  s["history"] = history(in, s["totals"], s["fuzz"]);
  s["results_digest"] = results_digest(s);
  return s;
}

std::string results_digest(const nlohmann::ordered_json& summary) {
  nlohmann::ordered_json stable = summary;
  strip_unstable(stable);
  const std::string text = stable.dump();
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

}  // namespace loopcheck::campaign
