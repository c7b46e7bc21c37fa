// `loopcheck prove [--profile P] [--json] [--timeout-ms N]`: proves the properties of
// the loop-geometry arithmetic (proofs/, docs/proofs.md) under each profile and
// compares every result with the documented one. Exit 0 when all are as expected,
// 1 when any differs or is unknown (a timeout), 2 on a usage error.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "model/profile.h"
#include "proofs/prover.h"

namespace loopcheck::cli {
namespace {

struct ProveArgs {
  std::string profile;   // empty: every profile
  std::string property;  // empty: every property
  bool json = false;
  unsigned timeout_ms = proofs::kDefaultTimeoutMs;
};

void print_text(const std::vector<proofs::Verdict>& verdicts) {
  for (const proofs::Verdict& v : verdicts) {
    const std::string mark = v.as_expected() ? "ok  " : "FAIL";
    fmt::print("{} {:<11} {:<44} {:<14} {:>8.1f} ms", mark, v.profile, v.property,
               proofs::result_name(v.result), v.milliseconds);
    if (!v.same_query_as.empty()) fmt::print("  (same query as {})", v.same_query_as);
    if (v.result != v.expected) fmt::print("  (expected {})", proofs::result_name(v.expected));
    if (v.result == proofs::Result::Unknown) fmt::print("  [{}]", v.unknown_reason);
    fmt::print("\n");
    if (!v.counterexample.empty()) {
      std::string values;
      for (const auto& [name, value] : v.counterexample)
        values += fmt::format(" {}={}", name, value);
      fmt::print("       counterexample:{}\n", values);
    }
  }
}

void print_json(const std::vector<proofs::Verdict>& verdicts) {
  // No timings here: the document must be the same on every run.
  nlohmann::ordered_json properties = nlohmann::ordered_json::array();
  for (const proofs::Verdict& v : verdicts) {
    nlohmann::ordered_json p;
    p["profile"] = v.profile;
    p["name"] = v.property;
    p["result"] = proofs::result_name(v.result);
    p["expected"] = proofs::result_name(v.expected);
    if (!v.counterexample.empty()) {
      nlohmann::ordered_json values = nlohmann::ordered_json::object();
      for (const auto& [name, value] : v.counterexample) values[name] = value;
      p["counterexample"] = values;
    }
    if (v.result == proofs::Result::Unknown) p["reason"] = v.unknown_reason;
    properties.push_back(p);
  }
  nlohmann::ordered_json doc;
  doc["properties"] = properties;
  fmt::print("{}\n", doc.dump(2));
}

int prove(const ProveArgs& args) {
  std::vector<proofs::ProfilePair> profiles;
  if (args.profile.empty()) {
    for (const model::Profile* p : model::kProfiles)
      profiles.push_back(proofs::profile_pair(p->name));
  } else {
    profiles.push_back(proofs::profile_pair(args.profile));
  }
  for (const proofs::ProfilePair& p : profiles) {
    if (!p.model) {
      fmt::print(stderr, "unknown profile '{}' (known: linux-6.1, linux-6.12, linux-6.18)\n",
                 args.profile);
      return kExitUsage;
    }
  }
  if (args.timeout_ms == 0) {
    fmt::print(stderr, "--timeout-ms must be at least 1\n");
    return kExitUsage;
  }

  std::vector<proofs::Property> chosen;
  for (const proofs::Property& property : proofs::properties())
    if (args.property.empty() || property.name == args.property) chosen.push_back(property);
  if (chosen.empty()) {
    fmt::print(stderr, "no property is named '{}' (see loopcheck prove without --property)\n",
               args.property);
    return kExitUsage;
  }
  const std::vector<proofs::Verdict> verdicts =
      proofs::prove_all(profiles, chosen, proofs::real_subjects(), args.timeout_ms);

  int unexpected = 0, unknown = 0;
  for (const proofs::Verdict& v : verdicts) {
    unexpected += v.result != proofs::Result::Unknown && v.result != v.expected;
    unknown += v.result == proofs::Result::Unknown;
  }
  if (args.json) {
    print_json(verdicts);
  } else {
    print_text(verdicts);
    double total_ms = 0;
    for (const proofs::Verdict& v : verdicts) total_ms += v.milliseconds;
    fmt::print("{} results: {} as expected, {} unexpected, {} unknown ({:.0f} ms)\n",
               verdicts.size(), verdicts.size() - static_cast<size_t>(unexpected + unknown),
               unexpected, unknown, total_ms);
  }
  return unexpected + unknown == 0 ? kExitPass : kExitFail;
}

}  // namespace

void add_prove_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ProveArgs>();
  CLI::App* cmd = app.add_subcommand(
      "prove",
      "Prove the offset/sizelimit/capacity/block-size/DIO arithmetic of model and driver with Z3");
  add_profile_option(cmd, &args->profile, "Only this profile (default: every profile)");
  cmd->add_option("--property", args->property, "Only the property of this name (default: all)");
  cmd->add_flag("--json", args->json, "Print the results as JSON (no timings)");
  cmd->add_option("--timeout-ms", args->timeout_ms,
                  "Give up on one query after this many milliseconds")
      ->capture_default_str();
  cmd->callback([&action, args] { action = [args] { return prove(*args); }; });
}

LOOPCHECK_COMMAND(60, add_prove_command);

}  // namespace loopcheck::cli
