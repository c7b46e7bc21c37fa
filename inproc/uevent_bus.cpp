#include "inproc/uevent_bus.h"

namespace loopcheck::inproc {

// A listener whose socket buffer is full loses what comes next (ENOBUFS): so
// does the bus once it holds kMaxUevents (UeventList::push marks it lost).
void UeventBus::send(const Uevent& event) {
  std::lock_guard lock(mutex_);
  pending_.push(event);
}

UeventList UeventBus::read_all() {
  std::lock_guard lock(mutex_);
  UeventList out = pending_;
  pending_ = UeventList{};
  return out;
}

}  // namespace loopcheck::inproc
