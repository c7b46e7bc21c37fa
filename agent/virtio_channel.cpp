#include "agent/virtio_channel.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "agent/guest_loop.h"
#include "agent/guest_modules.h"
#include "targets/vm/kernel_cache.h"

namespace loopcheck::vm::agent {
namespace {

constexpr const char* kPort = "/dev/vport0p1";

}  // namespace

int open_virtio_channel(int device_wait_ms, std::string* why) {
  why->clear();
  const char* chosen = std::getenv("loopcheck_channel");  // from the kernel command line
  if (chosen == nullptr || std::strcmp(chosen, "virtio") != 0) return -1;
  for (const char* tree_path : kVirtioChannelModules) {
    std::string module = std::filesystem::path(tree_path).filename().string();
    module.insert(module.begin(), '/');
    if (access(module.c_str(), F_OK) != 0) continue;  // built in
    if (!load_module(module, "", why)) return -1;
  }
  if (!wait_for_path(kPort, device_wait_ms)) {
    *why = std::string(kPort) + " did not appear after the virtio console modules loaded";
    return -1;
  }
  // devtmpfs shows the node (device_create) before the port is on the driver's
  // list, and open answers ENXIO until it is: seen on 6.1.0-47 and 6.1.0-48
  // booting (loopcheck-agent: open /dev/vport0p1: No such device or address).
  for (int waited = 0;; waited += 10) {
    const int fd = open(kPort, O_RDWR | O_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno != ENXIO || waited >= device_wait_ms) {
      *why = std::string("open ") + kPort + ": " + std::strerror(errno);
      return -1;
    }
    sleep_ms(10);
  }
}

}  // namespace loopcheck::vm::agent
