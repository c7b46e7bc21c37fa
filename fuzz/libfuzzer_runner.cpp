#include "fuzz/libfuzzer_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "targets/fork_guard.h"

namespace loopcheck::fuzz {
namespace {

uint64_t number_after(const std::string& line, std::string_view key) {
  size_t at = line.rfind(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(line.c_str() + at + key.size(), nullptr, 10);
}

}  // namespace

void parse_libfuzzer_log(const std::string& text, LibFuzzerResult& into) {
  std::istringstream in(text);
  uint64_t edges = 0, features = 0, last_execs = 0, stat_execs = 0;
  double last_rate = 0, stat_rate = 0;
  bool have_stats = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("stat::number_of_executed_units:")) {
      stat_execs += number_after(line, ":");
      have_stats = true;
    }
    if (line.starts_with("stat::average_exec_per_sec:"))
      stat_rate += double(number_after(line, ":"));
    // Progress lines: `#N NEW cov: E ft: F ... exec/s: R` (one process) or
    // `#N: cov: E ft: F ... exec/s R ...` (fork mode, whose totals are these).
    if (line.starts_with("#") && line.find(" cov: ") != std::string::npos) {
      edges = number_after(line, " cov: ");
      features = number_after(line, " ft: ");
      last_execs = std::strtoull(line.c_str() + 1, nullptr, 10);
      const bool fork_style = line.find("exec/s: ") == std::string::npos;
      last_rate = double(number_after(line, fork_style ? "exec/s " : "exec/s: "));
    }
  }
  into.execs += have_stats ? stat_execs : last_execs;
  into.execs_per_second += have_stats ? stat_rate : last_rate;
  into.edges = std::max(into.edges, edges);
  into.features = std::max(into.features, features);
}

namespace {

// Runs `args` in `dir` with stdout and stderr to `log`: 0 and *pid, or an errno.
int spawn_in_dir(std::vector<std::string>& args, const std::string& log, const std::string& dir,
                 pid_t* pid) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  // No copy of a host target's loop fd may outlive the spawn (targets/fork_guard.h);
  // posix_spawn returns once the child has exec'd, so its file actions are done.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  int rc = 0;
  {
    SpawnWindow no_step_meanwhile;
    rc = posix_spawn(pid, argv[0], &actions, nullptr, argv.data(), environ);
  }
  posix_spawn_file_actions_destroy(&actions);
  return rc;
}

}  // namespace

namespace {

// The crash inputs and what every worker's logs say.
void collect_results(const std::filesystem::path& work, LibFuzzerResult& result) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> logs;
  for (const fs::directory_entry& e : fs::directory_iterator(work, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("worker-") && name.ends_with(".log")) logs.push_back(e.path().string());
    for (std::string_view kind : {"crash-", "leak-", "timeout-", "oom-"}) {
      if (name.starts_with(kind)) result.crashes.push_back(e.path().string());
    }
  }
  std::sort(result.crashes.begin(), result.crashes.end());
  std::sort(logs.begin(), logs.end());
  for (const std::string& path : logs) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    parse_libfuzzer_log(text.str(), result);
  }
}

}  // namespace

namespace {

struct Worker {
  pid_t pid = 0;
  unsigned runs = 0;  // processes this worker has started
};

// The fuzzer's argument vector for worker `index`'s next process.
std::vector<std::string> worker_args(const LibFuzzerRun& run, const std::filesystem::path& work,
                                     const std::string& corpus, unsigned index, unsigned seconds) {
  std::vector<std::string> args{std::filesystem::absolute(run.binary).string(),
                                "-seed=" + std::to_string(run.seed + index),
                                "-max_total_time=" + std::to_string(seconds),
                                "-timeout=30",
                                "-rss_limit_mb=4096",
                                "-print_final_stats=1",
                                "-artifact_prefix=" + (work / "").string()};
  if (run.max_len) args.push_back("-max_len=" + std::to_string(run.max_len));
  if (!run.dict.empty()) args.push_back("-dict=" + run.dict);
  args.push_back(corpus);
  for (const std::string& d : run.seed_dirs) args.push_back(d);
  return args;
}

using Clock = std::chrono::steady_clock;

unsigned seconds_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<unsigned>(left.count()) : 0;
}

// Starts worker `index`'s next process; false (and `error`) when it cannot.
bool start_worker(const LibFuzzerRun& run, const std::filesystem::path& work,
                  const std::string& corpus, unsigned index, unsigned seconds, Worker& worker,
                  std::string& error) {
  std::vector<std::string> args = worker_args(run, work, corpus, index, seconds);
  const std::string log =
      (work / ("worker-" + std::to_string(index) + "-" + std::to_string(worker.runs) + ".log"))
          .string();
  ++worker.runs;
  if (const int rc = spawn_in_dir(args, log, work.string(), &worker.pid)) {
    error = args[0] + ": " + std::strerror(rc);
    return false;
  }
  return true;
}

}  // namespace

// J plain libFuzzer processes on one shared corpus (each reloads what the others
// add), restarted after a crash until the deadline: a campaign collects every
// finding, not the first. Fork mode (-fork=J -ignore_crashes=1) does that too, but
// restarts and merges a child every few seconds: it ran at a third of the bare
// binary's rate (306 vs 977 execs/s on 2 loaded cores, 2026-12-05).
LibFuzzerResult run_libfuzzer(const LibFuzzerRun& run) {
  namespace fs = std::filesystem;
  LibFuzzerResult result;
  std::error_code ec;
  if (!fs::exists(run.binary, ec)) {
    result.error = run.binary + ": no such fuzzer binary";
    return result;
  }
  const fs::path work = fs::absolute(run.work_dir);
  fs::create_directories(work / "corpus", ec);
  result.corpus_dir = (work / "corpus").string();
  const Clock::time_point started = Clock::now();
  const Clock::time_point deadline = started + std::chrono::seconds(run.seconds);
  std::vector<Worker> workers(std::max(1u, run.jobs));
  for (unsigned i = 0; i < workers.size(); ++i) {
    if (!start_worker(run, work, result.corpus_dir, i, run.seconds, workers[i], result.error))
      return result;
  }
  result.ran = true;
  for (size_t running = workers.size(); running > 0;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    auto it = std::find_if(workers.begin(), workers.end(),
                           [pid](const Worker& w) { return w.pid == pid; });
    if (it == workers.end()) continue;
    const int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (exit_status != 0) result.exit_status = exit_status;
    const unsigned left = seconds_left(deadline);
    // A process that stopped early stopped on a crash: the next one goes on.
    if (exit_status != 0 && left >= 2 &&
        start_worker(run, work, result.corpus_dir, static_cast<unsigned>(it - workers.begin()),
                     left, *it, result.error))
      continue;
    --running;
  }
  collect_results(work, result);
  const double wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  result.execs_per_second = wall_seconds > 0 ? double(result.execs) / wall_seconds : 0;
  return result;
}

}  // namespace loopcheck::fuzz
