// check_explore_invariants (see explore_invariants.h).
#include "explore/invariants.h"

#include <cstdio>

namespace loopcheck::model {

namespace {
bool fail(std::string* why, const char* text, uint32_t device) {
  if (why) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s (loop%u)", text, device);
    *why = buf;
  }
  return false;
}
}  // namespace

bool check_explore_invariants(const State& s, std::string* why) {
  for (int i = 0; i < s.device_count; ++i) {
    const Device& d = s.devices[i];
    if (d.state == DevState::Unbound) {
      if (d.capacity != 0 || d.backing_desc != kNoDesc)
        return fail(why, "unbound device with capacity or backing", d.index);
      continue;
    }
    // Capacity never exceeds the sizelimit. It may exceed the backing file: a
    // lower loop device can shrink under a device sized from it, and
    // LOOP_CHANGE_FD to a file of the lower device's new size keeps the old
    // capacity (found at depth 14; host 6.18.44, 6.1.0-56 and 6.12.117 agree:
    // common/change_fd_carries_capacity_of_a_shrunk_lower_device.trace).
    if (d.sizelimit != 0 && d.capacity * kSectorSize > d.sizelimit)
      return fail(why, "capacity beyond the sizelimit", d.index);
    // Rundown only with AUTOCLEAR: the deferred detach is an autoclear.
    if (d.state == DevState::Rundown && !(d.flags & kLoAutoclear))
      return fail(why, "rundown without autoclear", d.index);
  }
  // Openers agree with the fds: every description of a device is an open fd or
  // kept alive by a device it backs.
  for (const Desc& x : s.descs) {
    if (x.kind == DescKind::None) continue;
    if (x.fd == 0 && x.holders == 0)
      return fail(why, "description neither open nor held", x.device);
  }
  return true;
}

}  // namespace loopcheck::model
