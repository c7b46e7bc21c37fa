#include "campaign/slurm.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "targets/subprocess.h"

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;

// squeue/scontrol queries cost the controller an RPC each; a campaign's merge
// takes minutes, so a few seconds of latency is nothing.
constexpr int kPollIntervalSeconds = 2;
// A controller restarting (or busy) stops answering for a while; give up waiting
// only after this long without an answer.
constexpr int kControllerSilenceLimitSeconds = 300;
// Where the scripts and the jobs' output go, under OUT.
constexpr const char* kSlurmDir = "slurm";

const char* const kStartHint =
    "start one: scripts/slurm-local.sh start, then export the SLURM_CONF it prints";

// `text` as one bash word: single quotes keep everything literal (spaces, $, `,
// newlines) except a single quote, which closes, escapes and reopens.
std::string sh_quoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

struct Captured {
  int spawn_errno = 0;  // posix_spawnp's error: ENOENT when the program is not installed
  int exit_code = -1;   // -1 when killed by a signal
  std::string out, err;
};

// Reads both pipes to their ends (poll, so a chatty stderr cannot block stdout).
void drain(int out_fd, int err_fd, Captured& into) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&into.out, &into.err};
  int open_count = 2;
  char buffer[4096];
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
        continue;
      }
      fds[i].fd = -1;  // poll skips negative fds
      --open_count;
    }
  }
}

// Runs `argv` (argv[0] looked up in PATH, no shell) in `cwd`, capturing stdout and
// stderr apart: sbatch --parsable prints the job id on stdout, warnings on stderr.
Captured run_captured(const std::vector<std::string>& argv, const std::string& cwd = {}) {
  Captured result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return {errno, -1, {}, {}};
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.spawn_errno = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return result;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  // Nothing of ours (a trace's loop fd, a report being written) leaks into sbatch.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  pid_t pid = -1;
  result.spawn_errno = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (result.spawn_errno == 0) drain(out_pipe[0], err_pipe[0], result);
  close(out_pipe[0]);
  close(err_pipe[0]);
  if (result.spawn_errno != 0) return result;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string trimmed(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

// What a failed client run said, on one line for an error message (without the
// banner of asterisks `scontrol ping` prints under "is DOWN").
std::string said(const Captured& run) {
  std::istringstream lines(run.err.empty() ? run.out : run.err);
  std::string text;
  for (std::string line; std::getline(lines, line);) {
    line = trimmed(line);
    if (line.empty() || line.starts_with("*")) continue;
    text += (text.empty() ? "" : "; ") + line;
  }
  return text.empty() ? fmt::format("exit code {}", run.exit_code) : text;
}

// The #SBATCH lines both jobs share. Each job runs where it was submitted
// (OUT/slurm), so `output` is a bare file name: no user path meets sbatch's
// parser or its %-patterns.
std::string sbatch_header(const SlurmSubmission& s, const std::string& job_name,
                          const std::string& output) {
  std::string text = fmt::format("#SBATCH --job-name={}\n", job_name);
  text += "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n";
  text += s.time_limit_minutes == 0 ? std::string("#SBATCH --time=UNLIMITED\n")
                                    : fmt::format("#SBATCH --time={}\n", s.time_limit_minutes);
  if (!s.partition.empty()) text += fmt::format("#SBATCH --partition={}\n", s.partition);
  text += fmt::format("#SBATCH --output={}\n", output);
  // Requeued (and rerun from the start) when the node dies or the job is preempted;
  // both scripts are safe to rerun.
  text += "#SBATCH --requeue\n";
  return text;
}

// The shell variables both scripts use; every path single-quoted.
std::string path_variables(const SlurmSubmission& s) {
  return fmt::format("loopcheck={}\nconfig={}\nout={}\n", sh_quoted(s.loopcheck),
                     sh_quoted(s.config_path), sh_quoted(s.out_dir));
}

bool valid_partition(const std::string& partition) {
  for (char c : partition) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_.,-", c);
    if (!ok) return false;
  }
  return true;
}

// What is wrong with the submission itself, before Slurm is asked anything.
std::string submission_error(const SlurmSubmission& s) {
  if (s.shards == 0) return "--shards must be at least 1";
  if (!valid_partition(s.partition))
    return fmt::format("partition name '{}': only letters, digits and _.,- are allowed",
                       s.partition);
  const std::pair<const char*, const std::string*> paths[] = {
      {"loopcheck binary", &s.loopcheck}, {"config", &s.config_path}, {"out dir", &s.out_dir}};
  for (const auto& [what, path] : paths) {
    // The jobs run in another directory, maybe on another node.
    if (!fs::path(*path).is_absolute())
      return fmt::format("{} path '{}' is not absolute", what, *path);
  }
  std::error_code ec;
  if (!fs::is_regular_file(s.loopcheck, ec) || access(s.loopcheck.c_str(), X_OK) != 0)
    return fmt::format("{}: not an executable file", s.loopcheck);
  if (!fs::is_regular_file(s.config_path, ec))
    return fmt::format("{}: no such config file", s.config_path);
  return {};
}

// Whether the Slurm client tools are installed and a controller answers them.
std::string slurm_unreachable() {
  if (!vm::program_in_path("sbatch"))
    return "sbatch not found in PATH: install Slurm's client tools (apt-get install "
           "slurm-client)";
  // scontrol retries a missing SLURM_CONF file for 60 s before failing: say so now.
  const char* conf = std::getenv("SLURM_CONF");
  std::error_code ec;
  if (conf && *conf && !fs::exists(conf, ec))
    return fmt::format("SLURM_CONF={} does not exist; {}", conf, kStartHint);
  const Captured ping = run_captured({"scontrol", "ping"});
  if (ping.spawn_errno != 0 || ping.exit_code != 0 || ping.out.find("is UP") == std::string::npos)
    return fmt::format("no Slurm controller reachable (scontrol ping: {}); {}",
                       ping.spawn_errno ? std::strerror(ping.spawn_errno) : said(ping), kStartHint);
  return {};
}

std::string write_file(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) return fmt::format("cannot write {}: {}", path.string(), std::strerror(errno));
  return {};
}

