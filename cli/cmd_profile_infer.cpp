// `loopcheck profile infer --target T [--base P]`: runs the discriminating suite
// on the target and prints the profile file that explains it, with the evidence
// per switch as each override's `why`, and every step no profile explains.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/profile_corpus.h"
#include "cli/profile_file_option.h"
#include "inference/profile_inference.h"
#include "model/profile_registry.h"
#include "targets/registry.h"

namespace loopcheck::cli {
namespace {

struct InferArgs {
  std::string target;
  std::string base = std::string(model::kDefaultProfile.name);
  std::vector<std::string> corpus = default_profile_corpus();
  std::string name = "inferred";
  size_t per_change = 2;
  size_t rounds = 4;
  uint64_t search_traces = 400;
  bool verbose = false;
};

// A TOML basic string.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string matching_known_profile(const model::Profile& p) {
  for (const model::Profile* known : inference::known_profiles())
    if (model::switch_differences(p, *known).empty()) return std::string(known->name);
  return {};
}

void print_header(const InferArgs& args, const inference::InferenceResult& r,
                  const inference::DiscriminatingSuite& suite) {
  fmt::print("# loopcheck profile infer --target {} --base {}\n", args.target, args.base);
  fmt::print(
      "# {} of {} recorded steps explained; {} suite traces, {} runs on the target in {} "
      "round(s); search seeded with {}\n",
      r.steps_explained, r.steps_recorded, suite.traces.size(), r.target_runs, r.rounds, r.seed);
  const std::string same = matching_known_profile(r.profile);
  fmt::print("# {}\n", same.empty() ? "matches no known profile"
                                    : "identical, switch for switch, to the profile " + same);
  fmt::print("# confirmed at the base's value: {}\n", fmt::join(r.confirmed, ", "));
  fmt::print("# unseen (no recorded step depends on them): {}\n",
             r.unseen.empty() ? "none" : fmt::format("{}", fmt::join(r.unseen, ", ")));
  for (const inference::SwitchChange& c : suite.undiscriminated)
    fmt::print("# no trace found that tells {} from the base's value\n",
               inference::format_change(c));
  fmt::print("# unexplained steps: {}\n", r.unexplained.empty() ? "none" : "");
  for (const inference::UnexplainedStep& u : r.unexplained)
    fmt::print("#   {}: `{}`: the target gave {}; the model predicts {}\n", u.location, u.statement,
               u.observed, u.predicted);
  for (const std::string& e : r.errors) fmt::print("# not run: {}\n", e);
}

void print_profile(const InferArgs& args, const inference::InferenceResult& r) {
  fmt::print("name = {}\nbase = {}\ndescription = {}\n", toml_string(args.name),
             toml_string(args.base),
             toml_string("inferred by loopcheck profile infer from target " + args.target));
  for (const inference::SwitchEvidence& s : r.changed) {
    std::string why = s.evidence.empty()
                          ? "taken with the seed profile " + r.seed + "; no recorded step tells it"
                          : fmt::format("{}", fmt::join(s.evidence, "; "));
    fmt::print("\n[switches.{}]\nvalue = {}\nwhy = {}\n", s.inferred.info->name,
               profile_file::format_setting(s.inferred.value), toml_string(why));
  }
}

int profile_infer(const InferArgs& args) {
  for (const std::string& e : load_checkout_profiles()) {
    fmt::print(stderr, "{}\n", e);
    return kExitUsage;
  }
  const model::Profile* base = profile_or_complain(args.base);
  std::vector<Trace> corpus;
  if (!base || !load_profile_corpus(args.corpus, &corpus)) return kExitUsage;
  TargetChoice chosen = make_target(args.target);
  if (!chosen.ok || !chosen.target) {
    fmt::print(stderr, "{}\n",
               chosen.ok ? "profile infer needs a target beside the model "
                           "(host, vm:VERSION, exec:CMD, inproc:PROFILE)"
                         : chosen.error);
    return kExitUsage;
  }
  const auto start = std::chrono::steady_clock::now();
  inference::SuiteOptions suite_options;
  suite_options.per_change = args.per_change;
  suite_options.search_traces = args.search_traces;
  const inference::DiscriminatingSuite suite = inference::build_suite(corpus, *base, suite_options);
  inference::InferenceOptions options;
  options.max_rounds = args.rounds;
  if (args.verbose)
    options.progress = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  const inference::InferenceResult r =
      inference::infer_profile(*chosen.target, suite, *base, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_header(args, r, suite);
  print_profile(args, r);
  fmt::print(stderr,
             "profile infer: {} switch(es) differ from {}; {} of {} steps explained; {}; "
             "{:.1f} s\n",
             r.changed.size(), args.base, r.steps_explained, r.steps_recorded,
             matching_known_profile(r.profile).empty()
                 ? std::string("no known profile matches")
                 : "it is " + matching_known_profile(r.profile),
             seconds);
  // Traces the target could not run (an @env it lacks) are listed, not failures.
  return r.unexplained.empty() ? kExitPass : kExitFail;
}

}  // namespace

void add_infer_subcommand(CLI::App* profile, Action& action) {
  auto args = std::make_shared<InferArgs>();
  CLI::App* cmd = profile->add_subcommand(
      "infer", "Run a discriminating suite on a target and print the profile file explaining it");
  cmd->add_option("--target", args->target,
                  "host | vm:VERSION | exec:CMD | serial:PATH | inproc:PROFILE")
      ->required();
  cmd->add_option("--base", args->base, "The profile the printed file overrides")
      ->capture_default_str()
      ->transform(CLI::Validator(resolve_profile_argument, "NAME|FILE.toml"));
  cmd->add_option("--corpus", args->corpus,
                  "Where the suite's traces come from (default: the "
                  "checkout's conformance and ports corpora)");
  cmd->add_option("--name", args->name, "The printed profile's name")->capture_default_str();
  cmd->add_option("--per-switch", args->per_change, "Traces per switch value in the suite")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  cmd->add_option("--search", args->search_traces,
                  "Generated traces tried per switch value the corpus cannot tell (0: none)")
      ->capture_default_str();
  cmd->add_option("--rounds", args->rounds, "At most this many rounds on the target")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  cmd->add_flag("-v,--verbose", args->verbose, "One line per trace run on the target");
  cmd->callback([args, &action] { action = [args] { return profile_infer(*args); }; });
}

}  // namespace loopcheck::cli
