// canonicalize_fds (see explore_symmetry.h).
#include "model/explore_symmetry.h"

#include <cassert>
#include <tuple>

namespace loopcheck::model {

namespace {

// Devices (slot bits) whose backing is description `slot`.
uint32_t holder_mask(const State& s, int slot) {
  uint32_t mask = 0;
  for (int i = 0; i < s.device_count; ++i)
    if (s.devices[i].state != DevState::Unbound && s.devices[i].backing_desc == slot) mask |= 1u << i;
  return mask;
}

auto sort_key(const State& s, int slot) {
  const Desc& d = s.descs[slot];
  return std::make_tuple(d.fd == 0, d.kind, d.access, d.open_flags, d.object, d.device, d.holders,
                         holder_mask(s, slot));
}

}  // namespace

void canonicalize_fds(State& s, FdRenaming* renaming) {
  std::array<int, kMaxDescs> order{};
  int live = 0;
  for (int i = 0; i < kMaxDescs; ++i)
    if (s.descs[i].kind != DescKind::None) order[live++] = i;
  // Insertion sort: a handful of descriptions, stable, no allocation.
  for (int i = 1; i < live; ++i)
    for (int j = i; j > 0 && sort_key(s, order[j]) < sort_key(s, order[j - 1]); --j) std::swap(order[j], order[j - 1]);

  std::array<uint8_t, kMaxDescs> new_slot{};
  std::array<Desc, kMaxDescs> descs{};
  uint32_t next_fd = kFirstFd;
  for (int k = 0; k < live; ++k) {
    const Desc& d = s.descs[order[k]];
    new_slot[order[k]] = static_cast<uint8_t>(k);
    descs[k] = d;
    if (d.fd != 0) {
      if (renaming) renaming->original[next_fd] = d.fd;
      descs[k].fd = next_fd++;
    }
  }
  s.descs = descs;
  for (int i = 0; i < s.device_count; ++i) {
    Device& dev = s.devices[i];
    if (dev.backing_desc != kNoDesc) dev.backing_desc = new_slot[dev.backing_desc];
  }
}

}  // namespace loopcheck::model