// Submits `script` from `dir` (its jobs' working directory); the job id, or "" and `error`.
std::string sbatch(const fs::path& dir, const std::vector<std::string>& options,
                   const std::string& script, std::string& error) {
  std::vector<std::string> argv{"sbatch", "--parsable"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back((dir / script).string());
  const Captured run = run_captured(argv, dir.string());
  if (run.spawn_errno != 0) {
    error = fmt::format("cannot run sbatch: {}", std::strerror(run.spawn_errno));
    return {};
  }
  // --parsable prints "<id>" or "<id>;<cluster>".
  const std::string line = trimmed(run.out);
  const std::string id = line.substr(0, line.find(';'));
  const bool numeric = !id.empty() && id.find_first_not_of("0123456789") == std::string::npos;
  if (run.exit_code != 0 || !numeric) {
    error = fmt::format("sbatch rejected {}: {}", (dir / script).string(), said(run));
    return {};
  }
  return id;
}

// merge.exit's exit code when `job_id` wrote it: "<exit code> <job id>". The id
// tells this run's file from one a concurrent or earlier merge into OUT left.
std::optional<int> read_exit_file(const fs::path& path, const std::string& job_id) {
  std::ifstream file(path);
  int code = 0;
  std::string writer;
  if (file >> code >> writer && writer == job_id) return code;
  return std::nullopt;
}

// `Key=` field of `scontrol show job` output ("" when absent).
std::string scontrol_field(const std::string& text, const std::string& key) {
  size_t at = text.find(" " + key + "=");
  if (at == std::string::npos) at = text.find("\n" + key + "=");
  if (at == std::string::npos) return {};
  at += key.size() + 2;
  return text.substr(at, text.find_first_of(" \n", at) - at);
}

enum class Queue { kQueued, kLeft, kNoAnswer };

// Whether job `id` is still in the queue: its "STATE REASON", or left, or no answer.
Queue queue_state(const std::string& id, std::string& state_reason) {
  const Captured run = run_captured({"squeue", "-h", "-j", id, "-o", "%T %r"});
  state_reason = trimmed(run.out);
  if (run.spawn_errno == 0 && run.exit_code == 0)
    return state_reason.empty() ? Queue::kLeft : Queue::kQueued;
  // Purged from the controller's memory (MinJobAge after it ended): it left.
  if (run.err.find("Invalid job id") != std::string::npos) return Queue::kLeft;
  state_reason = said(run);
  return Queue::kNoAnswer;
}

// A pending reason that no amount of waiting fixes without a person.
bool stuck(const std::string& state_reason) {
  return state_reason.starts_with("PENDING") &&
         (state_reason.find("DependencyNeverSatisfied") != std::string::npos ||
          state_reason.find("Held") != std::string::npos ||
          state_reason.find("held") != std::string::npos);
}

// Fills merge_state/merge_exit_code once the merge job has left the queue.
void read_merge_outcome(const SlurmSubmission& s, SlurmJobs& jobs) {
  const fs::path exit_file = fs::path(s.out_dir) / kSlurmDir / "merge.exit";
  const Captured show = run_captured({"scontrol", "-o", "show", "job", jobs.merge_job_id});
  const std::string state = show.exit_code == 0 ? scontrol_field(show.out, "JobState") : "";
  // The script renamed merge.exit into place before it exited, so it is there
  // now if the script got that far.
  const std::optional<int> code = read_exit_file(exit_file, jobs.merge_job_id);
  if (code) {
    jobs.ok = true;
    jobs.merge_exit_code = *code;
    jobs.merge_state = !state.empty() ? state : *code == 0 ? "COMPLETED" : "FAILED";
    return;
  }
  jobs.merge_state = state.empty() ? "UNKNOWN" : state;
  jobs.error = fmt::format("merge job {} ended {} without writing {}: see {}", jobs.merge_job_id,
                           jobs.merge_state, exit_file.string(),
                           (fs::path(s.out_dir) / kSlurmDir / "merge.out").string());
}

void wait_for_merge(const SlurmSubmission& s, SlurmJobs& jobs) {
  int silent_seconds = 0;
  while (true) {
    std::string state_reason;
    const Queue queue = queue_state(jobs.merge_job_id, state_reason);
    if (queue == Queue::kLeft) break;
    if (queue == Queue::kQueued && stuck(state_reason)) {
      jobs.error = fmt::format(
          "merge job {} cannot start ({}); it is still queued: see "
          "`squeue -j {}`, release or cancel it",
          jobs.merge_job_id, state_reason, jobs.merge_job_id);
      return;
    }
    silent_seconds = queue == Queue::kNoAnswer ? silent_seconds + kPollIntervalSeconds : 0;
    if (silent_seconds > kControllerSilenceLimitSeconds) {
      jobs.error = fmt::format("lost the Slurm controller while waiting for merge job {}: {}",
                               jobs.merge_job_id, state_reason);
      return;
    }
    std::this_thread::sleep_for(std::chrono::seconds(kPollIntervalSeconds));
  }
  read_merge_outcome(s, jobs);
}

}  // namespace

