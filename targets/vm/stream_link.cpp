#include "targets/vm/stream_link.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "targets/fork_guard.h"

namespace loopcheck::vm {
namespace fs = std::filesystem;
namespace {

constexpr int kPollSliceMs = 50;        // how often a wait checks that the agent still lives
constexpr int kShutdownGraceMs = 2000;  // for the agent to exit after Shutdown
constexpr int kTermGraceMs = 1000;      // for the agent to exit after SIGTERM
constexpr int kExitWaitMs = 1000;       // for an agent that closed the channel to exit
// An agent that stops reading its input fills the pipe or socket buffer: a
// write then waits this long before the agent counts as hung.
constexpr int kSendTimeoutMs = 30000;
constexpr size_t kLogTailBytes = 2000;

// What to do about an agent that did not come up or stopped answering.
constexpr const char* kFix =
    "check that the agent runs on its own and speaks docs/agent-protocol.md (protocol version "
    "5); `loopcheck agent-check --target ...` says where it does not";

// Forks `sh -c command` with its stdin/stdout on pipes and its stderr to `log`,
// in a process group of its own that dies with the calling thread. The child's
// pid, or -1 with `why`.
pid_t spawn_shell(const std::string& command, const std::string& log, int* to_child,
                  int* from_child, std::string* why) {
  int in[2], out[2], shed[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(shed, O_CLOEXEC) != 0) {
    *why = fmt::format("pipe: {}", std::strerror(errno));
    return -1;
  }
  const pid_t parent = getpid();
  SpawnWindow no_step_meanwhile;  // targets/fork_guard.h: our loop fds stay ours
  const pid_t pid = fork();
  const int fork_errno = errno;
  if (pid == 0) {
    setpgid(0, 0);
    // Ends with the thread that started it; SIGTERM, so that an agent sharing
    // the machine's loop devices gives back its own first.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    const int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err < 0 || dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err, 2) < 0) _exit(127);
    child_shed_inherited_fds(shed[1]);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(shed[1]);
  if (pid > 0) wait_until_child_shed_fds(shed[0]);
  close(shed[0]);
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    *why = fmt::format("fork: {}", std::strerror(fork_errno));
    return -1;
  }
  setpgid(pid, pid);                  // also from here, so the group exists before any kill
  fcntl(in[1], F_SETFL, O_NONBLOCK);  // a write never blocks past the send timeout
  *to_child = in[1];
  *from_child = out[0];
  return pid;
}

// A connected Unix stream socket at `path`, or -1 with `why`.
int connect_unix(const std::string& path, std::string* why) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *why =
        fmt::format("the socket path {} is longer than {} bytes", path, sizeof addr.sun_path - 1);
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *why = fmt::format("cannot connect to the socket {}: {}", path, std::strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

// A pty or serial line at `path`, raw (binary frames: no echo, no newline
// translation, no flow control), or -1 with `why`.
int open_tty(const std::string& path, std::string* why) {
  const int fd = open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    *why = fmt::format("cannot open {}: {}", path, std::strerror(errno));
    return -1;
  }
  termios tio{};
  if (tcgetattr(fd, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(fd, TCSANOW, &tio);
  }
  return fd;
}

// A write to an agent that is gone must fail with EPIPE, not end loopcheck:
// SIGPIPE is ignored process-wide (nothing in loopcheck relies on it).
void ignore_sigpipe() {
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

std::unique_ptr<StreamLink> StreamLink::spawn(const std::string& command, int ready_timeout_ms,
                                              std::string* why) {
  ignore_sigpipe();
  std::unique_ptr<StreamLink> link(new StreamLink());
  link->description_ = "exec:" + command;
  std::string tmpl = (fs::temp_directory_path() / "loopcheck-agent-XXXXXX.log").string();
  const int log = mkstemps(tmpl.data(), 4);
  if (log < 0) {
    *why = fmt::format("cannot create the agent's log in {}: {}",
                       fs::temp_directory_path().string(), std::strerror(errno));
    return nullptr;
  }
  close(log);
  link->log_path_ = tmpl;
  link->started_ = std::chrono::steady_clock::now();
  link->pid_ = spawn_shell(command, tmpl, &link->write_fd_, &link->read_fd_, why);
  link->group_ = link->pid_;
  if (link->pid_ < 0 || !link->wait_ready(ready_timeout_ms, why)) return nullptr;
  return link;
}

std::unique_ptr<StreamLink> StreamLink::open_serial(const std::string& path, int ready_timeout_ms,
                                                    std::string* why) {
  ignore_sigpipe();
  std::unique_ptr<StreamLink> link(new StreamLink());
  link->description_ = "serial:" + path;
  link->started_ = std::chrono::steady_clock::now();
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *why = fmt::format("{} does not exist: give the agent's Unix socket or pty", path);
    return nullptr;
  }
  const int fd = S_ISSOCK(st.st_mode) ? connect_unix(path, why) : open_tty(path, why);
  if (fd < 0) return nullptr;
  fcntl(fd, F_SETFL, O_NONBLOCK);  // a write never blocks past the send timeout
  link->read_fd_ = fd;
  link->write_fd_ = fd;
  if (!link->wait_ready(ready_timeout_ms, why)) return nullptr;
  return link;
}

bool StreamLink::wait_ready(int timeout_ms, std::string* why) {
  Frame frame;
  if (!wait_for_frame(FrameType::Ready, timeout_ms, &frame, why)) {
    *why = fmt::format("{}: the agent did not come up: {}", description_, *why);
    return false;
  }
  std::optional<ReadyInfo> ready = decode_ready(frame.payload);
  if (!ready) {
    *why = fmt::format("{}: the agent's Ready frame does not decode; {}", description_, kFix);
    close_link();
    return false;
  }
  if (ready->protocol_version != kProtocolVersion) {
    *why = fmt::format(
        "{}: the agent speaks protocol version {}, this loopcheck version {}: build the agent "
        "from the same source as loopcheck (docs/agent-protocol.md, \"Versions\")",
        description_, ready->protocol_version, kProtocolVersion);
    close_link();
    return false;
  }
  ready_ = *ready;
  boot_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return true;
}

bool StreamLink::pump(int slice_ms) {
  if (eof_) {
    poll(nullptr, 0, slice_ms);
    return false;
  }
  pollfd p{read_fd_, POLLIN, 0};
  if (poll(&p, 1, slice_ms) <= 0) return true;
  uint8_t buffer[4096];
  const ssize_t n = read(read_fd_, buffer, sizeof buffer);
  if (n > 0) {
    reader_.feed({buffer, static_cast<size_t>(n)});
    return true;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  eof_ = true;  // EOF, or EIO from a pty whose other side is gone
  return false;
}

bool StreamLink::wait_for_frame(FrameType type, int timeout_ms, Frame* out, std::string* why) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (std::optional<Frame> frame = reader_.next()) {
      if (frame->type == type) {
        *out = std::move(*frame);
        return true;
      }
      *why = fmt::format("the agent answered {} (type {}) where {} was due; {}",
                         frame_type_name(frame->type), static_cast<int>(frame->type),
                         frame_type_name(type), kFix);
    } else if (reader_.broken()) {
      *why = fmt::format("the agent sent a frame header announcing more than {} bytes; {}",
                         kMaxFramePayload, kFix);
    } else if (eof_) {
      // An exec: agent that closed its stdout is on its way out: its status
      // says more than the EOF.
      await_exit(kExitWaitMs);
      *why = ending() + "; " + kFix;
    } else if (Clock::now() >= deadline) {
      *why = fmt::format("no answer from the agent within {} ms (hang){}", timeout_ms,
                         log_path_.empty() ? "" : "; its stderr ends:\n" + log_tail());
    } else {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pump(static_cast<int>(std::min<int64_t>(kPollSliceMs, left.count() + 1)));
      continue;
    }
    close_link();
    return false;
  }
}

std::optional<Frame> StreamLink::call(const std::vector<uint8_t>& frame, FrameType reply,
                                      int timeout_ms, std::string* why) {
  if (!send_bytes(frame, why)) return std::nullopt;
  Frame answer;
  if (!wait_for_frame(reply, timeout_ms, &answer, why)) return std::nullopt;
  return answer;
}

bool StreamLink::send_bytes(std::span<const uint8_t> bytes, std::string* why) {
  if (closed_) {
    *why = description_ + ": the agent is not running";
    return false;
  }
  for (size_t done = 0; done < bytes.size();) {
    // MSG_NOSIGNAL only exists for sockets; a pipe's EPIPE needs SIGPIPE ignored.
    const ssize_t n = write(write_fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{write_fd_, POLLOUT, 0};
      if (poll(&p, 1, kSendTimeoutMs) > 0) continue;
      *why = fmt::format("{}: the agent did not read its input for {} ms (hang)", description_,
                         kSendTimeoutMs);
      close_link();
      return false;
    }
    if (n <= 0) {
      const int err = errno;
      await_exit(kExitWaitMs);
      *why = fmt::format("{}: the channel to the agent broke ({}): {}", description_,
                         std::strerror(err), ending());
      close_link();
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

ChannelEnd StreamLink::wait_for_close(int timeout_ms, std::string* why) {
  for (int waited = 0; waited <= timeout_ms; waited += kPollSliceMs) {
    if (reader_.next() || reader_.broken()) {
      *why = "the agent sent a frame instead of closing the channel";
      close_link();
      return ChannelEnd::SentFrame;
    }
    if (eof_) {
      await_exit(kExitWaitMs);  // an exec: agent that closed its stdout is on its way out
      close_link();
      return ChannelEnd::Closed;
    }
    pump(kPollSliceMs);
  }
  *why = fmt::format("the agent kept the channel open for {} ms", timeout_ms);
  close_link();
  return ChannelEnd::Timeout;
}

// Whether the exec: child (the group's leader: `sh`, or what it exec'd) has
// ended, waiting for it when `wait`; a serial link has no process.
bool StreamLink::reap(bool wait) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = 0;
  do {
    r = waitpid(pid_, &status, wait ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  exit_status_ = status;
  pid_ = -1;
  return true;
}

// Up to `ms` for the child to end on its own.
void StreamLink::await_exit(int ms) {
  for (int waited = 0; waited < ms && !reap(false); waited += 10) poll(nullptr, 0, 10);
}

// Whether a process of the exec: child's group is left (the leader reaped when
// it can be: a zombie still counts as a member).
bool StreamLink::group_alive() {
  reap(false);
  return group_ > 0 && kill(-group_, 0) == 0;
}

std::string StreamLink::ending() const {
  std::string how = "the agent closed the channel";
  if (exit_status_ >= 0) {
    how = WIFEXITED(exit_status_)
              ? fmt::format("the agent exited with status {}", WEXITSTATUS(exit_status_))
              : fmt::format("the agent was killed by signal {}", WTERMSIG(exit_status_));
  }
  if (log_path_.empty()) return how;
  return how + "; its stderr ends:\n" + log_tail();
}

std::string StreamLink::log_tail() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (log.size() > kLogTailBytes) log = "..." + log.substr(log.size() - kLogTailBytes);
  return log.empty() ? "(nothing)" : log;
}

void StreamLink::close_link() {
  if (group_alive()) {
    // SIGTERM to the whole group (`sh -c` forks the agent): loopcheck's --stdio
    // agent then gives back its devices. What is left after the grace (an agent
    // hung in a system call) is killed.
    kill(-group_, SIGTERM);
    for (int waited = 0; waited < kTermGraceMs && group_alive(); waited += 10) poll(nullptr, 0, 10);
    if (group_alive()) kill(-group_, SIGKILL);
  }
  if (pid_ > 0) reap(true);
  group_ = -1;
  if (read_fd_ >= 0) close(read_fd_);
  if (write_fd_ >= 0 && write_fd_ != read_fd_) close(write_fd_);
  read_fd_ = write_fd_ = -1;
  closed_ = true;
}

void StreamLink::shutdown() {
  if (closed_) return;
  const std::vector<uint8_t> frame = encode_empty(FrameType::Shutdown);
  std::string why;
  if (send_bytes(frame, &why)) wait_for_close(kShutdownGraceMs, &why);
  close_link();
}

StreamLink::~StreamLink() {
  close_link();
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

}  // namespace loopcheck::vm
