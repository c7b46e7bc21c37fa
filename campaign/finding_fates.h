// What became of each finding between two nights: new (first seen tonight and
// confirmed by a rerun), open (seen before and still reproducing, found again
// tonight or not), fixed (seen before, no longer reproduces), flaky (found
// tonight, but its rerun did not show it). Pure: the reruns come in as a function.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace loopcheck::campaign {

enum class FindingStatus { New, Open, Fixed, Flaky };

std::string_view finding_status_name(FindingStatus status);
bool finding_status_from_name(std::string_view name, FindingStatus* status);

// A finding as one night knows it.
struct KnownFinding {
  std::string id;  // "<target>/finding-<16 hex>": stable across nights (a signature hash)
  std::string signature;
  std::string first_seen;  // night
  FindingStatus status = FindingStatus::New;
  std::string note;  // why a status is less certain than it looks ("the rerun could not run")
};

enum class Rerun { Reproduces, Gone, CouldNotRun };

struct NightFindings {
  std::vector<KnownFinding> tonight;   // found by tonight's fuzzers (status unset)
  std::vector<KnownFinding> previous;  // the previous night's report, all statuses
};

// `rerun(id, from_previous)`: runs the finding's trace (tonight's copy, or the
// previous report's when `from_previous`) on its target. Returns the fates in id
// order; a previous night's fixed findings are not carried forward.
std::vector<KnownFinding> decide_fates(
    const NightFindings& findings, const std::string& night,
    const std::function<Rerun(const KnownFinding&, bool from_previous)>& rerun);

}  // namespace loopcheck::campaign
