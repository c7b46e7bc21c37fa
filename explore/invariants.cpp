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
    const Desc& b = s.descs[d.backing_desc];
    if (b.kind != DescKind::File) continue;  // a lower loop device can be resized under it
    // Capacity never exceeds what the offset, the sizelimit and the backing file allow.
    const uint64_t size = s.objects[b.object].size;
    const uint64_t room = d.offset >= size ? 0 : size - d.offset;
    if (d.capacity * kSectorSize > room)
      return fail(why, "capacity beyond the backing file past the offset", d.index);
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
