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

}  // namespace loopcheck
