// The runner's end of one conversation with an agent (docs/agent-protocol.md):
// a booted guest (qemu_vm.h, `vm:`), a child process on pipes (`exec:`) or a Unix
// socket / pty (`serial:`, stream_link.h). AgentTarget (agent_target.h) drives
// every kind the same way; only how the link comes up and what else it can see
// (a guest's console) differ.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "targets/vm/protocol.h"

namespace loopcheck::vm {

// Something the kernel reported on its console: a panic, an oops, a BUG, a
// WARNING, KASAN/KFENCE/UBSAN, a lockup; or a hang/death the host saw.
struct KernelReport {
  std::string kind;     // "Kernel panic", "Oops", "WARNING", ..., "hang", "guest died"
  std::string excerpt;  // console lines from the report on (bounded)
};

// How the agent ended a wait for it to close the channel (agent-check's
// malformed-frame and Shutdown checks).
enum class ChannelEnd : uint8_t {
  Closed,     // the agent closed the channel (exited, powered off) without a frame
  SentFrame,  // it answered with a frame instead
  Timeout,    // neither within the time: the link was killed
};

class AgentLink {
 public:
  virtual ~AgentLink() = default;

  // Sends `frame` and waits up to `timeout_ms` for the agent's answer of type
  // `reply`. On a timeout, a dead agent, a frame of another type or a corrupt
  // stream the link is closed for good (alive() is false) and `why` says what
  // happened, naming the problem and the fix.
  virtual std::optional<Frame> call(const std::vector<uint8_t>& frame, FrameType reply,
                                    int timeout_ms, std::string* why) = 0;
  // Writes `bytes` as they are (a deliberately malformed frame); false with `why`
  // when the channel is broken.
  virtual bool send_bytes(std::span<const uint8_t> bytes, std::string* why) = 0;
  // Waits up to `timeout_ms` for the agent to close its end; the link is closed
  // afterwards whatever happened.
  virtual ChannelEnd wait_for_close(int timeout_ms, std::string* why) = 0;

  virtual bool alive() const = 0;
  virtual const ReadyInfo& ready() const = 0;
  // Start of the link to the agent's Ready frame.
  virtual double boot_seconds() const = 0;
  // Restored from a saved guest rather than booted (vm: only).
  virtual bool restored() const { return false; }
  // Reports that appeared on the agent's console since the last call (a guest's
  // serial console; other links see none).
  virtual std::vector<KernelReport> new_kernel_reports() { return {}; }
  // Sends Shutdown, gives the agent a moment to go, then closes the link.
  virtual void shutdown() = 0;
};

}  // namespace loopcheck::vm
