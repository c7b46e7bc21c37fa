// canonicalize_fds (see explore_symmetry.h).
#include "explore/symmetry.h"

#include <cassert>

namespace loopcheck::model {

namespace {

// Devices (slot bits) whose backing is description `slot`.
uint32_t holder_mask(const State& s, int slot) {
  uint32_t mask = 0;
  for (int i = 0; i < s.device_count; ++i)
    if (s.devices[i].state != DevState::Unbound && s.devices[i].backing_desc == slot)
      mask |= 1u << i;
  return mask;
}

// What a description is, apart from its fd number and slot, as one ordered number:
// open before held-only, then kind, access, open flags, object, holders, which
// devices hold it, and the device it opens.
uint64_t sort_key(const State& s, int slot) {
  const Desc& d = s.descs[slot];
  uint64_t k = d.fd == 0 ? 1 : 0;
  k = (k << 3) | static_cast<uint64_t>(d.kind);
  k = (k << 2) | static_cast<uint64_t>(d.access);
  k = (k << 4) | (d.open_flags & 0xfu);
  k = (k << 4) | (d.object & 0xfu);
  k = (k << 5) | (d.holders & 0x1fu);
  k = (k << 8) | (holder_mask(s, slot) & 0xffu);  // device slots < kMaxScopeDevices
  return (k << 27) | (d.device & 0x7ffffffu);     // indices < 2^20 (MINORMASK)
}

}  // namespace

void canonicalize_fds(State& s, FdRenaming* renaming) {
  std::array<int, kMaxDescs> order{};
  std::array<uint64_t, kMaxDescs> key{};
  int live = 0, last = -1;
  for (int i = 0; i < kMaxDescs; ++i)
    if (s.descs[i].kind != DescKind::None) {
      key[live] = sort_key(s, i);
      order[live++] = i;
      last = i;
    }
  // Insertion sort: a handful of descriptions, stable, no allocation.
  for (int i = 1; i < live; ++i)
    for (int j = i; j > 0 && key[j] < key[j - 1]; --j) {
      std::swap(key[j], key[j - 1]);
      std::swap(order[j], order[j - 1]);
    }

  std::array<uint8_t, kMaxDescs> new_slot{};
  std::array<Desc, kMaxDescs> descs;
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
  // Only slots up to the last live one can change: the rest stay default.
  for (int k = 0; k <= last; ++k) s.descs[k] = k < live ? descs[k] : Desc{};
  for (int i = 0; i < s.device_count; ++i) {
    Device& dev = s.devices[i];
    if (dev.backing_desc != kNoDesc) dev.backing_desc = new_slot[dev.backing_desc];
  }
}

}  // namespace loopcheck::model
