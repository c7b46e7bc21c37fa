// The static agent as the exec: and serial: tests start it: `loopcheck-agent
// --stdio` on pipes, or with its stdio on a Unix socket the test listens on
// (what an emulator's serial port in server mode looks like to loopcheck).
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

namespace loopcheck::vm {

inline std::string agent_binary() {
  return std::string(LOOPCHECK_BINARY_DIR) + "/vm-agent/loopcheck-agent";
}

// A disk filesystem, as for the host target's sandboxes (not tmpfs: O_DIRECT).
inline std::string agent_workdir() {
  return "/var/tmp";
}

inline std::string agent_command() {
  return agent_binary() + " --stdio --workdir " + agent_workdir();
}

// Listens on a fresh Unix socket; the first connection gets the agent, started
// with the accepted socket as its stdin and stdout.
class SocketAgent {
 public:
  SocketAgent() {
    dir_ =
        std::filesystem::temp_directory_path() / ("loopcheck-serial-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "agent.sock").string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 1) != 0) {
      error_ = std::string("listen: ") + std::strerror(errno);
      return;
    }
    acceptor_ = std::thread([this] { serve_one(); });
  }
  ~SocketAgent() {
    if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (listen_fd_ >= 0) close(listen_fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool listening() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  // The agent's exit status, once it has ended (waits for it).
  int wait_exit_status() {
    if (acceptor_.joinable()) acceptor_.join();
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  void serve_one() {
    const int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;
    const std::string binary = agent_binary(), workdir = agent_workdir();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(conn, 0);
      dup2(conn, 1);
      execl(binary.c_str(), binary.c_str(), "--stdio", "--workdir", workdir.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(conn);
  }

  std::filesystem::path dir_;
  std::string path_;
  std::string error_;
  int listen_fd_ = -1;
  pid_t pid_ = -1;
  std::thread acceptor_;
};

}  // namespace loopcheck::vm
