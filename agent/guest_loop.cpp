#include "agent/guest_loop.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "targets/host/loop_sys.h"

namespace loopcheck::vm::agent {
namespace {

constexpr int kTeardownWaitMs = 10000;  // detach and device removal under TCG
constexpr int kPollMs = 20;

std::string sysfs_text(const std::string& path) {
  std::string text;
  if (host::read_small_file(path, &text, 256) != 0) return "?";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// LOOP_CTL_REMOVE, retried while the device is busy: a detached device may
// still be in rundown for a moment (6.11+ detaches at the last close).
bool remove_device(int ctl, uint64_t index, std::string* why) {
  for (int waited = 0; waited <= kTeardownWaitMs; waited += kPollMs) {
    if (ioctl(ctl, LOOP_CTL_REMOVE, index) >= 0) return true;
    if (errno != EBUSY) break;
    sleep_ms(kPollMs);
  }
  *why = "LOOP_CTL_REMOVE " + std::to_string(index) + ": " + std::strerror(errno);
  return false;
}

bool add_device(int ctl, uint64_t index, std::string* why) {
  if (ioctl(ctl, LOOP_CTL_ADD, index) >= 0) return true;
  *why = "LOOP_CTL_ADD " + std::to_string(index) + ": " + std::strerror(errno);
  return false;
}

}  // namespace

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

std::vector<uint64_t> existing_loop_devices() {
  std::vector<uint64_t> indices;
  DIR* dir = opendir("/sys/block");
  if (!dir) return indices;
  while (dirent* e = readdir(dir)) {
    unsigned long index = 0;
    char tail = 0;
    if (std::sscanf(e->d_name, "loop%lu%c", &index, &tail) == 1) indices.push_back(index);
  }
  closedir(dir);
  return indices;
}

namespace {

bool any_bound() {
  for (uint64_t index : existing_loop_devices())
    if (host::loop_device_bound(index)) return true;
  return false;
}

}  // namespace

bool detach_all(std::string* why) {
  for (int waited = 0; waited <= kTeardownWaitMs; waited += kPollMs) {
    for (uint64_t index : existing_loop_devices()) {
      if (!host::loop_device_bound(index)) continue;
      int fd = host::open_loop_node(index, O_RDONLY | O_CLOEXEC, "");
      if (fd >= 0) {
        ioctl(fd, LOOP_CLR_FD, 0);
        close(fd);
      }
    }
    // Looked at again at once: an unstacked device is gone by now, and a sleep
    // per program would cost more than the program.
    if (!any_bound()) return true;
    sleep_ms(kPollMs);
  }
  *why = "loop devices still bound after LOOP_CLR_FD for 10 s";
  return false;
}

std::vector<std::string> device_attributes(uint64_t index) {
  static constexpr const char* kAttributes[] = {
      "ro",
      "size",
      "queue/logical_block_size",
      "queue/physical_block_size",
      "queue/minimum_io_size",
      "queue/optimal_io_size",
      "queue/discard_max_bytes",
      "queue/max_hw_sectors_kb",
      "queue/read_ahead_kb",
      "queue/rotational",
  };
  std::vector<std::string> texts;
  const std::string dir = host::loop_sysfs_path(index);
  for (const char* attribute : kAttributes) texts.push_back(sysfs_text(dir + "/" + attribute));
  return texts;
}

bool restore_devices(const std::set<uint64_t>& touched, const std::vector<std::string>& pristine,
                     std::string* why) {
  int ctl = open(host::kLoopControlPath, O_RDWR | O_CLOEXEC);
  if (ctl < 0) {
    *why = std::string("open /dev/loop-control: ") + std::strerror(errno);
    return false;
  }
  std::vector<uint64_t> present = existing_loop_devices();
  bool ok = true;
  for (uint64_t index : present) {
    const bool recreate = index < kPrecreatedDevices && touched.contains(index) &&
                          device_attributes(index) != pristine;
    if (index >= kPrecreatedDevices || recreate) ok = ok && remove_device(ctl, index, why);
    if (recreate) ok = ok && add_device(ctl, index, why);
  }
  for (uint64_t index = 0; index < kPrecreatedDevices && ok; ++index) {
    if (std::find(present.begin(), present.end(), index) == present.end())
      ok = add_device(ctl, index, why);
  }
  close(ctl);
  return ok;
}

bool loop_state_clean(const std::set<uint64_t>& touched, const std::vector<std::string>& pristine,
                      std::string* why) {
  std::vector<uint64_t> present = existing_loop_devices();
  std::sort(present.begin(), present.end());
  std::string leaks;
  if (present.size() != kPrecreatedDevices || present.back() != kPrecreatedDevices - 1)
    leaks += " devices other than loop0..loop7 exist;";
  for (uint64_t index : present) {
    if (host::loop_device_bound(index)) leaks += " loop" + std::to_string(index) + " is bound;";
    if (touched.contains(index) && device_attributes(index) != pristine)
      leaks += " loop" + std::to_string(index) + " is not as module init made it;";
  }
  const std::string refcnt = sysfs_text("/sys/module/loop/refcnt");
  if (refcnt != "0") leaks += " loop.ko's reference count is " + refcnt + ";";
  if (leaks.empty()) return true;
  leaks.pop_back();
  *why = "leaked state after the reset:" + leaks;
  return false;
}

uint64_t kernel_taint() {
  std::string text;
  if (host::read_small_file("/proc/sys/kernel/tainted", &text, 64) != 0) return 0;
  return std::strtoull(text.c_str(), nullptr, 10);
}

}  // namespace loopcheck::vm::agent
