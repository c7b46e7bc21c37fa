#include "campaign/campaign.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>

#include "campaign/child_process.h"
#include "campaign/config.h"
#include "campaign/files.h"
#include "campaign/findings_stage.h"
#include "campaign/html_report.h"
#include "campaign/junit.h"
#include "campaign/markdown.h"
#include "campaign/plan.h"
#include "campaign/summary.h"
#include "campaign/task_runner.h"
#include "targets/vm/kernel_cache.h"

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Everything one process of the campaign works with.
struct Session {
  const CampaignRun& run;
  CampaignConfig config;
  Plan plan;
  Clock::time_point started = Clock::now();
  uint64_t max_disk_bytes = 0;

  fs::path tasks_dir() const {
    return run.mode == RunMode::Shard ? run.out_dir / "shards" / std::to_string(run.shard) / "tasks"
                                      : run.out_dir / "tasks";
  }
  void say(const std::string& line) const {
    if (!run.quiet) fmt::print(stderr, "campaign {}: {}\n", config.name, line);
  }
};

uint64_t bytes_used(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

// Loads the config and the plan: OUT's own copies once they exist (every shard
// and every resume sees the same tasks), else the given config, planned now.
std::string load_session(Session* s) {
  const fs::path plan_file = s->run.out_dir / "plan.json";
  const fs::path config_copy = s->run.out_dir / "campaign.toml";
  std::error_code ec;
  const bool planned = fs::exists(plan_file, ec);
  ConfigLoad load = load_config(planned ? config_copy.string() : s->run.config_path);
  if (!load.ok()) {
    std::string all;
    for (const std::string& e : load.errors) all += e + "\n";
    return all + "no task was run: fix the config";
  }
  s->config = load.config;
  s->max_disk_bytes = s->run.max_disk_bytes ? s->run.max_disk_bytes : s->config.max_disk_bytes;
  if (planned) {
    std::string why;
    const nlohmann::json j = nlohmann::json::parse(read_text(plan_file), nullptr, false);
    if (!plan_from_json(j, &s->plan, &why)) return plan_file.string() + ": " + why;
    return "";
  }
  try {
    s->plan = make_plan(s->config, vm::cached_kernel_versions());
  } catch (const std::invalid_argument& e) {
    return s->run.config_path + ": " + e.what();
  }
  return "";
}

}  // namespace

std::string utc_night() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

std::string prepare_out_dir(const CampaignRun& run) {
  std::error_code ec;
  const fs::path plan_file = run.out_dir / "plan.json";
  if (fs::exists(plan_file, ec)) {
    if (run.mode == RunMode::Whole && !run.resume)
      return fmt::format(
          "{} already holds a campaign: --resume to continue it, or choose "
          "another --out",
          run.out_dir.string());
    return "";
  }
  Session s{run, {}, {}, Clock::now(), 0};
  if (std::string why = load_session(&s); !why.empty()) return why;
  fs::create_directories(run.out_dir, ec);
  if (ec) return fmt::format("{}: cannot create it: {}", run.out_dir.string(), ec.message());
  try {
    write_file_atomically(run.out_dir / "campaign.toml", read_text(run.config_path));
    write_file_atomically(plan_file, plan_json(s.plan).dump(2) + "\n");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

namespace {

std::string progress_line(const Task& task, const TaskRecord& r) {
  std::string figures;
  if (r.result.is_object() && task.stage == Stage::Fuzz)
    figures =
        fmt::format(" — {} execs ({:.0f}/s), {} new findings", r.result.value("execs", 0ULL),
                    r.result.value("execs_per_second", 0.0), r.result.value("new_findings", 0ULL));
  else if (r.result.is_object() && task.stage == Stage::Conformance)
    figures = fmt::format(" — {} passed, {} failed", r.result.value("passed", 0ULL),
                          r.result.value("failed", 0ULL));
  else if (r.result.is_object() && task.stage == Stage::Explore)
    figures = fmt::format(" — {} states, {} violations", r.result.value("distinct_states", 0ULL),
                          r.result.value("violations", 0ULL));
  else if (r.result.is_object())
    figures = " — " + r.result.value("totals", nlohmann::json::object()).dump();
  return fmt::format("{}: {} in {:.1f} s{}{}", task.id, task_status_name(r.status), r.seconds,
                     figures, r.why.empty() ? "" : " — " + r.why);
}

// A running fuzz task's execs, execs/s and findings so far.
std::string live_figures(const TaskProgress& p) {
  if (!p.fuzzing) return "";
  const double rate = p.elapsed_seconds > 0 ? double(p.execs) / p.elapsed_seconds : 0;
  return fmt::format(", {} execs ({:.0f}/s), {} findings", p.execs, rate, p.findings);
}

// Why task `index` may not start now ("" when it may): the campaign's time budget
// or the disk bound is spent.
std::string reason_to_skip(const Session& s) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - s.started).count();
  if (elapsed >= s.config.budget_seconds)
    return fmt::format("the campaign's budget of {:.0f} s was spent", s.config.budget_seconds);
  if (s.max_disk_bytes && bytes_used(s.run.out_dir) >= s.max_disk_bytes)
    return fmt::format("the report folder reached the disk bound of {} MiB (--max-disk)",
                       s.max_disk_bytes >> 20);
  return "";
}

TaskRecord run_one(const Session& s, size_t index, const TaskPaths& paths, bool retry) {
  const Task& task = s.plan.tasks[index];
  const std::string counter = fmt::format("[{}/{}]", index + 1, s.plan.tasks.size());
  TaskRecord record;
  if (std::string why = reason_to_skip(s); !why.empty()) {
    record = TaskRecord{task.id, TaskStatus::Skipped, -1, 0, false, retry, why, nullptr};
  } else {
    s.say(fmt::format("{} {}{} (budget {:.0f} s)", counter, task.id, retry ? " again" : "",
                      task.budget_seconds));
    record = run_task(s.run.loopcheck, task, paths, [&](const TaskProgress& p) {
      s.say(fmt::format("{} {}: {:.0f}/{:.0f} s{}", counter, task.id, p.elapsed_seconds,
                        p.budget_seconds, live_figures(p)));
    });
    record.retried = retry;
  }
  write_task_record(paths, task, record);
  s.say(counter + " " + progress_line(task, record));
  return record;
}

bool read_record(const fs::path& file, TaskRecord* record) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return false;
  const nlohmann::json j = nlohmann::json::parse(read_text(file), nullptr, false);
  try {
    *record = task_record_from_json(j);
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;  // a torn record: the task runs again
  }
}

