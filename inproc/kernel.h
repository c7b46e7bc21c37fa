// The syscall surface of the in-process kernel: an fd table of open file
// descriptions (lowest free fd from 3, like a fresh process) and open / close /
// ioctl / pread / pwrite / fsync over it, plus the /sys/block view. Results are
// what a raw syscall returns: a value >= 0, or -errno.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "inproc/file.h"
#include "inproc/host_file.h"
#include "inproc/host_write_log.h"
#include "inproc/loop_control.h"
#include "inproc/loop_device.h"
#include "inproc/driver_profile.h"

namespace loopcheck::inproc {

inline constexpr int kFirstFd = 3;
inline constexpr int kMaxFds = 1024;  // RLIMIT_NOFILE

class Kernel final : public FileTable {
 public:
  // `write_log`, if given, must outlive the Kernel: it records which host files
  // were changed, including by the Kernel's own teardown.
  Kernel(const DriverProfile& profile, const DriverConfig& config, const HostFsFacts& fs = {},
         HostWriteLog* write_log = nullptr);
  ~Kernel() override;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // open("/dev/loop-control"), open("/dev/loopN"), open(host path). `flags` are
  // open(2) flags (O_RDONLY/O_WRONLY/O_RDWR | O_EXCL | O_DIRECT | O_SYNC | O_NONBLOCK).
  int open_loop_control(int flags);
  int open_loop(uint64_t index, int flags);
  // open("/dev/loopNpK"): -ENOENT when the disk or the partition does not exist.
  int open_partition(uint64_t index, int part, int flags);
  int open_host(const std::string& path, int flags, std::string display_name);
  int close(int fd);
  long ioctl(int fd, unsigned long cmd, unsigned long arg);
  int64_t pread(int fd, void* buf, uint64_t len, int64_t pos);
  int64_t pwrite(int fd, const void* buf, uint64_t len, int64_t pos);
  int fsync(int fd);
  // fallocate(2): vfs_fallocate's checks, then the file's own (a regular file:
  // the host filesystem's fallocate; /dev/loopN: blkdev_fallocate).
  int fallocate(int fd, int mode, int64_t pos, int64_t len);
  // Read /sys/block/loopN/ATTR (e.g. "size", "loop/offset"); the kernel's text
  // including its newline goes to `out`. -ENOENT for absent files or devices.
  int read_sysfs(uint64_t index, std::string_view attr, std::string& out) const;
  // /sys/block/loopN/loopNpK/ATTR.
  int read_partition_sysfs(uint64_t index, int part, std::string_view attr, std::string& out) const;

  std::shared_ptr<OpenFile> fget(int fd) const override;
  LoopControl& control() { return control_; }
  // What a NETLINK_KOBJECT_UEVENT listener bound after module init has
  // received since its last read.
  UeventList read_uevents() { return uevents_.read_all(); }
  const DriverProfile& profile() const { return profile_; }
  int open_fd_count() const;

 private:
  int install(std::shared_ptr<OpenFile> file);

  const DriverProfile& profile_;
  HostFsFacts fs_;
  HostWriteLog* write_log_;
  UeventBus uevents_;  // before control_: its devices send to it
  LoopControl control_;
  mutable std::mutex fd_mutex_;
  std::vector<std::shared_ptr<OpenFile>> fds_;  // index = fd
};

}  // namespace loopcheck::inproc