std::string array_job_script(const SlurmSubmission& s) {
  std::string text =
      "#!/bin/bash\n"
      "# A loopcheck campaign's shards, one per array task (written by `loopcheck campaign\n"
      "# --slurm`). Submit it from its own directory: the output path is relative.\n";
  text += sbatch_header(s, "loopcheck-shard", "shard-%a.out");
  text += fmt::format("#SBATCH --array=0-{}\n", s.shards == 0 ? 0 : s.shards - 1);
  text += path_variables(s);
  // Slurm does not rerun a job that exited non-zero, so a shard retries itself;
  // exit 0 means it ran (whatever its tasks found), so only crashes retry.
  text += fmt::format("attempts={}\n", s.retries + 1);
  text += fmt::format(
      "for ((attempt = 1; attempt <= attempts; attempt++)); do\n"
      "  \"$loopcheck\" campaign --config \"$config\" --out \"$out\" "
      "--shard \"$SLURM_ARRAY_TASK_ID\" --shards {}\n"
      "  code=$?\n"
      "  if ((code == 0)); then exit 0; fi\n"
      "  echo \"loopcheck shard $SLURM_ARRAY_TASK_ID: attempt $attempt of $attempts exited "
      "$code\" >&2\n"
      "done\n"
      "exit \"$code\"\n",
      s.shards);
  return text;
}

std::string merge_job_script(const SlurmSubmission& s) {
  std::string text =
      "#!/bin/bash\n"
      "# A loopcheck campaign's merge (written by `loopcheck campaign --slurm`), submitted\n"
      "# from its own directory with --dependency=afterany:<array job id> on sbatch's\n"
      "# command line: it runs however the shards ended, and reruns what they left.\n";
  text += sbatch_header(s, "loopcheck-merge", "merge.out");
  text += path_variables(s);
  text +=
      "\"$loopcheck\" campaign --config \"$config\" --out \"$out\" --merge\n"
      "code=$?\n"
      "# For `--wait`: the controller forgets a job minutes after it ends; a file does\n"
      "# not. The job id tells this job's file from another merge's into the same OUT.\n"
      "tmp=\"$out/slurm/merge.exit.$$.tmp\"\n"
      "printf '%d %s\\n' \"$code\" \"${SLURM_JOB_ID:-none}\" >\"$tmp\" &&\n"
      "  mv -f \"$tmp\" \"$out/slurm/merge.exit\"\n"
      "exit \"$code\"\n";
  return text;
}

SlurmJobs submit_campaign(const SlurmSubmission& s) {
  SlurmJobs jobs;
  jobs.error = submission_error(s);
  if (jobs.error.empty()) jobs.error = slurm_unreachable();
  if (!jobs.error.empty()) return jobs;
  const fs::path dir = fs::path(s.out_dir) / kSlurmDir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    jobs.error = fmt::format("cannot create {}: {}", dir.string(), ec.message());
    return jobs;
  }
  // A previous run's exit code must not pass for this run's.
  fs::remove(dir / "merge.exit", ec);
  jobs.error = write_file(dir / "array.sbatch", array_job_script(s));
  if (jobs.error.empty()) jobs.error = write_file(dir / "merge.sbatch", merge_job_script(s));
  if (!jobs.error.empty()) return jobs;
  jobs.array_job_id = sbatch(dir, {}, "array.sbatch", jobs.error);
  if (jobs.array_job_id.empty()) return jobs;
  jobs.merge_job_id =
      sbatch(dir, {"--dependency=afterany:" + jobs.array_job_id}, "merge.sbatch", jobs.error);
  if (jobs.merge_job_id.empty()) {
    // Shards nobody merges would only burn the cluster.
    run_captured({"scancel", jobs.array_job_id});
    jobs.error += fmt::format(" (cancelled array job {})", jobs.array_job_id);
    return jobs;
  }
  if (!s.wait) {
    jobs.ok = true;
    return jobs;
  }
  wait_for_merge(s, jobs);
  return jobs;
}

}  // namespace loopcheck::campaign
