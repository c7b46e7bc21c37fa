#include "inference/profile_diff.h"

#include <fmt/format.h>

#include "inference/discriminating_suite.h"
#include "inference/profile_variants.h"
#include "model/profile_switches.h"
#include "trace/print.h"

namespace loopcheck::inference {
namespace {

std::vector<const model::SwitchInfo*> differing_switches(const model::Profile& a,
                                                         const model::Profile& b) {
  std::vector<const model::SwitchInfo*> out;
  for (const model::SwitchInfo& info : model::profile_switches())
    if (info.value(a) != info.value(b)) out.push_back(&info);
  return out;
}

}  // namespace

ProfileDiff diff_profiles(const model::Profile& a, const model::Profile& b,
                          const std::vector<Trace>& corpus) {
  ProfileDiff diff;
  const std::vector<const model::SwitchInfo*> switches = differing_switches(a, b);
  for (const model::SwitchInfo* info : switches)
    diff.switches.push_back({std::string(info->name),
                             profile_file::format_setting(setting_of(info->value(a))),
                             profile_file::format_setting(setting_of(info->value(b))),
                             {}});
  for (const Trace& trace : corpus) {
    const std::vector<std::string> under_a = model_outcomes(trace, a);
    if (under_a.empty()) continue;  // concurrent: not compared here
    ++diff.traces_compared;
    const std::vector<std::string> under_b = model_outcomes(trace, b);
    const size_t at = first_difference(under_a, under_b);
    if (at == kAgree) continue;
    const Statement& stmt = trace.stmts[at];
    TraceDifference d{fmt::format("{}:{}", trace.source, stmt.pos.line),
                      print_statement(trace, stmt),
                      under_a[at],
                      under_b[at],
                      {}};
    for (size_t k = 0; k < switches.size(); ++k) {
      const model::Profile one = with_change(a, {switches[k], setting_of(switches[k]->value(b))});
      if (first_difference(under_a, model_outcomes(trace, one)) == kAgree) continue;
      d.switches.push_back(std::string(switches[k]->name));
      diff.switches[k].traces.push_back(trace.source);
    }
    diff.traces.push_back(std::move(d));
  }
  return diff;
}

}  // namespace loopcheck::inference
