#include "fuzz/libfuzzer_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

  std::vector<std::string> args{fs::absolute(run.binary).string(),
                                "-seed=" + std::to_string(run.seed),
                                "-max_total_time=" + std::to_string(run.seconds),
                                "-timeout=30",
                                "-rss_limit_mb=4096",
                                "-print_final_stats=1",
                                "-artifact_prefix=" + (work / "").string()};
  if (run.max_len) args.push_back("-max_len=" + std::to_string(run.max_len));
  if (!run.dict.empty()) args.push_back("-dict=" + run.dict);
  // Fork mode keeps fuzzing past a crash (a campaign collects every finding, not
  // the first); each crash input is still saved under the artifact prefix.
  args.push_back("-fork=" + std::to_string(run.jobs));
  args.push_back("-ignore_crashes=1");
  args.push_back(result.corpus_dir);
  for (const std::string& d : run.seed_dirs) args.push_back(d);
  const std::string log = (work / "libfuzzer.log").string();
  pid_t pid = 0;
  if (const int rc = spawn_in_dir(args, log, work.string(), &pid)) {
    result.error = args[0] + ": " + std::strerror(rc);
    return result;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.ran = true;
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  std::vector<std::string> logs{log};
  for (const fs::directory_entry& e : fs::directory_iterator(work, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("fuzz-") && name.ends_with(".log")) logs.push_back(e.path().string());
    for (std::string_view kind : {"crash-", "leak-", "timeout-", "oom-"}) {
      if (name.starts_with(kind)) result.crashes.push_back(e.path().string());
    }
  }
  std::sort(result.crashes.begin(), result.crashes.end());
  for (const std::string& path : logs) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    parse_libfuzzer_log(text.str(), result);
  }
  return result;
}

}  // namespace loopcheck::fuzz
