#include "targets/host/uevent_listener.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace loopcheck::host {
namespace {

// Room for a burst (a rescan of many partitions) between two reads; root may
// go past rmem_max (SO_RCVBUFFORCE).
constexpr int kReceiveBufferBytes = 4 << 20;
// A uevent message is at most UEVENT_BUFFER_SIZE (2048) plus its header.
constexpr size_t kMessageBytes = 8192;
constexpr uint32_t kKernelGroup = 1;  // udev's own messages go to group 2

struct Keys {
  std::string_view action, subsystem, devname;
  bool resize = false, media_change = false, synthetic = false;
};

Keys keys_of(std::span<const char> message) {
  Keys k;
  std::string_view rest(message.data(), message.size());
  // The header "ACTION@DEVPATH" comes first; the keys repeat what it says.
  for (size_t end = rest.find('\0'); end != std::string_view::npos; end = rest.find('\0')) {
    rest.remove_prefix(end + 1);
    const std::string_view kv = rest.substr(0, rest.find('\0'));
    if (kv.starts_with("ACTION=")) k.action = kv.substr(7);
    if (kv.starts_with("SUBSYSTEM=")) k.subsystem = kv.substr(10);
    if (kv.starts_with("DEVNAME=")) k.devname = kv.substr(8);
    if (kv == "RESIZE=1") k.resize = true;
    if (kv == "DISK_MEDIA_CHANGE=1") k.media_change = true;
    if (kv.starts_with("SYNTH_UUID=")) k.synthetic = true;
  }
  return k;
}

}  // namespace

std::optional<Uevent> parse_loop_uevent(std::span<const char> message) {
  const Keys k = keys_of(message);
  if (k.subsystem != "block" || k.synthetic) return std::nullopt;
  const auto name = parse_loop_devname(k.devname);
  const auto action = uevent_action_from_name(k.action);
  if (!name || !action) return std::nullopt;  // not a loop device; bind, move...
  Uevent e;
  e.action = *action;
  e.device = name->device;
  e.part = name->part;
  if (k.resize) e.detail = UeventDetail::Resize;
  if (k.media_change) e.detail = UeventDetail::MediaChange;
  return e;
}

UeventListener::UeventListener() {
  fd_ = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
  if (fd_ < 0) {
    error_ = std::string("socket(NETLINK_KOBJECT_UEVENT): ") + std::strerror(errno);
    return;
  }
  const int bytes = kReceiveBufferBytes;
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = kKernelGroup;
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("binding the uevent socket: ") + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

UeventListener::~UeventListener() {
  if (fd_ >= 0) ::close(fd_);
}

UeventList UeventListener::read_all() {
  UeventList out;
  if (fd_ < 0) {
    out.lost = 1;
    return out;
  }
  std::array<char, kMessageBytes> buffer;
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {  // the socket overflowed: messages are gone
      out.lost = 1;
      continue;
    }
    if (n <= 0) break;  // EAGAIN: nothing more
    const auto e = parse_loop_uevent({buffer.data(), static_cast<size_t>(n)});
    if (e) out.push(*e);
  }
  return out;
}

}  // namespace loopcheck::host
