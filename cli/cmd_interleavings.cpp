// `loopcheck interleavings TRACE...`: every interleaving of each trace's
// concurrent block on the model; the outcome tuples the model allows (a witness
// order for each), invariants, and what the reductions saved
// (explore/interleavings.h).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "cli/profile_choice.h"
#include "explore/interleavings.h"
#include "trace/outcome_tuple.h"
#include "trace/trace_files.h"

namespace loopcheck::cli {
namespace {

struct InterleavingsArgs {
  std::vector<std::string> paths;
  std::string profile;
  std::string reduction = "all";
  bool json = false;
};

model::InterleavingOptions options_for(const std::string& reduction) {
  model::InterleavingOptions o;
  o.cache_states = reduction == "all" || reduction == "cache";
  o.sleep_sets = reduction == "all" || reduction == "sleep";
  return o;
}

std::string witness_text(const ConcurrentBlock& block, const std::vector<uint8_t>& witness) {
  std::string out;
  for (uint8_t t : witness) out += (out.empty() ? "" : " ") + block.threads[t];
  return out;
}

nlohmann::json report(const Trace& trace, const model::Profile& profile,
                      const model::InterleavingResult& r, bool print) {
  const ConcurrentBlock& block = trace.blocks.front();
  nlohmann::json j{{"trace", trace.source},
                   {"profile", profile.name},
                   {"expanded", r.expanded},
                   {"transitions", r.transitions},
                   {"executions", r.executions},
                   {"complete", r.complete},
                   {"seconds", r.seconds},
                   {"violations", r.violations},
                   {"independence_checks", r.independence_checks}};
  for (const model::AllowedTuple& t : r.tuples)
    j["tuples"].push_back({{"tuple", format_tuple(trace, block, t.tuple)},
                           {"witness", witness_text(block, t.witness)}});
  if (!print) return j;
  fmt::print("{} ({}): {} outcome tuple(s) the model allows\n", trace.source, profile.name,
             r.tuples.size());
  for (const model::AllowedTuple& t : r.tuples)
    fmt::print("  allow {}    # e.g. {}\n", format_tuple(trace, block, t.tuple),
               witness_text(block, t.witness));
  for (const std::string& v : r.violations) fmt::print("  INVARIANT VIOLATED: {}\n", v);
  const double rate = r.seconds > 0 ? static_cast<double>(r.transitions) / r.seconds : 0;
  fmt::print(
      "  {} configurations expanded, {} micro-steps ({} for independence checks), {} "
      "complete interleavings, {:.3f} s ({:.0f} steps/s){}\n",
      r.expanded, r.transitions, r.independence_checks * 4, r.executions, r.seconds, rate,
      r.complete ? "" : " — INCOMPLETE: stopped at the configuration bound");
  return j;
}

int interleavings(const InterleavingsArgs& a) {
  LoadedTraces loaded = load_traces(a.paths);
  for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
  if (!loaded.ok()) return kExitUsage;
  nlohmann::json all = nlohmann::json::array();
  bool failed = false;
  for (const Trace& trace : loaded.traces) {
    if (!trace.concurrent()) {
      fmt::print(stderr, "{}: no concurrent block (nothing to interleave)\n", trace.source);
      return kExitUsage;
    }
    const ProfileChoice choice = choose_profile(a.profile, trace, TargetChoice{});
    if (!choice.profile) {
      fmt::print(stderr, "{}\n", choice.error);
      return kExitUsage;
    }
    const model::InterleavingResult r =
        model::explore_interleavings(trace, *choice.profile, trace.env, options_for(a.reduction));
    all.push_back(report(trace, *choice.profile, r, !a.json));
    failed = failed || !r.violations.empty() || !r.complete;
  }
  if (a.json) fmt::print("{}\n", all.dump(2));
  return failed ? kExitFail : kExitPass;
}

}  // namespace

void add_interleavings_command(CLI::App& app, Action& action) {
  auto a = std::make_shared<InterleavingsArgs>();
  CLI::App* cmd =
      app.add_subcommand("interleavings",
                         "Every interleaving of a trace's concurrent block on the model: the "
                         "outcome tuples it allows");
  cmd->add_option("traces", a->paths, "Trace files with a concurrent block")->required();
  add_profile_option(cmd, &a->profile, "Model profile (default: the trace's @profile)");
  cmd->add_option("--reduction", a->reduction,
                  "all (state caching + sleep sets), cache, sleep (sleep sets alone: no "
                  "memory per configuration), none")
      ->check(CLI::IsMember({"all", "cache", "sleep", "none"}));
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->callback([a, &action] { action = [a] { return interleavings(*a); }; });
}

LOOPCHECK_COMMAND(42, add_interleavings_command);

}  // namespace loopcheck::cli
