// `loopcheck agent-check --target T`: a conformance suite for agents
// (docs/agent-protocol.md, "Checking an agent"). It talks the protocol frame by
// frame to any agent a target spec names (exec:, serial:, vm:) — the handshake,
// each frame type's round trip, operations with the outcome shapes the doc
// promises, the reset, malformed frames, a concurrent block — and runs a few
// corpus traces beside the model, step by step and as planned programs.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace loopcheck::agentcheck {

enum class Verdict : uint8_t { Pass, Fail, Skipped };

struct CheckResult {
  std::string name;
  Verdict verdict = Verdict::Pass;
  std::string detail;  // what was seen; for a failure, what was expected instead
  double seconds = 0;
};

struct Options {
  std::string target;            // "exec:CMD", "serial:PATH", "vm:VERSION"
  std::string corpus_dir;        // corpus/ of the checkout: the traces run beside the model
  int close_timeout_ms = 20000;  // for the agent to close the channel (a guest powers off)
};

struct Report {
  std::string error;  // the target could not be made at all (then no checks ran)
  std::string agent;  // what the agent's Ready said
  std::vector<CheckResult> checks;
  bool passed() const;
};

// Runs every check in order, calling `progress` after each.
Report run_agent_check(const Options& options,
                       const std::function<void(const CheckResult&)>& progress);

std::string_view verdict_name(Verdict v);  // "PASS" "FAIL" "SKIP"

}  // namespace loopcheck::agentcheck
