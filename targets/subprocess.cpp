#include "targets/subprocess.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "targets/fork_guard.h"

namespace loopcheck::vm {

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd) {
  ProcessResult result;
  if (argv.empty()) return result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return result;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // A pipe that reports whether exec succeeded: it closes on exec (O_CLOEXEC) or
  // carries the child's errno.
  int exec_fds[2];
  if (pipe2(exec_fds, O_CLOEXEC) != 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return result;
  }
  pid_t pid = -1;
  {
    SpawnWindow no_step_meanwhile;  // targets/fork_guard.h
    pid = fork();
    if (pid == 0) {
      dup2(pipe_fds[1], 1);
      dup2(pipe_fds[1], 2);
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      const int report = child_shed_inherited_fds(exec_fds[1]);
      if (cwd.empty() || chdir(cwd.c_str()) == 0) execvp(args[0], args.data());
      const int err = errno;
      (void)!write(report, &err, sizeof err);
      _exit(127);
    }
    close(pipe_fds[1]);
    close(exec_fds[1]);
    if (pid > 0) wait_until_child_shed_fds(exec_fds[0]);
  }
  if (pid < 0) {
    close(pipe_fds[0]);
    close(exec_fds[0]);
    return result;
  }
  char buffer[4096];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.output.size() < (1u << 20)) result.output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int exec_errno = 0;
  bool exec_failed =
      read(exec_fds[0], &exec_errno, sizeof exec_errno) == static_cast<ssize_t>(sizeof exec_errno);
  close(exec_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.started = !exec_failed;
  if (exec_failed)
    result.output = std::string("cannot execute ") + argv[0] + ": " + std::strerror(exec_errno);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string program_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

std::string shell_quoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

bool program_in_path(const std::string& program) {
  return !program_path(program).empty();
}

}  // namespace loopcheck::vm
