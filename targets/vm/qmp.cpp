#include "targets/vm/qmp.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace loopcheck::vm {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

int connect_once(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  close(fd);
  return -1;
}

}  // namespace

QmpClient::~QmpClient() {
  if (fd_ >= 0) close(fd_);
}

bool QmpClient::connect(const std::string& socket_path, int timeout_ms, std::string* why) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while ((fd_ = connect_once(socket_path)) < 0) {
    if (Clock::now() >= deadline) {
      *why = fmt::format("QEMU's monitor {} did not accept a connection within {} ms", socket_path,
                         timeout_ms);
      return false;
    }
    usleep(5000);
  }
  // QEMU greets first ({"QMP": ...}), then waits for the capabilities handshake.
  std::optional<nlohmann::json> greeting = read_message(remaining_ms(deadline), why);
  if (!greeting || !greeting->contains("QMP")) {
    if (greeting) *why = "QEMU's monitor did not greet with QMP";
    return false;
  }
  return execute("qmp_capabilities", nullptr, remaining_ms(deadline), why).has_value();
}

std::optional<nlohmann::json> QmpClient::execute(const std::string& command,
                                                 const nlohmann::json& arguments, int timeout_ms,
                                                 std::string* why) {
  nlohmann::json request = {{"execute", command}};
  if (!arguments.is_null()) request["arguments"] = arguments;
  const std::string line = request.dump() + "\n";
  // MSG_NOSIGNAL: a QEMU that already exited (a state it could not load) must
  // not kill loopcheck with SIGPIPE.
  if (fd_ < 0 ||
      send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    *why = fmt::format("cannot send {} to QEMU's monitor: {}", command, std::strerror(errno));
    return std::nullopt;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    std::optional<nlohmann::json> message = read_message(remaining_ms(deadline), why);
    if (!message) return std::nullopt;
    if (message->contains("return")) return (*message)["return"];
    if (message->contains("error")) {
      *why = fmt::format("QEMU refused {}: {}", command,
                         (*message)["error"].value("desc", std::string("no description")));
      return std::nullopt;
    }
    // An event ({"event": ...}): not the answer.
  }
}

std::optional<nlohmann::json> QmpClient::read_message(int timeout_ms, std::string* why) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (const size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      nlohmann::json message = nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false);
      buffer_.erase(0, nl + 1);
      if (message.is_discarded() || !message.is_object()) {
        *why = "QEMU's monitor sent something that is not a JSON object";
        return std::nullopt;
      }
      return message;
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, remaining_ms(deadline));
    if (ready == 0) {
      *why = fmt::format("QEMU's monitor did not answer within {} ms", timeout_ms);
      return std::nullopt;
    }
    char chunk[4096];
    const ssize_t n = ready > 0 ? read(fd_, chunk, sizeof chunk) : -1;
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      *why = "QEMU's monitor closed (QEMU exited?)";
      return std::nullopt;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace loopcheck::vm
