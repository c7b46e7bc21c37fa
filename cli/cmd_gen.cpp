// `loopcheck gen --profile P --seed S --count N --ops K --out DIR`: seeded random
// traces, written as DIR/gen-S-I.trace in canonical form.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "fuzz/generator.h"
#include "trace/print.h"

namespace loopcheck::cli {
namespace {

struct GenArgs {
  std::string profile = std::string(model::kDefaultProfile.name);
  uint64_t seed = 1;
  uint64_t count = 10;
  uint32_t ops = 24;
  std::string out;
};

int gen(const GenArgs& args) {
  namespace fs = std::filesystem;
  const model::Profile* profile = model::find_profile(args.profile);
  if (!profile) {
    fmt::print(stderr, "unknown profile '{}' (known: linux-6.1, linux-6.12, linux-6.18)\n",
               args.profile);
    return kExitUsage;
  }
  std::error_code ec;
  fs::create_directories(args.out, ec);
  if (ec) {
    fmt::print(stderr, "{}: cannot create the output directory: {}\n", args.out, ec.message());
    return kExitUsage;
  }
  GenOptions options{args.seed, args.ops, profile};
  for (uint64_t i = 0; i < args.count; ++i) {
    Trace trace = generate_trace(options, i);
    fs::path path = fs::path(args.out) / fmt::format("gen-{}-{:04}.trace", args.seed, i);
    fs::path partial = path;
    partial += ".partial";
    {
      std::ofstream file(partial, std::ios::binary | std::ios::trunc);
      file << fmt::format("# loopcheck gen --profile {} --seed {} --ops {} (trace {})\n",
                          profile->name, args.seed, args.ops, i)
           << print_trace(trace);
      if (!file.flush()) {
        fmt::print(stderr, "{}: write failed (disk full?); traces written so far are kept\n",
                   partial.string());
        fs::remove(partial, ec);
        return kExitUsage;
      }
    }
    fs::rename(partial, path, ec);  // never leave a half-written trace under its real name
    if (ec) {
      fmt::print(stderr, "{}: {}\n", path.string(), ec.message());
      return kExitUsage;
    }
  }
  fmt::print("wrote {} traces to {}\n", args.count, args.out);
  return kExitPass;
}

}  // namespace

void add_gen_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<GenArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gen", "Write seeded random traces (valid, self-cleaning) for differential runs");
  add_profile_option(cmd, &args->profile, "Profile named in the traces")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed: the same seed gives the same traces, byte for byte")
      ->capture_default_str();
  cmd->add_option("--count", args->count, "Number of traces")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--ops", args->ops, "Operations per trace body")
      ->capture_default_str()
      ->check(CLI::Range(1, 40));
  cmd->add_option("--out", args->out, "Output directory")->required();
  cmd->callback([args, &action] { action = [args] { return gen(*args); }; });
}

LOOPCHECK_COMMAND(30, add_gen_command);

}  // namespace loopcheck::cli
