#include "campaign/finding_fates.h"

#include <algorithm>
#include <map>

namespace loopcheck::campaign {

std::string_view finding_status_name(FindingStatus status) {
  switch (status) {
    case FindingStatus::New:
      return "new";
    case FindingStatus::Open:
      return "open";
    case FindingStatus::Fixed:
      return "fixed";
    case FindingStatus::Flaky:
      return "flaky";
  }
  return "new";
}

bool finding_status_from_name(std::string_view name, FindingStatus* status) {
  for (FindingStatus s :
       {FindingStatus::New, FindingStatus::Open, FindingStatus::Fixed, FindingStatus::Flaky}) {
    if (finding_status_name(s) == name) {
      *status = s;
      return true;
    }
  }
  return false;
}

namespace {

// Found tonight: open when an earlier night reported it (still unfixed), else new
// only once a rerun shows it again.
KnownFinding tonight_fate(KnownFinding f, const KnownFinding* before, const std::string& night,
                          const std::function<Rerun(const KnownFinding&, bool)>& rerun) {
  if (before) {
    f.status = FindingStatus::Open;
    f.first_seen = before->first_seen;
    return f;
  }
  f.first_seen = night;
  switch (rerun(f, false)) {
    case Rerun::Reproduces:
      f.status = FindingStatus::New;
      break;
    case Rerun::Gone:
      f.status = FindingStatus::Flaky;
      f.note = "its rerun did not show the divergence";
      break;
    case Rerun::CouldNotRun:
      f.status = FindingStatus::Flaky;
      f.note = "its confirming rerun could not run (see the findings log)";
      break;
  }
  return f;
}

// Reported before, not found tonight: rerun to tell still-open from fixed.
KnownFinding carried_fate(KnownFinding f,
                          const std::function<Rerun(const KnownFinding&, bool)>& rerun) {
  f.note.clear();
  switch (rerun(f, true)) {
    case Rerun::Reproduces:
      f.status = FindingStatus::Open;
      break;
    case Rerun::Gone:
      f.status = FindingStatus::Fixed;
      break;
    case Rerun::CouldNotRun:
      f.status = FindingStatus::Open;
      f.note = "not found tonight, and its rerun could not run: kept open";
      break;
  }
  return f;
}

}  // namespace

std::vector<KnownFinding> decide_fates(
    const NightFindings& findings, const std::string& night,
    const std::function<Rerun(const KnownFinding&, bool from_previous)>& rerun) {
  std::map<std::string, const KnownFinding*> before;
  for (const KnownFinding& f : findings.previous) {
    if (f.status != FindingStatus::Fixed) before[f.id] = &f;
  }
  std::map<std::string, KnownFinding> fates;
  for (const KnownFinding& f : findings.tonight) {
    auto it = before.find(f.id);
    fates[f.id] = tonight_fate(f, it == before.end() ? nullptr : it->second, night, rerun);
  }
  for (const auto& [id, f] : before) {
    if (!fates.contains(id)) fates[id] = carried_fate(*f, rerun);
  }
  std::vector<KnownFinding> out;
  for (auto& [id, f] : fates) out.push_back(std::move(f));
  return out;
}

}  // namespace loopcheck::campaign
