#include "campaign/task_runner.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "campaign/child_process.h"
#include "campaign/files.h"
#include "fuzz/progress.h"

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;

// The last few lines of the task's log: why it could not run, in its own words.
std::string log_tail(const fs::path& log) {
  const std::string text = read_text(log);
  size_t at = text.size();
  for (int lines = 0; lines < 4 && at > 0; ++lines) at = text.rfind('\n', at - 1);
  std::string tail = text.substr(at == std::string::npos ? 0 : at);
  while (!tail.empty() && (tail.front() == '\n')) tail.erase(0, 1);
  return tail.size() > 600 ? tail.substr(tail.size() - 600) : tail;
}

// What a night keeps of a mutation report: its kernel and totals.
nlohmann::json mutants_result(const fs::path& report) {
  const nlohmann::json j = nlohmann::json::parse(read_text(report), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("totals")) return nullptr;
  return {{"kernel", j.value("kernel", "")},
          {"mutants_analysed", j.value("mutants_analysed", 0)},
          {"totals", j["totals"]}};
}

}  // namespace

std::string_view task_status_name(TaskStatus status) {
  switch (status) {
    case TaskStatus::Ok:
      return "ok";
    case TaskStatus::Failed:
      return "failed";
    case TaskStatus::Error:
      return "error";
    case TaskStatus::Skipped:
      return "skipped";
  }
  return "error";
}

TaskStatus task_status_from_name(std::string_view name) {
  if (name == "ok") return TaskStatus::Ok;
  if (name == "failed") return TaskStatus::Failed;
  if (name == "skipped") return TaskStatus::Skipped;
  return TaskStatus::Error;
}

nlohmann::ordered_json task_record_json(const TaskRecord& r) {
  nlohmann::ordered_json j;
  j["id"] = r.id;
  j["status"] = task_status_name(r.status);
  j["exit_code"] = r.exit_code;
  j["seconds"] = r.seconds;
  j["timed_out"] = r.timed_out;
  j["retried"] = r.retried;
  j["why"] = r.why;
  j["result"] = r.result;
  return j;
}

TaskRecord task_record_from_json(const nlohmann::json& j) {
  TaskRecord r;
  r.id = j.at("id").get<std::string>();
  r.status = task_status_from_name(j.at("status").get<std::string>());
  r.exit_code = j.at("exit_code").get<int>();
  r.seconds = j.at("seconds").get<double>();
  r.timed_out = j.at("timed_out").get<bool>();
  r.retried = j.value("retried", false);
  r.why = j.value("why", "");
  r.result = j.at("result");
  return r;
}

fs::path record_path(const TaskPaths& paths, const Task& task) {
  return paths.tasks_dir / (task.id + ".json");
}

fs::path findings_dir(const TaskPaths& paths, const Task& task) {
  return paths.tasks_dir / (task.id + ".findings");
}

void write_task_record(const TaskPaths& paths, const Task& task, const TaskRecord& record) {
  std::error_code ec;
  fs::create_directories(paths.tasks_dir, ec);
  write_file_atomically(record_path(paths, task), task_record_json(record).dump(2) + "\n");
}

// The task's status from how the child ended: 0 ok, 1 it found something, anything
// else (2: usage or environment, a signal, no JSON) it could not do its job.
TaskRecord run_task(const std::string& loopcheck, const Task& task, const TaskPaths& paths,
                    const ProgressCallback& progress) {
  TaskRecord record{task.id, TaskStatus::Error, -1, 0, false, false, {}, nullptr};
  std::error_code ec;
  const fs::path findings = findings_dir(paths, task), work = paths.tasks_dir / (task.id + ".work");
  fs::remove_all(findings, ec);  // a rerun after a kill starts clean
  fs::remove_all(work, ec);
  fs::create_directories(paths.tasks_dir, ec);
  std::vector<std::string> argv{loopcheck};
  argv.insert(argv.end(), task.args.begin(), task.args.end());
  if (task.stage == Stage::Fuzz)
    argv.insert(argv.end(), {"--findings", findings.string(), "--work-dir", work.string()});
  const fs::path mutants_out = paths.tasks_dir / (task.id + ".mutants");
  if (task.stage == Stage::Mutants) argv.insert(argv.end(), {"--out", mutants_out.string()});
  const fs::path out = paths.tasks_dir / (task.id + ".stdout");
  const fs::path log = paths.tasks_dir / (task.id + ".log");
  const ChildRun child = run_child(argv, out, log, task.budget_seconds, [&](double elapsed) {
    if (!progress) return;
    TaskProgress p{elapsed, task.budget_seconds, task.stage == Stage::Fuzz, 0, 0};
    fuzz::ProgressSample sample;
    if (p.fuzzing && fuzz::parse_progress(read_text(log), &sample)) {
      p.execs = sample.execs;
      p.findings = sample.findings;
    }
    progress(p);
  });
  if (!child.started) {
    record.why = child.error;
    return record;
  }
  record.seconds = child.seconds;
  record.exit_code = child.exit_code;
  record.timed_out = child.timed_out;
  record.result = nlohmann::json::parse(read_text(out), nullptr, /*allow_exceptions=*/false);
  if (record.result.is_discarded()) record.result = nullptr;
  // `mutants run` prints a line for people; its report.json is the result.
  if (task.stage == Stage::Mutants) record.result = mutants_result(mutants_out / "report.json");
  fs::remove_all(work, ec);  // libFuzzer's corpus copies: the findings are kept
  fs::remove(out, ec);
  if (record.timed_out) {
    record.why = fmt::format("stopped after its budget of {:.0f} s", task.budget_seconds);
  } else if ((record.exit_code == 0 || record.exit_code == 1) && !record.result.is_null()) {
    record.status = record.exit_code == 0 ? TaskStatus::Ok : TaskStatus::Failed;
  } else {
    record.why = fmt::format("exit {}: {}", record.exit_code, log_tail(log));
  }
  return record;
}

}  // namespace loopcheck::campaign
