// The kernel's uevent broadcast (kobject_uevent_env → NETLINK_KOBJECT_UEVENT) as
// one listener bound before the first step sees it: every event the driver's
// disks and partitions send, in order, until the listener reads them.
//
// A uevent is sent under whatever lock its sender holds, from any thread (an
// ioctl, a last close's teardown): the bus orders them by its own mutex, as the
// netlink broadcast does.
#pragma once

#include <mutex>

#include "trace/uevent.h"

namespace loopcheck::inproc {

class UeventBus {
 public:
  void send(const Uevent& event);
  // Everything sent since the last read; the bus is then empty.
  UeventList read_all();

 private:
  std::mutex mutex_;
  UeventList pending_;
};

}  // namespace loopcheck::inproc
