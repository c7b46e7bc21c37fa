#include "campaign/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <thread>

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr auto kTickInterval = std::chrono::seconds(10);
constexpr auto kTermGrace = std::chrono::seconds(10);

int spawn_in_group(std::vector<std::string>& argv, const fs::path& out, const fs::path& err,
                   pid_t* pid) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  // The child dies with this process (cli/main.cpp): no task outlives its campaign.
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    if (!std::string_view(*e).starts_with("LOOPCHECK_DIE_WITH_PARENT=")) env_text.emplace_back(*e);
  }
  env_text.push_back("LOOPCHECK_DIE_WITH_PARENT=" + std::to_string(::getpid()));
  std::vector<char*> env;
  for (std::string& e : env_text) env.push_back(e.data());
  env.push_back(nullptr);
  const int rc = posix_spawnp(pid, args[0], &actions, &attributes, args.data(), env.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  return rc;
}

// The process group of the child running now: a campaign stopped by a signal
// stops it first (it has its own group, so a terminal's ^C does not reach it).
std::atomic<pid_t> g_child_group{0};

extern "C" void stop_child_and_die(int signal_number) {
  const pid_t group = g_child_group.load();
  if (group > 0) ::kill(-group, SIGTERM);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

}  // namespace

void stop_children_on_signals() {
  for (int s : {SIGINT, SIGTERM, SIGHUP}) std::signal(s, stop_child_and_die);
}

ChildRun run_child(std::vector<std::string> argv, const fs::path& stdout_path,
                   const fs::path& stderr_path, double budget_seconds, const Tick& tick) {
  ChildRun run;
  const Clock::time_point started = Clock::now();
  pid_t pid = 0;
  if (const int rc = spawn_in_group(argv, stdout_path, stderr_path, &pid)) {
    run.error = fmt::format("{}: {}", argv.front(), std::strerror(rc));
    return run;
  }
  run.started = true;
  g_child_group = pid;
  const auto budget = std::chrono::duration<double>(budget_seconds);
  Clock::time_point next_tick = started + kTickInterval, term_sent{};
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    std::this_thread::sleep_for(kPollInterval);
    const Clock::time_point now = Clock::now();
    if (tick && now >= next_tick) {
      tick(std::chrono::duration<double>(now - started).count());
      next_tick = now + kTickInterval;
    }
    if (now - started > budget && term_sent == Clock::time_point{}) {
      run.timed_out = true;
      ::kill(-pid, SIGTERM);
      term_sent = now;
    } else if (term_sent != Clock::time_point{} && now - term_sent > kTermGrace) {
      ::kill(-pid, SIGKILL);
    }
  }
  // Whatever the child left running in its group (a fuzzer worker, a QEMU) goes too.
  ::kill(-pid, SIGKILL);
  g_child_group = 0;
  run.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

}  // namespace loopcheck::campaign
