// `loopcheck explore --profile P [--devices N] [--files M] [--fds K] [--depth D]
//  [--domain small|boundary] [--store exact|fingerprint] [--threads T] [--no-symmetry]
//  [--frontier-mem MB] [--json] [--graph FILE.dot] [--suite DIR]`: exhaustive search of
// the model inside a bounded scope (docs/explorer.md). Exit 1 when an invariant is
// violated, 2 on a usage error or when the frontier cannot be spilled (disk full).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "explore/explore.h"
#include "explore/frontier.h"
#include "explore/coverage.h"
#include "explore/graph.h"
#include "explore/suite.h"
#include "trace/print.h"
#include "trace/classify.h"

namespace loopcheck::cli {
namespace {

struct ExploreArgs {
  std::string profile = std::string(model::kDefaultProfile.name);
  model::Scope scope;
  std::string domain = "small";
  std::string store = "exact";
  uint32_t threads = 1;
  bool no_symmetry = false;
  bool json = false;
  std::string graph;
  std::string suite;
  uint64_t max_states = 20'000'000;
  uint64_t frontier_mem_mb = 1024;
};

void print_violations(const model::ExploreOptions& options, const model::ExploreResult& r) {
  for (const model::Violation& v : r.violations) {
    fmt::print("VIOLATION at depth {}: {}\nshortest trace:\n", v.depth, v.why);
    const model::ConcretePath path = model::explore_path(options, r, v.state);
    Trace t = model::literal_trace(options, path);
    fmt::print("{}\n", print_trace(t));
  }
}

nlohmann::ordered_json coverage_json(const model::ExploreOptions& options,
                                     const model::ExploreResult& r) {
  nlohmann::ordered_json reached = nlohmann::ordered_json::array();
  for (const auto& [key, count] : r.coverage)
    reached.push_back({{"op", op_label_name(key.first)},
                       {"outcome", errno_class_name(key.second)},
                       {"transitions", count}});
  nlohmann::ordered_json never = nlohmann::ordered_json::array();
  for (const model::CoverageGap& g : model::coverage_gaps(options, r))
    never.push_back({{"op", g.op}, {"outcome", g.outcome}});
  return {{"reached", reached}, {"never_reached", never}};
}

// The search options the arguments ask for; kExitPass, or the exit code of a usage error.
int make_options(const ExploreArgs& args, model::ExploreOptions& options) {
  options.profile = model::find_profile(args.profile);
  if (!options.profile) {
    fmt::print(stderr, "unknown profile '{}' (known: linux-6.1, linux-6.12, linux-6.18)\n",
               args.profile);
    return kExitUsage;
  }
  options.scope = args.scope;
  options.scope.domain = args.domain == "boundary" ? model::Domain::Boundary : model::Domain::Small;
  options.store =
      args.store == "fingerprint" ? model::StoreMode::Fingerprint : model::StoreMode::Exact;
  options.threads = args.threads;
  options.symmetry = !args.no_symmetry;
  options.max_states = args.max_states;
  options.frontier_memory_bytes = args.frontier_mem_mb << 20;
  if (const char* err = model::scope_error(options.scope); *err) {
    fmt::print(stderr, "{}\n", err);
    return kExitUsage;
  }
  if (!args.suite.empty() && options.store != model::StoreMode::Exact) {
    // Not needed for correctness, but a suite from an incomplete search would be quietly partial.
    fmt::print(stderr, "--suite needs --store exact\n");
    return kExitUsage;
  }
  return kExitPass;
}

// --graph and --suite; kExitPass, or the exit code of the failure.
int write_files(const ExploreArgs& args, const model::ExploreOptions& options,
                const model::ExploreResult& r, size_t& suite_traces) {
  if (!args.graph.empty()) {
    std::ofstream out(args.graph, std::ios::binary | std::ios::trunc);
    model::write_lifecycle_dot(r, out);
    if (!out.flush()) {
      fmt::print(stderr, "{}: cannot write the graph\n", args.graph);
      return kExitUsage;
    }
  }
  if (args.suite.empty()) return kExitPass;
  std::string error;
  const std::vector<model::SuiteTrace> suite = model::build_suite(options, r, &error);
  if (!error.empty()) {
    fmt::print(stderr, "suite: {}\n", error);
    return kExitFail;
  }
  if (!model::write_suite(suite, args.suite, &error)) {
    fmt::print(stderr, "{}\n", error);
    return kExitUsage;
  }
  suite_traces = suite.size();
  return kExitPass;
}

void print_json(const ExploreArgs& args, const model::ExploreOptions& options,
                const model::ExploreResult& r, size_t suite_traces) {
  const model::ExploreStats& s = r.stats;
  nlohmann::ordered_json j;
  j["profile"] = options.profile->name;
  j["scope"] = {{"devices", options.scope.devices},
                {"files", options.scope.files},
                {"fds", options.scope.fds},
                {"depth", options.scope.depth},
                {"domain", args.domain}};
  j["store"] = args.store;
  j["symmetry"] = options.symmetry;
  j["threads"] = options.threads;
  j["distinct_states"] = s.distinct;
  j["generated_states"] = s.generated;
  j["queue"] = s.queue;
  j["max_depth"] = s.depth_reached;
  j["exhausted"] = s.exhausted;
  j["complete"] = s.complete;
  j["store_bytes"] = s.store_bytes;
  j["omission_probability"] = s.omission_probability;
  // Memory besides the store: depends on the thread count and --frontier-mem.
  j["log_bytes"] = s.log_bytes;
  j["marks_bytes"] = s.marks_bytes;
  j["frontier_peak_bytes"] = s.frontier_peak_bytes;
  j["frontier_spilled_bytes"] = s.frontier_spilled_bytes;
  j["violations"] = r.violations.size();
  j["edges"] = r.edges.size();
  j["coverage"] = coverage_json(options, r);
  if (!args.suite.empty()) j["suite_traces"] = suite_traces;
  // Wall clock: the only fields that differ between identical runs.
  j["time_seconds"] = s.seconds;
  j["states_per_second"] = s.states_per_second;
  j["cpu_seconds"] = s.cpu_seconds;
  j["critical_cpu_seconds"] = s.critical_cpu_seconds;
  fmt::print("{}\n", j.dump(2));
}

void print_text(const ExploreArgs& args, const model::ExploreOptions& options,
                const model::ExploreResult& r, size_t suite_traces) {
  const model::ExploreStats& s = r.stats;
  fmt::print(
      "Model checking the loop model, profile {}: devices={} files={} fds={} depth={} domain={} "
      "store={}{}\n",
      options.profile->name, options.scope.devices, options.scope.files, options.scope.fds,
      options.scope.depth, args.domain, args.store, options.symmetry ? " symmetry=fds" : "");
  fmt::print("{} states generated, {} distinct states found, {} states left on queue.\n",
             s.generated, s.distinct, s.queue);
  fmt::print("The depth of the complete state graph search is {}{}.\n", s.depth_reached,
             s.exhausted ? " (no new states beyond it)" : " (depth bound)");
  if (options.store == model::StoreMode::Fingerprint)
    fmt::print("Fingerprint store: estimated probability of an omitted state {:.3g}\n",
               s.omission_probability);
  fmt::print(
      "Store: {} bytes ({:.1f} bytes/state). {:.0f} states/s with {} thread(s) ({:.3f} s).\n",
      s.store_bytes, static_cast<double>(s.store_bytes) / static_cast<double>(s.distinct),
      s.states_per_second, options.threads, s.seconds);
  fmt::print("CPU: {:.3f} s, {:.3f} s of it on the longest chain (the busiest worker per phase).\n",
             s.cpu_seconds, s.critical_cpu_seconds);
  fmt::print("Frontier: {} bytes in memory at most, {} spilled; path log {} bytes{}.\n",
             s.frontier_peak_bytes, s.frontier_spilled_bytes, s.log_bytes,
             s.marks_bytes ? fmt::format(", provisional marks {} bytes", s.marks_bytes) : "");
  fmt::print("Coverage: (operation, outcome) pairs reached:\n");
  for (const auto& [key, count] : r.coverage)
    fmt::print("  {:<28} {:<10} {}\n", op_label_name(key.first), errno_class_name(key.second),
               count);
  const std::vector<model::CoverageGap> gaps = model::coverage_gaps(options, r);
  fmt::print("Never reached ({}):\n", gaps.size());
  for (const model::CoverageGap& g : gaps) fmt::print("  {:<28} {}\n", g.op, g.outcome);
  fmt::print("Lifecycle edges: {}\n", r.edges.size());
  if (!args.suite.empty()) fmt::print("Suite: {} traces written to {}\n", suite_traces, args.suite);
  if (r.violations.empty()) fmt::print("No invariant violated.\n");
}

int explore(const ExploreArgs& args) {
  model::ExploreOptions options;
  if (int rc = make_options(args, options); rc != kExitPass) return rc;
  model::ExploreResult r;
  try {
    r = model::explore(options);
  } catch (const model::FrontierError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitUsage;
  }
  size_t suite_traces = 0;
  if (int rc = write_files(args, options, r, suite_traces); rc != kExitPass) return rc;
  if (args.json)
    print_json(args, options, r, suite_traces);
  else
    print_text(args, options, r, suite_traces);
  if (!r.violations.empty()) {
    if (!args.json) print_violations(options, r);
    return kExitFail;
  }
  return kExitPass;
}

}  // namespace

void add_explore_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ExploreArgs>();
  CLI::App* cmd = app.add_subcommand(
      "explore", "Search every model state in a bounded scope; check invariants");
  add_profile_option(cmd, &args->profile, "Model profile")->capture_default_str();
  cmd->add_option("--devices", args->scope.devices, "Loop devices that may exist at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, model::kMaxScopeDevices));
  cmd->add_option("--files", args->scope.files, "Backing files")
      ->capture_default_str()
      ->check(CLI::Range(1u, model::kMaxScopeFiles));
  cmd->add_option("--fds", args->scope.fds, "Fds that may be open at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, model::kMaxScopeFds));
  cmd->add_option("--depth", args->scope.depth, "Operations from the initial state")
      ->capture_default_str()
      ->check(CLI::Range(0u, 64u));
  cmd->add_option("--domain", args->domain, "Argument values")
      ->capture_default_str()
      ->check(CLI::IsMember({"small", "boundary"}));
  cmd->add_option("--store", args->store, "State store")
      ->capture_default_str()
      ->check(CLI::IsMember({"exact", "fingerprint"}));
  cmd->add_option("--threads", args->threads, "Worker threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  cmd->add_option("--max-states", args->max_states, "Stop past this many distinct states")
      ->capture_default_str();
  cmd->add_option("--frontier-mem", args->frontier_mem_mb,
                  "MiB of BFS frontier kept in memory; beyond it, levels spill to $TMPDIR")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
  cmd->add_flag("--no-symmetry", args->no_symmetry,
                "Do not identify states that differ only in fd numbers");
  cmd->add_flag("--json", args->json, "Print the statistics as JSON");
  cmd->add_option("--graph", args->graph, "Write the lifecycle graph as DOT to this file");
  cmd->add_option("--suite", args->suite,
                  "Write a trace suite covering every lifecycle edge to this directory");
  cmd->callback([args, &action] { action = [args] { return explore(*args); }; });
}

LOOPCHECK_COMMAND(40, add_explore_command);

}  // namespace loopcheck::cli
