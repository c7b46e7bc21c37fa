#include "oracle/renaming.h"

namespace loopcheck {

bool Renaming::unify(RenameKind kind, uint64_t model, uint64_t target) {
  Map& map = maps_[static_cast<int>(kind)];
  auto m = map.model_to_target.find(model);
  auto t = map.target_to_model.find(target);
  if (m == map.model_to_target.end() && t == map.target_to_model.end()) {
    map.model_to_target.emplace(model, target);
    map.target_to_model.emplace(target, model);
    return true;
  }
  return m != map.model_to_target.end() && t != map.target_to_model.end() && m->second == target &&
         t->second == model;
}

void Renaming::forget(RenameKind kind, uint64_t model) {
  Map& map = maps_[static_cast<int>(kind)];
  auto it = map.model_to_target.find(model);
  if (it == map.model_to_target.end()) return;
  map.target_to_model.erase(it->second);
  map.model_to_target.erase(it);
}

std::optional<uint64_t> Renaming::to_model(RenameKind kind, uint64_t target) const {
  const Map& map = maps_[static_cast<int>(kind)];
  auto it = map.target_to_model.find(target);
  if (it == map.target_to_model.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> Renaming::to_target(RenameKind kind, uint64_t model) const {
  const Map& map = maps_[static_cast<int>(kind)];
  auto it = map.model_to_target.find(model);
  if (it == map.model_to_target.end()) return std::nullopt;
  return it->second;
}

uint64_t Renaming::digest() const {
  uint64_t sum = 0;
  for (int k = 0; k < kRenameKinds; ++k)
    for (const auto& [m, t] : maps_[k].model_to_target) {
      // A 64-bit mix of (kind, model, target); summed, so order does not matter.
      uint64_t x = (m * 0x9E3779B97F4A7C15ull) ^ (t + 0x632BE59BD9B4E019ull + uint64_t(k));
      x ^= x >> 31;
      x *= 0xBF58476D1CE4E5B9ull;
      sum += x ^ (x >> 29);
    }
  return sum;
}

}  // namespace loopcheck
