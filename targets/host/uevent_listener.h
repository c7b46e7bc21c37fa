// A NETLINK_KOBJECT_UEVENT listener, as udev's: the kernel's uevents of loop
// disks and their partitions, in the order the kernel sent them. Used by the
// shared executor (targets/host/syscall_executor.h), so by the host target and
// the VM agent alike: libc and trace/ only.
//
// Kept: SUBSYSTEM=block events whose DEVNAME is loopN or loopNpK and whose
// ACTION is add, remove or change. Left out: the bdi device's events (not the
// block layer's), other devices', and synthetic events (SYNTH_UUID: a write to
// a device's uevent file, as udev's `watch` rule does on a close after writing),
// which the kernel's loop driver did not send.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "trace/uevent.h"

namespace loopcheck::host {

class UeventListener {
 public:
  // Binds to the kernel's multicast group; error() says why when it could not.
  UeventListener();
  ~UeventListener();
  UeventListener(const UeventListener&) = delete;
  UeventListener& operator=(const UeventListener&) = delete;

  const std::string& error() const { return error_; }

  // Every loop event received since the last read (never blocks). More than
  // kMaxUevents, or a socket that overflowed (ENOBUFS): the list is marked lost.
  UeventList read_all();

 private:
  int fd_ = -1;
  std::string error_;
};

// One kernel uevent message ("ACTION@DEVPATH\0KEY=VALUE\0..."), if it is a loop
// event the listener keeps.
std::optional<Uevent> parse_loop_uevent(std::span<const char> message);

}  // namespace loopcheck::host
