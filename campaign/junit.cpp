#include "campaign/junit.h"

#include "campaign/xml_escape.h"

#include <fmt/format.h>

#include <map>

namespace loopcheck::campaign {
namespace {

struct Case {
  std::string classname, name;
  double seconds = 0;
  std::string kind;  // "" pass, failure, error, skipped
  std::string message, text;
};

struct Suite {
  std::string name;
  std::vector<Case> cases;
};

std::string render_suite(const Suite& suite) {
  size_t failures = 0, errors = 0, skipped = 0;
  double seconds = 0;
  for (const Case& c : suite.cases) {
    failures += c.kind == "failure";
    errors += c.kind == "error";
    skipped += c.kind == "skipped";
    seconds += c.seconds;
  }
  std::string out = fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n",
      xml_escape(suite.name), suite.cases.size(), failures, errors, skipped, seconds);
  for (const Case& c : suite.cases) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"",
                       xml_escape(c.classname), xml_escape(c.name), c.seconds);
    if (c.kind.empty()) {
      out += "/>\n";
      continue;
    }
    out += fmt::format(">\n      <{} message=\"{}\">{}</{}>\n    </testcase>\n", c.kind,
                       xml_escape(c.message), xml_escape(c.text), c.kind);
  }
  return out + "  </testsuite>\n";
}

// A task that did not run to its end is one error case, whatever its stage.
bool task_error(const Task& task, const TaskRecord& r, Suite* suite) {
  if (r.status != TaskStatus::Error && r.status != TaskStatus::Skipped) return false;
  const std::string kind = r.status == TaskStatus::Error ? "error" : "skipped";
  suite->cases.push_back(
      {task.target.empty() ? task.id : task.target, task.id, r.seconds, kind, r.why, r.why});
  return true;
}

void conformance_cases(const Task& task, const TaskRecord& r, Suite* suite) {
  if (task_error(task, r, suite)) return;
  // One case per trace: the worst of its profiles, every failing profile's lines.
  std::map<std::string, Case> cases;
  for (const nlohmann::json& group : r.result.value("groups", nlohmann::json::array())) {
    for (const nlohmann::json& t : group.value("traces", nlohmann::json::array())) {
      Case& c = cases[t.value("trace", "")];
      c.classname = "conformance." + task.target;
      c.name = t.value("trace", "");
      const std::string result = t.value("result", "");
      if (result == "fail") {
        c.kind = "failure";
        c.message = "diverged or failed an expectation";
        c.text += fmt::format("[{}]\n{}\n", group.value("profile", ""), t.value("message", ""));
      } else if (result == "skip" && c.kind.empty()) {
        c.kind = "skipped";
      } else if (result != "skip" && c.kind == "skipped") {
        c.kind.clear();
      }
    }
  }
  for (auto& [name, c] : cases) suite->cases.push_back(std::move(c));
}

void task_case(const Task& task, const TaskRecord& r, const std::string& detail, Suite* suite) {
  if (task_error(task, r, suite)) return;
  Case c{std::string(stage_name(task.stage)), task.id, r.seconds, "", "", ""};
  if (r.status == TaskStatus::Failed) {
    c.kind = "failure";
    c.message = detail;
    c.text = r.result.dump(2);
  }
  suite->cases.push_back(std::move(c));
}

void finding_cases(const nlohmann::ordered_json& summary, Suite* suite) {
  for (const nlohmann::ordered_json& f : summary["findings"]) {
    Case c{"findings." + f.value("target", ""), f.value("id", ""), 0, "", "", ""};
    const std::string status = f.value("status", "");
    if (status == "new" || status == "open") {
      c.kind = "failure";
      c.message = status + ": " + f.value("signature", "");
      c.text = f.value("trace_text", "");
    } else if (status == "flaky") {
      c.kind = "skipped";
    }
    suite->cases.push_back(std::move(c));
  }
}

}  // namespace

std::string render_junit(const Plan& plan, const std::vector<TaskRecord>& records,
                         const nlohmann::ordered_json& summary) {
  Suite conformance{"conformance", {}}, explore{"explore", {}}, fuzz{"fuzz", {}},
      mutants{"mutants", {}}, findings{"findings", {}};
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const Task& task = plan.tasks[i];
    const std::string detail = summary["stages"][i].value("detail", "");
    switch (task.stage) {
      case Stage::Conformance:
        conformance_cases(task, records[i], &conformance);
        break;
      case Stage::Explore:
        task_case(task, records[i], detail, &explore);
        break;
      case Stage::Fuzz:
        task_case(task, records[i], detail, &fuzz);
        break;
      case Stage::Mutants:
        task_case(task, records[i], detail, &mutants);
        break;
    }
  }
  finding_cases(summary, &findings);
  std::string out =
      fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\">\n",
                  xml_escape("loopcheck campaign " + summary["campaign"].value("name", "")));
  for (const Suite* s : {&conformance, &explore, &fuzz, &mutants, &findings})
    out += render_suite(*s);
  return out + "</testsuites>\n";
}

}  // namespace loopcheck::campaign
