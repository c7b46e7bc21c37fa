#include "targets/vm/stream_target.h"

namespace loopcheck::vm {

StreamTarget::StreamTarget(StreamKind kind, std::string spec, AgentTargetOptions options,
                           int ready_timeout_ms)
    : AgentTarget((kind == StreamKind::Exec ? "exec:" : "serial:") + spec, spec, options),
      kind_(kind),
      spec_(std::move(spec)),
      ready_timeout_ms_(ready_timeout_ms) {}

// The agent runs its concurrent blocks on threads of its own; a link serves
// sequential and concurrent traces alike.
std::unique_ptr<AgentLink> StreamTarget::connect(bool /*concurrent*/, std::string* why) {
  if (kind_ == StreamKind::Exec) return StreamLink::spawn(spec_, ready_timeout_ms_, why);
  return StreamLink::open_serial(spec_, ready_timeout_ms_, why);
}

}  // namespace loopcheck::vm