// A shard's copy of task `task` moved into OUT/tasks (record, log, findings).
bool adopt_from_shards(const Session& s, const Task& task, TaskRecord* record) {
  std::error_code ec;
  for (unsigned shard = 0; shard < 4096; ++shard) {
    const fs::path dir = s.run.out_dir / "shards" / std::to_string(shard) / "tasks";
    if (!fs::exists(dir, ec)) break;
    if (!read_record(dir / (task.id + ".json"), record)) continue;
    const fs::path to = s.tasks_dir();
    fs::create_directories(to, ec);
    for (const std::string suffix : {".log", ".findings"})
      fs::copy(dir / (task.id + suffix), to / (task.id + suffix),
               fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    write_task_record(TaskPaths{to}, task, *record);
    return true;
  }
  return false;
}

// Runs (or, resuming or merging, finds) every task of this process; then one
// more try for each task that could not run, reported as retried.
std::vector<TaskRecord> run_tasks(const Session& s) {
  const TaskPaths paths{s.tasks_dir()};
  std::vector<TaskRecord> records(s.plan.tasks.size());
  for (size_t i = 0; i < s.plan.tasks.size(); ++i) {
    const Task& task = s.plan.tasks[i];
    if (s.run.mode == RunMode::Shard && !in_shard(i, s.run.shard, s.run.shards)) continue;
    if (read_record(record_path(paths, task), &records[i])) continue;
    if (s.run.mode == RunMode::Merge && adopt_from_shards(s, task, &records[i])) continue;
    if (s.run.mode == RunMode::Merge)
      s.say(fmt::format("{}: no shard finished it; running it here", task.id));
    records[i] = run_one(s, i, paths, s.run.mode == RunMode::Merge);
  }
  for (size_t i = 0; i < s.plan.tasks.size(); ++i) {
    if (s.run.mode == RunMode::Shard || records[i].status != TaskStatus::Error ||
        records[i].retried)
      continue;
    // No time or disk left for a second try: the first one's error is the report.
    if (!reason_to_skip(s).empty()) continue;
    records[i] = run_one(s, i, paths, true);
  }
  return records;
}

void render_files(const fs::path& out_dir, const Plan& plan, const std::vector<TaskRecord>& records,
                  const nlohmann::ordered_json& summary) {
  write_file_atomically(out_dir / "junit.xml", render_junit(plan, records, summary));
  write_file_atomically(out_dir / "summary.md", render_markdown(summary, out_dir));
  write_html_report(out_dir, summary);
}

// The latest earlier night of the same campaign beside OUT (reports/<night>/).
fs::path find_previous(const Session& s, nlohmann::json* summary) {
  fs::path best;
  std::string best_night;
  std::error_code ec;
  const fs::path parent = fs::absolute(s.run.out_dir).parent_path();
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    const fs::path file = e.path() / "summary.json";
    if (e.path() == fs::absolute(s.run.out_dir) || !fs::exists(file, ec)) continue;
    nlohmann::json j = nlohmann::json::parse(read_text(file), nullptr, false);
    if (!j.is_object() || !j.contains("campaign")) continue;
    const std::string night = j["campaign"].value("night", "");
    if (j["campaign"].value("name", "") != s.config.name || night >= s.run.night) continue;
    if (night > best_night || (night == best_night && e.path() > best)) {
      best = e.path();
      best_night = night;
      *summary = std::move(j);
    }
  }
  return best;
}

