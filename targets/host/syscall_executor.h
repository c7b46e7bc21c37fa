// SyscallExecutor: runs one literal trace Op as the real system call on this
// kernel and reports the result in the model's terms (trace/trace.h Outcome).
//
// It is policy-free on purpose: it executes whatever it is given. The host
// target wraps it in sandbox rules (targets/host/host_target.h); the VM agent,
// a static binary running as PID 1 in a throw-away guest, uses it unchanged.
// So it depends on libc and trace/ only, and never throws on the hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "targets/host/loop_sys.h"
#include "targets/host/uevent_listener.h"
#include "targets/io_buffer.h"
#include "trace/trace.h"

namespace loopcheck::host {

// What the executor needs to know about the world it runs in.
struct SyscallExecutorConfig {
  // Absolute directory holding the trace's `file`/`dir` objects, no trailing '/'.
  std::string object_dir;
  // Object declaration index -> name (Op::object indexes this).
  std::vector<std::string> object_names;
  // Where a missing /dev/loopN node may be created with mknod; empty: never.
  std::string node_dir;
  // Whether opening a loop device that does not exist autoloads it (loop_sys.h).
  MissingDevice missing_device = MissingDevice::Fail;
  // Listen to uevents from construction on (`uevents`); the executors of a
  // concurrent block's threads do not.
  bool listen_uevents = false;
};

class SyscallExecutor {
 public:
  explicit SyscallExecutor(SyscallExecutorConfig config);
  ~SyscallExecutor();
  SyscallExecutor(const SyscallExecutor&) = delete;
  SyscallExecutor& operator=(const SyscallExecutor&) = delete;

  // Executes `op`; every Value in it is a literal in this process's terms.
  Outcome execute(const Op& op);

  // The bytes of the last successful pread, until the next execute().
  std::span<const uint8_t> last_read() const { return {buffer_.data(), last_read_len_}; }

  // The absolute path of object `index` (a file or dir declaration).
  std::string object_path(uint8_t index) const;

  // A sysfs backing_file value in the trace's terms: a path inside the object
  // directory becomes the object's name ("img", "img (deleted)"); anything else
  // ("/dev/loopN", a foreign path) is returned unchanged.
  std::string backing_file_in_trace_terms(std::string_view path) const;

  const SyscallExecutorConfig& config() const { return config_; }

  // The loop uevents received since the last read (all loop devices'; a caller
  // that shares the machine filters them). Without a listener: empty, lost.
  UeventList read_uevents();
  // Why there is no listener ("" when there is one, or none was asked for).
  std::string uevent_listener_error() const;

 private:
  Outcome open(const Op& op);
  Outcome ioctl(const Op& op);
  Outcome pread(const Op& op);
  Outcome pwrite(const Op& op);
  Outcome truncate(const Op& op);
  Outcome sysfs(const Op& op);

  SyscallExecutorConfig config_;
  std::unique_ptr<UeventListener> uevents_;
  IoBuffer buffer_;
  size_t last_read_len_ = 0;
};

}  // namespace loopcheck::host
