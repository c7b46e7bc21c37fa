// Consistent renaming of values that differ between machines (fds, device
// indices, st_dev, st_ino, st_rdev). The first time a target returns `t` where
// the model returned `m`, the pair is fixed for the rest of the run; every later
// occurrence must agree in both directions (a bijection per kind).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

namespace loopcheck {

enum class RenameKind : uint8_t { Fd, DevIndex, Device, Inode, Rdevice };
inline constexpr int kRenameKinds = 5;

class Renaming {
 public:
  // True when (model, target) is consistent with every earlier pair of this kind;
  // records the pair when neither side has been seen.
  bool unify(RenameKind kind, uint64_t model, uint64_t target);

  // Drop the pair whose model side is `model` (an fd was closed, a device removed),
  // so that the model and the target may each reuse their number independently.
  void forget(RenameKind kind, uint64_t model);

  // The model-side name of a target value, if it was seen.
  std::optional<uint64_t> to_model(RenameKind kind, uint64_t target) const;
  // The target-side name of a model value, if it was seen.
  std::optional<uint64_t> to_target(RenameKind kind, uint64_t model) const;

  // A digest of every pair (independent of insertion order): equal renamings
  // have equal digests.
  uint64_t digest() const;

 private:
  struct Map {
    std::unordered_map<uint64_t, uint64_t> model_to_target, target_to_model;
  };
  Map maps_[kRenameKinds];
};

}  // namespace loopcheck
