#include "targets/host/device_cleanup.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <string>

#include "targets/host/loop_sys.h"

namespace loopcheck::host {
namespace {

constexpr int kPollMs = 5;

void sleep_ms(int ms) {
  struct timespec ts {
    ms / 1000, (ms % 1000) * 1000000L
  };
  ::nanosleep(&ts, nullptr);
}

}  // namespace

BindingOwner binding_owner(uint64_t index, std::string_view sandbox,
                           std::span<const uint64_t> own_devices) {
  if (!loop_device_bound(index)) return BindingOwner::Unbound;
  std::string backing = loop_backing_file(index);
  // Empty: the file pointer is already dropped by a teardown in progress
  // (docs/semantics.md §2.3, §8); a teardown only follows a detach or the last close of a device
  // we hold, so treat it as ours. Re-checked before any destructive step anyway.
  if (backing.empty()) return loop_device_bound(index) ? BindingOwner::Ours : BindingOwner::Unbound;
  std::string_view b = backing;
  if (!sandbox.empty() && b.size() > sandbox.size() && b.starts_with(sandbox) &&
      b[sandbox.size()] == '/') {
    return BindingOwner::Ours;
  }
  constexpr std::string_view kDev = "/dev/loop";
  if (b.starts_with(kDev)) {
    uint64_t lower = 0;
    auto [end, ec] = std::from_chars(b.data() + kDev.size(), b.data() + b.size(), lower);
    if (ec == std::errc() && end == b.data() + b.size() &&
        std::find(own_devices.begin(), own_devices.end(), lower) != own_devices.end()) {
      return BindingOwner::Ours;
    }
  }
  return BindingOwner::Foreign;
}

int detach_loop_device(uint64_t index, bool expect_dev_ino, uint64_t dev, uint64_t ino) {
  int fd = open_loop_node(index, O_RDONLY, {});
  if (fd < 0) return -fd;
  int err = 0;
  if (expect_dev_ino) {
    loop_info64 info{};
    if (::ioctl(fd, LOOP_GET_STATUS64, &info) != 0) {
      err = errno;
    } else if (info.lo_device != dev || info.lo_inode != ino) {
      err = ESTALE;
    }
  }
  if (!err && ::ioctl(fd, LOOP_CLR_FD, 0) != 0) err = errno;
  ::close(fd);  // on 6.11+ this close runs the teardown when we were the last opener
  return err;
}

bool wait_until_unbound(uint64_t index, int timeout_ms) {
  for (int waited = 0;; waited += kPollMs) {
    if (!loop_device_bound(index)) return true;
    if (waited >= timeout_ms) return false;
    sleep_ms(kPollMs);
  }
}

int remove_loop_device(uint64_t index, int timeout_ms) {
  int ctl = ::open(kLoopControlPath, O_RDWR | O_CLOEXEC);
  if (ctl < 0) return errno;
  int err = 0;
  for (int waited = 0;; waited += kPollMs) {
    err = ::ioctl(ctl, LOOP_CTL_REMOVE, static_cast<unsigned long>(index)) == 0 ? 0 : errno;
    if (err != EBUSY || waited >= timeout_ms) break;
    sleep_ms(kPollMs);
  }
  ::close(ctl);
  return err;
}

std::optional<bool> loop_read_only(uint64_t index) {
  std::string text;
  if (read_small_file("/sys/block/loop" + std::to_string(index) + "/ro", &text) != 0 ||
      text.empty()) {
    return std::nullopt;
  }
  return text[0] == '1';
}

std::optional<QueueTuning> loop_queue_tuning(uint64_t index) {
  QueueTuning t;
  const std::string queue = loop_sysfs_path(index) + "/queue/";
  if (read_small_file(queue + "read_ahead_kb", &t.read_ahead_kb, 64) != 0) return std::nullopt;
  if (read_small_file(queue + "rotational", &t.rotational, 64) != 0) return std::nullopt;
  for (std::string* text : {&t.read_ahead_kb, &t.rotational})
    while (!text->empty() && text->back() == '\n') text->pop_back();
  return t;
}

int set_loop_queue_tuning(uint64_t index, const QueueTuning& tuning) {
  const std::string queue = loop_sysfs_path(index) + "/queue/";
  for (const auto& [name, value] : {std::pair{"read_ahead_kb", &tuning.read_ahead_kb},
                                    std::pair{"rotational", &tuning.rotational}}) {
    const int fd = ::open((queue + name).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const ssize_t n = ::write(fd, value->data(), value->size());
    const int err = n == static_cast<ssize_t>(value->size()) ? 0 : (n < 0 ? errno : EIO);
    ::close(fd);
    if (err) return err;
  }
  return 0;
}

int set_unbound_read_only(uint64_t index, bool read_only, const std::string& scratch_dir) {
  int dev = open_loop_node(index, O_RDWR, {});
  if (dev < 0) return -dev;
  int err = 0;
  int off = 0;
  if (::ioctl(dev, BLKROSET, &off) != 0) err = errno;  // the policy bit, in case BLKROSET set it
  std::string scratch = scratch_dir + "/.ro-reset";
  int file = err ? -1 : ::open(scratch.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (!err && file < 0) err = errno;
  if (!err && ::ftruncate(file, 4096) != 0) err = errno;
  if (!err && read_only) {  // a read-only backing fd is what makes the bind read-only
    ::close(file);
    file = ::open(scratch.c_str(), O_RDONLY | O_CLOEXEC);
    if (file < 0) err = errno;
  }
  // set_disk_ro(READ_ONLY flag) happens at bind; teardown leaves the bit alone.
  if (!err && ::ioctl(dev, LOOP_SET_FD, file) != 0) err = errno;
  if (!err && ::ioctl(dev, LOOP_CLR_FD, 0) != 0) err = errno;
  if (file >= 0) ::close(file);
  ::unlink(scratch.c_str());
  ::close(dev);  // the last close tears the binding down (6.11+ Rundown)
  if (!wait_until_unbound(index, 2000) && !err) err = EBUSY;
  return err;
}

}  // namespace loopcheck::host
