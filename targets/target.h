// A target executes trace operations on something real (or on the model) and
// reports outcomes in the model's terms. The runner (oracle/runner.h) drives a
// target beside the model and compares step by step.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "trace/trace.h"

namespace loopcheck {

struct TargetError {
  bool failed = false;
  std::string message;  // names the problem and the fix
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string_view name() const = 0;

  // Prepare a fresh sandbox for one trace: create its files and directories.
  // `profile` is the model profile the run compares against (a target that
  // implements several releases selects its behaviour from it).
  virtual TargetError start(const Trace& trace, std::string_view profile, const Env& env) = 0;

  // Execute one operation. Every Value in `op` is a literal in this target's own
  // terms (its fds, its device indices). Data reads fill `digest` and keep the
  // bytes available through last_read() until the next call.
  virtual Outcome execute(const Op& op) = 0;
  virtual std::span<const uint8_t> last_read() const { return {}; }

  // A short summary of the target's state for divergence reports.
  virtual std::string summary() const { return {}; }

  // Undo everything execute() did (close fds, unbind, remove what it created).
  // A target may keep its sandbox's files for the next start() to reset, but
  // removes them when it is destroyed.
  virtual void finish() = 0;
};

}  // namespace loopcheck
