// `exec:CMD` and `serial:PATH`: AgentTarget over a StreamLink (stream_link.h).
// The agent may be ours (`vm-agent --stdio`, agent/agent_main.cpp) or anyone's
// that speaks docs/agent-protocol.md; what it runs on is what its Ready says.
#pragma once

#include <memory>
#include <string>

#include "targets/vm/agent_target.h"
#include "targets/vm/stream_link.h"

namespace loopcheck::vm {

enum class StreamKind : uint8_t { Exec, Serial };

class StreamTarget : public AgentTarget {
 public:
  // `spec`: the command (Exec) or the path (Serial).
  StreamTarget(StreamKind kind, std::string spec, AgentTargetOptions options = {},
               int ready_timeout_ms = kDefaultReadyTimeoutMs);

 protected:
  std::unique_ptr<AgentLink> connect(bool concurrent, std::string* why) override;

 private:
  StreamKind kind_;
  std::string spec_;
  int ready_timeout_ms_;
};

}  // namespace loopcheck::vm
