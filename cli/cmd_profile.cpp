// `loopcheck profile diff A B` and `loopcheck profile infer --target T`: what
// tells two profiles apart, and which profile explains a target (docs/profiles.md).
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/profile_corpus.h"
#include "cli/profile_file_option.h"
#include "inference/profile_diff.h"
#include "inference/profile_inference.h"
#include "model/profile.h"

namespace loopcheck::cli {
namespace {

struct DiffArgs {
  std::string a, b;
  std::vector<std::string> corpus = default_profile_corpus();
};

void print_diff(const model::Profile& a, const model::Profile& b,
                const inference::ProfileDiff& diff) {
  fmt::print("{} and {} differ in {} switches:\n", a.name, b.name, diff.switches.size());
  fmt::print("  {:<38} {:<14} {:<14} {}\n", "switch", a.name, b.name,
             "traces this switch alone tells apart");
  for (const inference::SwitchDifference& s : diff.switches)
    fmt::print("  {:<38} {:<14} {:<14} {}\n", s.name, s.a, s.b,
               s.traces.empty() ? std::string("none in the corpus")
                                : fmt::format("{} (first: {})", s.traces.size(), s.traces[0]));
  fmt::print("\n{} of {} traces tell them apart (first differing statement; {} | {}):\n",
             diff.traces.size(), diff.traces_compared, a.name, b.name);
  for (const inference::TraceDifference& t : diff.traces)
    fmt::print("  {}  `{}`  {} | {}  [{}]\n", t.location, t.statement, t.a, t.b,
               t.switches.empty() ? std::string("several switches together")
                                  : fmt::format("{}", fmt::join(t.switches, ", ")));
}

int profile_diff(const DiffArgs& args) {
  const model::Profile* a = profile_or_complain(args.a);
  const model::Profile* b = profile_or_complain(args.b);
  std::vector<Trace> corpus;
  if (!a || !b || !load_profile_corpus(args.corpus, &corpus)) return kExitUsage;
  print_diff(*a, *b, inference::diff_profiles(*a, *b, corpus));
  return kExitPass;
}

void add_diff(CLI::App* profile, Action& action) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App* cmd =
      profile->add_subcommand("diff", "The switches and the traces that tell two profiles apart");
  const CLI::Validator resolve(resolve_profile_argument, "NAME|FILE.toml");
  cmd->add_option("a", args->a, "A profile (a name, or FILE.toml)")->required()->transform(resolve);
  cmd->add_option("b", args->b, "Another")->required()->transform(resolve);
  cmd->add_option("--corpus", args->corpus,
                  "Trace files or directories (default: the "
                  "checkout's conformance and ports corpora)");
  cmd->callback([args, &action] { action = [args] { return profile_diff(*args); }; });
}

}  // namespace

void add_infer_subcommand(CLI::App* profile, Action& action);  // cmd_profile_infer.cpp

void add_profile_command(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand(
      "profile", "Profiles of ports and kernels: what tells two apart, which explains a target");
  cmd->require_subcommand(1);
  add_diff(cmd, action);
  add_infer_subcommand(cmd, action);
}

LOOPCHECK_COMMAND(56, add_profile_command);

}  // namespace loopcheck::cli
