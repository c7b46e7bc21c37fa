// Running one planned task: `loopcheck ARGS` as a child in its own process group
// (so a fuzzer's workers and a VM's QEMU stop with it), stdout (the --json
// document) to a file, stderr to the task's log, stopped past its budget. The
// result lands in DIR/<id>.json through a rename, and only once the child has
// ended: a file there means the task finished, which is what --resume trusts.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "campaign/files.h"
#include "campaign/plan.h"

namespace loopcheck::campaign {

enum class TaskStatus { Ok, Failed, Error, Skipped };

std::string_view task_status_name(TaskStatus status);
TaskStatus task_status_from_name(std::string_view name);

struct TaskRecord {
  std::string id;
  TaskStatus status = TaskStatus::Error;
  int exit_code = -1;
  double seconds = 0;
  bool timed_out = false;
  bool retried = false;
  std::string why;        // error/skip: what happened
  nlohmann::json result;  // the child's --json document (null when none)
};

nlohmann::ordered_json task_record_json(const TaskRecord& record);
TaskRecord task_record_from_json(const nlohmann::json& j);

// What a running task looks like every few seconds: for the progress line.
struct TaskProgress {
  double elapsed_seconds = 0, budget_seconds = 0;
  bool fuzzing = false;  // a fuzz task: the figures below are its `fuzz progress` line
  uint64_t execs = 0, findings = 0;
};
using ProgressCallback = std::function<void(const TaskProgress&)>;

struct TaskPaths {
  std::filesystem::path tasks_dir;  // <id>.json, <id>.log, <id>.findings/, <id>.work/
};

// The finished task's record file, the directory its fuzz findings go to.
std::filesystem::path record_path(const TaskPaths& paths, const Task& task);
std::filesystem::path findings_dir(const TaskPaths& paths, const Task& task);

// Runs the task with `loopcheck` (an absolute path) and writes its record.
TaskRecord run_task(const std::string& loopcheck, const Task& task, const TaskPaths& paths,
                    const ProgressCallback& progress);

// Writes `record` as the task's record file (a skipped task has one too).
void write_task_record(const TaskPaths& paths, const Task& task, const TaskRecord& record);

}  // namespace loopcheck::campaign
