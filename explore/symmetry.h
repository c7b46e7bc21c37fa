// Symmetry reduction over open file descriptions: fd numbers and description
// slots are names, not behaviour. The runner compares fds up to a consistent
// renaming and the kernel hands out "some free number", so two states that differ
// only in which fd number (and which table slot) each description has behave the
// same up to renaming. canonicalize_fds picks one representative per class:
// descriptions sorted by what they are (open before held-only, kind, access, flags,
// target, which devices hold them), fds renumbered 3, 4, 5... in that order, and
// every device's backing reference moved along.
//
// Devices are not reduced: LOOP_CTL_ADD -1 allocates the lowest free index, so
// device order is behaviour. Files are not either: their names are visible.
#pragma once

#include <array>
#include <cstdint>

#include "model/state.h"

namespace loopcheck::model {

// canonical fd number -> the fd number it had before canonicalization (0 = none).
struct FdRenaming {
  std::array<uint32_t, kFirstFd + kMaxDescs> original{};
};

void canonicalize_fds(State& s, FdRenaming* renaming = nullptr);

}  // namespace loopcheck::model
