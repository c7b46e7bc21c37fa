// Every stored finding (reports/findings/<target>/finding-*.trace) still shows its
// stored signature on its target. A finding that no longer does was fixed, or
// turned into another bug: the backlog must say so instead of silently holding
// a signature that hides nothing (reports/README.md, docs/corpus.md).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "repro/finding_triage.h"
#include "targets/registry.h"

namespace loopcheck {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> stored_findings() {
  std::vector<std::string> paths;
  const fs::path root = fs::path(LOOPCHECK_SOURCE_DIR) / "reports" / "findings";
  if (!fs::is_directory(root)) return paths;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.starts_with("finding-") && name.ends_with(".trace"))
      paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST(StoredFindings, EachReproducesItsStoredSignatureOnItsTarget) {
  for (const std::string& path : stored_findings()) {
    // A fresh target per finding: each must reproduce on its own, as
    // `loopcheck run --target inproc FINDING` runs it.
    TargetChoice target = make_target(finding_target_name(path));
    ASSERT_TRUE(target.ok && target.target)
        << path << ": its directory names no target this build runs: " << target.error;
    const FindingCheck c = check_finding(path, *target.target);
    EXPECT_TRUE(c.reproduces()) << fmt::format(
        "{} no longer reproduces its stored signature\n  stored: {}\n  now:    {}{}\n"
        "It is fixed or has become another bug: move the trace into corpus/conformance/ as a "
        "regression trace with expectations the kernels confirm (docs/corpus.md) and delete it "
        "from reports/findings/.",
        path, c.stored, c.now.empty() ? "no divergence" : c.now,
        c.error.empty() ? "" : "\n  error:  " + c.error);
  }
}

}  // namespace
}  // namespace loopcheck
