// junit.xml: one <testsuite> per stage, one <testcase> per trace x target
// (conformance), per explorer scope, per fuzz task and per finding, in the JUnit
// XML shape CI systems read (Jenkins, GitLab, GitHub test reporters): failures as
// <failure>, a task that could not run as <error>, a skipped trace as <skipped/>.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "campaign/plan.h"
#include "campaign/task_runner.h"

namespace loopcheck::campaign {

std::string render_junit(const Plan& plan, const std::vector<TaskRecord>& records,
                         const nlohmann::ordered_json& summary);

}  // namespace loopcheck::campaign
