// The explored environment and the scope's bounds.
#include "explore/scope.h"

#include <string>

namespace loopcheck::model {

Env scope_env() {
  Env env;
  env.precreated = 0;
  return env;
}

std::vector<ObjectDecl> scope_objects(const Scope& scope) {
  std::vector<ObjectDecl> objects;
  for (uint32_t i = 0; i < scope.files && i < kMaxScopeFiles; ++i) {
    ObjectDecl d;
    d.kind = ObjectDecl::Kind::File;
    d.name = "img" + std::to_string(i);
    d.size = kScopeFileSizes[i];
    if (i == kScopeTableFile) d.mbr = kScopeTable;
    objects.push_back(d);
  }
  return objects;
}

const char* scope_error(const Scope& scope) {
  if (scope.devices < 1 || scope.devices > kMaxScopeDevices) return "--devices must be 1..8";
  if (scope.files < 1 || scope.files > kMaxScopeFiles) return "--files must be 1..4";
  if (scope.fds < 1 || scope.fds > kMaxScopeFds) return "--fds must be 1..8";
  if (scope.depth > 64) return "--depth must be 0..64";
  return "";
}

}  // namespace loopcheck::model
