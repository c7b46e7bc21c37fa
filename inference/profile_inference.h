// `loopcheck profile infer`: which profile explains a target. The target runs
// the discriminating suite once under the current guess; its outcomes become
// expectations (a recorded trace, cut after the first step that diverged), and
// the model, which is fast, is asked under which profile it predicts them:
// first every known profile as a seed, then one switch change at a time, keeping
// a change only when it explains more recorded steps. A trace that diverged is
// run again under the improved guess, to record past that step, until a round
// changes nothing. What no profile explains is reported step by step.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "inference/discriminating_suite.h"
#include "targets/target.h"

namespace loopcheck::inference {

// A target's outcomes on one suite trace, as a trace with them as expectations.
struct Evidence {
  size_t suite_index = 0;
  Trace recorded;
  size_t steps = 0;       // statements with an expectation (the target took them)
  bool complete = false;  // the target took every statement without diverging
};

struct SwitchEvidence {
  SwitchChange inferred;  // the value the target showed
  profile_file::SettingValue base_value;
  // "corpus/…/x.trace:12: the target gave EROFS; with the base value the model predicts EPERM"
  std::vector<std::string> evidence;
};

struct UnexplainedStep {
  std::string location;  // "file:line"
  std::string statement, observed, predicted;
};

struct InferenceResult {
  model::Profile profile{};
  std::string seed;                     // the known profile the search started from
  std::vector<SwitchEvidence> changed;  // switches whose value differs from the base
  std::vector<std::string> confirmed;   // switches a recorded trace showed at the base's value
  std::vector<std::string> unseen;      // switches no recorded trace could tell
  std::vector<UnexplainedStep> unexplained;
  std::vector<std::string> errors;  // traces the target could not run
  size_t target_runs = 0, rounds = 0, steps_recorded = 0, steps_explained = 0;
};

struct InferenceOptions {
  size_t max_rounds = 4;
  std::function<void(const std::string&)> progress;  // one line per trace run; may be empty
};

InferenceResult infer_profile(Target& target, const DiscriminatingSuite& suite,
                              const model::Profile& base, const InferenceOptions& options);

// Steps of the recorded traces the profile explains (each trace up to its first
// step the model does not predict).
size_t explained_steps(const std::vector<Evidence>& evidence, const model::Profile& profile);

}  // namespace loopcheck::inference