std::vector<std::string> expand_kernels(const std::vector<std::string>& kernels) {
  std::vector<std::string> out;
  for (const std::string& k : kernels) {
    if (k != "cached") {
      out.push_back(k);
      continue;
    }
    for (const std::string& v : vm::cached_kernel_versions()) out.push_back(v);
  }
  return out;
}

// The findings stage, the summary and its renderings.
std::string write_reports(const Session& s, const std::vector<TaskRecord>& records,
                          nlohmann::ordered_json* summary_out) {
  FindingsStageInput in{s.run.loopcheck,
                        s.run.out_dir,
                        s.run.night,
                        {},
                        {},
                        nullptr,
                        s.config.findings,
                        expand_kernels(s.config.findings.triage_kernels)};
  for (const Task& t : s.plan.tasks) {
    if (t.stage == Stage::Fuzz) in.task_findings_dirs.push_back(findings_dir({s.tasks_dir()}, t));
  }
  if (!s.run.previous_dir.empty()) {
    in.previous_dir = s.run.previous_dir;
    in.previous_summary =
        nlohmann::json::parse(read_text(in.previous_dir / "summary.json"), nullptr, false);
    if (in.previous_summary.is_discarded())
      return s.run.previous_dir + "/summary.json: not a campaign summary (--previous)";
  } else {
    in.previous_dir = find_previous(s, &in.previous_summary);
  }
  s.say(fmt::format("findings stage{}", in.previous_dir.empty()
                                            ? std::string(" (no previous night)")
                                            : " against " + in.previous_dir.string()));
  in.say = [&s](const std::string& line) { s.say(line); };
  const FindingsStageResult findings = run_findings_stage(in);
  SummaryInput input{s.config.name,
                     s.run.night,
                     s.run.loopcheck_version,
                     s.config.fuzz.seeds,
                     in.previous_dir.empty()
                         ? std::string()
                         : fs::relative(in.previous_dir, fs::absolute(s.run.out_dir)).string(),
                     &s.plan,
                     &records,
                     findings.findings,
                     in.previous_summary,
                     findings.seconds};
  *summary_out = build_summary(input);
  write_file_atomically(s.run.out_dir / "summary.json", summary_out->dump(2) + "\n");
  render_files(s.run.out_dir, s.plan, records, *summary_out);
  return "";
}

int exit_code_of(const nlohmann::ordered_json& summary) {
  const nlohmann::json& t = summary["totals"];
  // A skipped task is work the night did not do: not a pass.
  const bool clean = t["tasks_failed"] == 0 && t["tasks_error"] == 0 && t["tasks_skipped"] == 0 &&
                     t["traces_failed"] == 0 && t["findings"]["new"] == 0 &&
                     t["findings"]["open"] == 0;
  return clean ? 0 : 1;
}

}  // namespace

std::string rerender_report(const fs::path& dir) {
  const std::string text = read_text(dir / "summary.json");
  const nlohmann::ordered_json summary = nlohmann::ordered_json::parse(text, nullptr, false);
  if (summary.is_discarded() || summary.value("schema", 0) != kSummarySchema)
    return fmt::format("{}: no summary.json of schema {} here; is it a campaign's report folder?",
                       dir.string(), kSummarySchema);
  Plan plan;
  std::string why;
  if (!plan_from_json(nlohmann::json::parse(read_text(dir / "plan.json"), nullptr, false), &plan,
                      &why))
    return (dir / "plan.json").string() + ": " + why;
  std::vector<TaskRecord> records(plan.tasks.size());
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    if (!read_record(record_path({dir / "tasks"}, plan.tasks[i]), &records[i]))
      records[i] = TaskRecord{
          plan.tasks[i].id, TaskStatus::Skipped, -1, 0, false, false, "no record of this task",
          nullptr};
  }
  try {
    render_files(dir, plan, records, summary);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

CampaignOutcome run_campaign(const CampaignRun& run) {
  CampaignOutcome outcome;
  stop_children_on_signals();
  if (std::string why = prepare_out_dir(run); !why.empty()) {
    fmt::print(stderr, "{}\n", why);
    return outcome;
  }
  Session s{run, {}, {}, Clock::now(), 0};
  if (std::string why = load_session(&s); !why.empty()) {
    fmt::print(stderr, "{}\n", why);
    return outcome;
  }
  nlohmann::ordered_json summary;
  try {
    const std::vector<TaskRecord> records = run_tasks(s);
    if (run.mode == RunMode::Shard) {
      outcome.exit_code = 0;
      return outcome;
    }
    if (std::string why = write_reports(s, records, &summary); !why.empty()) {
      fmt::print(stderr, "{}\n", why);
      return outcome;
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "campaign {}: {}\n", s.config.name, e.what());
    return outcome;
  }
  outcome.summary_path = (run.out_dir / "summary.json").string();
  outcome.exit_code = exit_code_of(summary);
  return outcome;
}

}  // namespace loopcheck::campaign
