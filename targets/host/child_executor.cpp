#include "targets/host/child_executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "targets/fork_guard.h"
#include "targets/host/capability.h"
#include "targets/vm/protocol.h"

namespace loopcheck::host {
namespace {

bool write_all(int fd, const void* data, size_t size_bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size_bytes > 0) {
    const ssize_t n = ::write(fd, p, size_bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size_bytes -= static_cast<size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* data, size_t size_bytes) {
  auto* p = static_cast<uint8_t*>(data);
  while (size_bytes > 0) {
    const ssize_t n = ::read(fd, p, size_bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size_bytes -= static_cast<size_t>(n);
  }
  return true;
}

// One frame of the VM protocol (header, then payload); nullopt at EOF or on a
// header announcing more than a frame may hold.
std::optional<std::vector<uint8_t>> read_frame(int fd) {
  std::array<uint8_t, vm::kFrameHeaderSize> header{};
  if (!read_all(fd, header.data(), header.size())) return std::nullopt;
  const uint32_t size_bytes = uint32_t{header[0]} | uint32_t{header[1]} << 8 |
                              uint32_t{header[2]} << 16 | uint32_t{header[3]} << 24;
  if (size_bytes > vm::kMaxFramePayload) return std::nullopt;
  std::vector<uint8_t> payload(size_bytes);
  if (!read_all(fd, payload.data(), payload.size())) return std::nullopt;
  return payload;
}

// An fd the child opened, moved out of the parent's range (see the header).
Outcome moved_out_of_parent_range(Outcome o) {
  if (o.kind != Outcome::Kind::Value || o.role != ValueRole::Fd || o.value < 0) return o;
  const int fd = static_cast<int>(o.value);
  const int moved = ::fcntl(fd, F_DUPFD, kChildFdBase);
  if (moved < 0) return Outcome::error(errno);  // RLIMIT_NOFILE below the base: says EMFILE
  ::close(fd);
  o.value = moved;
  return o;
}

// Spins until a request is waiting (or kSpinNs passed), so that the call starts
// microseconds after the parent's block thread sends it: a blocking read would
// add a wake-up (tens of microseconds) and bias every race toward the process
// thread being late. The parent's side blocks, so only one core spins.
void wait_for_request(int socket) {
  constexpr int64_t kSpinNs = 20'000'000;
  const int64_t until = monotonic_ns() + kSpinNs;
  uint8_t byte = 0;
  while (::recv(socket, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN &&
         monotonic_ns() < until) {
  }
}

// The child: serves Ops until the parent closes the socket, then exits without
// running the parent's atexit handlers (they belong to the parent's state).
[[noreturn]] void serve(int socket, const SyscallExecutorConfig& config,
                        bool without_cap_sys_admin) {
  constexpr int kCapSysAdmin = 21;
  EffectiveCapabilityDrop as_caller(kCapSysAdmin, without_cap_sys_admin);
  if (!as_caller.ok()) ::_exit(1);  // the parent reads EOF: the thread's calls are skipped
  SyscallExecutor executor(config);
  for (;;) {
    wait_for_request(socket);
    const std::optional<std::vector<uint8_t>> payload = read_frame(socket);
    if (!payload) break;
    const std::optional<Op> op = vm::decode_op(*payload);
    if (!op) break;
    CallClock clock;
    clock.start();
    Outcome o = executor.execute(*op);
    clock.end();
    if (op->kind == OpKind::Open) o = moved_out_of_parent_range(o);
    const std::vector<uint8_t> frame = vm::encode_outcome(o);
    const std::array<int64_t, 2> times{clock.start_ns, clock.end_ns};
    if (!write_all(socket, frame.data(), frame.size()) ||
        !write_all(socket, times.data(), sizeof times))
      break;
  }
  ::_exit(0);
}

}  // namespace

ChildExecutor::ChildExecutor(SyscallExecutorConfig config, bool without_cap_sys_admin) {
  std::array<int, 2> pair{-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0) {
    error_ = std::string("socketpair for a process thread: ") + std::strerror(errno);
    return;
  }
  SpawnWindow no_steps_while_our_fds_are_copied;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::close(pair[0]);
    serve(child_shed_inherited_fds(pair[1]), config, without_cap_sys_admin);
  }
  ::close(pair[1]);
  socket_ = pair[0];
  if (pid_ < 0) {
    error_ = std::string("fork for a process thread: ") + std::strerror(errno);
    ::close(socket_);
    socket_ = -1;
    return;
  }
  wait_until_child_shed_fds(socket_);
}

ChildExecutor::~ChildExecutor() {
  stop();
}

void ChildExecutor::stop() {
  if (socket_ >= 0) ::close(socket_);  // EOF: the child exits, closing its fds
  socket_ = -1;
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

Outcome ChildExecutor::execute(const Op& op, CallClock& clock) {
  if (!error_.empty()) return Outcome::skipped();
  const std::vector<uint8_t> frame = vm::encode_op(op);
  std::array<int64_t, 2> times{};
  std::optional<std::vector<uint8_t>> reply;
  if (write_all(socket_, frame.data(), frame.size())) reply = read_frame(socket_);
  std::optional<Outcome> o = reply ? vm::decode_outcome(*reply) : std::nullopt;
  if (!o || !read_all(socket_, times.data(), sizeof times)) {
    error_ = "the process thread's child died or sent garbage";
    stop();
    return Outcome::skipped();
  }
  clock.start_ns = times[0];
  clock.end_ns = times[1];
  return *o;
}

}  // namespace loopcheck::host
