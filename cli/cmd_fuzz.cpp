// `loopcheck fuzz --target inproc|host|vm:VERSION [--seconds S | --runs N] [--jobs J] [--seed N]
//  [--json]`
//
// Runs a differential fuzzing campaign, turns every failure into a trace,
// deduplicates by signature (operation, model outcome, target outcome),
// minimizes each new one and stores it under reports/findings/.
//
// Engines: for inproc, the clang-built libFuzzer binary (fuzz/fuzz_inproc: edge
// coverage of the driver and the model, the custom mutator, the dictionary) runs
// as a subprocess when it exists; otherwise, with --runs, or for host (whose
// sandbox and ledgers cannot live inside a libFuzzer binary) and vm:VERSION (one
// booted guest per job, a whole program per round trip: docs/vm.md), the builtin
// engine (fuzz/campaign.h) runs in this process on the run's seeded PRNG, and
// only the builtin engine with --runs gives byte-identical results for a seed.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <chrono>
#include <atomic>
#include <iterator>

#include "cli/commands.h"
#include "cli/kernel_choice.h"
#include "fuzz/campaign.h"
#include "fuzz/findings.h"
#include "fuzz/libfuzzer_runner.h"
#include "fuzz/progress.h"
#include "repro/minimize.h"
#include "repro/triage.h"
#include "targets/registry.h"
#include "targets/vm/vm_environment.h"
#include "trace/trace_files.h"

namespace loopcheck::cli {
namespace {

namespace fs = std::filesystem;

struct FuzzArgs {
  std::string target = "inproc";
  double seconds = 60;
  uint64_t runs = 0;
  unsigned jobs = 1;
  uint64_t seed = 1;
  bool json = false;
  std::string engine = "auto";
  std::string fuzzer;
  std::string findings = LOOPCHECK_FINDINGS_DIR;
  std::string seeds = std::string(LOOPCHECK_CORPUS_DIR) + "/fuzz-seeds";
  std::string work_dir;
  size_t ops = 16;
  size_t max_minimize_tests = 2000;
  double minimize_seconds = 0;  // 0: no time bound on minimizing
  bool triage = true;           // vm: targets: each new finding on every cached kernel
  bool progress = false;        // a "fuzz progress:" line on stderr every 2 s
};

constexpr std::chrono::milliseconds kProgressInterval{2000};

fs::path self_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : exe.parent_path();
}

// The libFuzzer binary: --fuzzer, else next to this build (build-fuzz/ beside build/).
std::string find_fuzzer(const FuzzArgs& args) {
  if (!args.fuzzer.empty()) return args.fuzzer;
  const fs::path dir = self_dir();
  for (const fs::path& p :
       {dir / "fuzz" / "fuzz_inproc", dir.parent_path() / "build-fuzz" / "fuzz" / "fuzz_inproc"}) {
    std::error_code ec;
    if (fs::exists(p, ec)) return p.string();
  }
  return {};
}

std::vector<fuzz::Input> read_inputs(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());  // directory order is not stable
  std::vector<fuzz::Input> inputs;
  for (const fs::path& p : files) {
    std::ifstream in(p, std::ios::binary);
    inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return inputs;
}

struct Stored {
  std::string signature, path;
  size_t statements = 0, original_statements = 0;
  bool reproduced = false;
  fuzz::MutationSequence mutations;
  std::string triage_path;     // FINDING.triage.md, when triaged
  std::string triage_summary;  // "6.1.0-56… -> 6.12.100… at statement 3", ...
};

// What a campaign did, whichever engine ran it.
struct Campaign {
  std::string engine;
  fuzz::DecodeOptions decode;
  std::vector<fuzz::RawFinding> raw;
  fuzz::ModelCoverage pairs;
  uint64_t execs = 0;
  double seconds = 0, execs_per_second = 0;
  nlohmann::ordered_json edges = nullptr;
  std::vector<size_t> growth;
};

using TargetMaker = std::function<std::unique_ptr<Target>()>;

// Checks the arguments and picks the engine and the decoder's options; kExitPass,
// or kExitUsage after saying why.
int prepare(const FuzzArgs& args, Campaign& c, std::string& fuzzer) {
  if (args.target != "inproc" && args.target != "host" && !args.target.starts_with("vm:")) {
    fmt::print(stderr, "--target must be inproc, host or vm:VERSION (`loopcheck kernels list`)\n");
    return kExitUsage;
  }
  TargetChoice probe = make_target(args.target);
  if (!probe.ok) {
    fmt::print(stderr, "{}\n", probe.error);
    return kExitUsage;
  }
  if (probe.native_profile) {
    // A real kernel: its release's profile, its own precreated devices.
    c.decode.forced_profile = probe.native_profile;
    c.decode.env = Env{};
  }
  fuzzer = args.target == "inproc" ? find_fuzzer(args) : std::string();
  c.engine = args.engine;
  if (c.engine == "auto")
    c.engine =
        args.target == "inproc" && args.runs == 0 && !fuzzer.empty() ? "libfuzzer" : "builtin";
  if (c.engine == "libfuzzer" && (args.target != "inproc" || fuzzer.empty())) {
    fmt::print(stderr,
               "the libFuzzer engine needs --target inproc and the fuzz_inproc binary "
               "(cmake --preset fuzz && cmake --build --preset fuzz --target fuzz_inproc, or "
               "--fuzzer PATH)\n");
    return kExitUsage;
  }
  if (c.engine != "libfuzzer" && c.engine != "builtin") {
    fmt::print(stderr, "--engine must be auto, libfuzzer or builtin\n");
    return kExitUsage;
  }
  if (args.target == "host" && args.jobs != 1) {
    fmt::print(
        stderr,
        "--target host runs one job: the sandbox serializes on this machine's loop devices\n");
    return kExitUsage;
  }
  return kExitPass;
}

void run_builtin(const FuzzArgs& args, const TargetMaker& make, Campaign& c) {
  fuzz::CampaignOptions options;
  options.seed = args.seed;
  options.runs = args.runs;
  options.seconds = args.seconds;
  options.jobs = args.jobs;
  options.ops_per_input = args.ops;
  options.seeds = read_inputs(args.seeds);
  options.decode = c.decode;
  options.make_target = make;
  std::atomic<uint64_t> execs{0}, findings{0};
  std::optional<fuzz::ProgressPrinter> progress;
  if (args.progress) {
    options.live_execs = &execs;
    options.live_findings = &findings;
    progress.emplace(
        [&] {
          return fuzz::ProgressSample{execs.load(), findings.load()};
        },
        kProgressInterval);
  }
  fuzz::CampaignResult r = fuzz::run_campaign(options);
  progress.reset();
  c.raw = std::move(r.findings);
  c.pairs = r.coverage;
  c.execs = r.execs;
  c.seconds = r.seconds;
  c.execs_per_second = r.seconds > 0 ? double(r.execs) / r.seconds : 0;
  c.growth = r.pairs_over_time;
}

// Every crash input libFuzzer saved, replayed here on this build's driver: the
// signature comes from the same runner the builtin engine uses. The mutators that
// made a crash input ran in the libFuzzer process and are not known here.
void replay_crashes(const fuzz::LibFuzzerResult& r, const std::string& log_dir,
                    const TargetMaker& make, Campaign& c) {
  std::unique_ptr<Target> target = make();
  fuzz::ProgramRunner runner(target.get());
  fuzz::Program program;
  std::map<std::string, fuzz::RawFinding> unique;
  fuzz::MutationSequence unknown;
  unknown.origin = fuzz::MutationSequence::Origin::Unknown;
  for (const std::string& path : r.crashes) {
    std::ifstream in(path, std::ios::binary);
    fuzz::Input input{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    fuzz::decode(input, program, c.decode);
    fuzz::Finding f = runner.run(program);
    if (!f) {
      f.kind = fuzz::Finding::Kind::TargetError;
      f.step = program.count ? program.count - 1u : 0u;
      f.signature = "fuzzer crash not reproduced by replay: " + fs::path(path).filename().string();
      f.detail = "see " + path + " and " + log_dir + "/worker-*.log";
    }
    unique.try_emplace(f.signature, fuzz::RawFinding{std::move(input), f, unknown});
  }
  for (auto& [signature, finding] : unique) c.raw.push_back(std::move(finding));
}

int run_libfuzzer_engine(const FuzzArgs& args, const std::string& fuzzer, const TargetMaker& make,
                         Campaign& c) {
  fuzz::LibFuzzerRun run;
  run.binary = fuzzer;
  run.work_dir = args.work_dir.empty()
                     ? fmt::format("/var/tmp/loopcheck-fuzz-{}-{}", args.seed, ::getpid())
                     : args.work_dir;
  run.seed_dirs = {args.seeds};
  const fs::path dict =
      fs::path(LOOPCHECK_CORPUS_DIR).parent_path() / "fuzz" / "libfuzzer" / "fuzz_ops.dict";
  std::error_code ec;
  if (fs::exists(dict, ec)) run.dict = dict.string();
  run.seed = args.seed;
  run.seconds = static_cast<unsigned>(args.seconds < 1 ? 1 : args.seconds);
  run.jobs = args.jobs;
  run.max_len = fuzz::kMaxInputBytes;
  // The fuzzer's known signatures are this run's: a stored finding is counted,
  // not a crash (fuzz/libfuzzer/differential.h).
  ::setenv("LOOPCHECK_KNOWN_FINDINGS", args.findings.c_str(), 1);
  std::optional<fuzz::ProgressPrinter> progress;
  if (args.progress)
    progress.emplace([&run] { return fuzz::libfuzzer_progress(run.work_dir); }, kProgressInterval);
  fuzz::LibFuzzerResult r = fuzz::run_libfuzzer(run);
  progress.reset();
  if (!r.ran) {
    fmt::print(stderr, "{}\n", r.error);
    return kExitUsage;
  }
  c.execs = r.execs;
  c.seconds = run.seconds;
  c.execs_per_second = r.execs_per_second;
  c.edges = r.edges;
  // The model's pairs over the corpus libFuzzer grew: replayed on the model alone.
  fuzz::ProgramRunner model_only(nullptr);
  fuzz::Program program;
  for (const fuzz::Input& input : read_inputs(r.corpus_dir)) {
    fuzz::decode(input, program, c.decode);
    model_only.run(program, &c.pairs);
  }
  replay_crashes(r, run.work_dir, make, c);
  return kExitPass;
}

// Stores each finding whose signature is new, then minimizes it in place: a run
// stopped while minimizing (a campaign task past its budget) still leaves every
// finding, unminimized. Past --minimize-seconds every candidate counts as not
// failing, so the minimizer ends at once with the smallest trace it has. Known
// across targets: a divergence stored from host is not new on inproc.
std::vector<Stored> store_new(const FuzzArgs& args, const TargetMaker& make, const Campaign& c) {
  const std::set<std::string> known = fuzz::known_signatures(args.findings);
  std::unique_ptr<Target> target = make();
  fuzz::ProgramRunner runner(target.get());
  const std::string origin = fmt::format("loopcheck fuzz --target {} --engine {} --seed {}",
                                         args.target, c.engine, args.seed);
  const auto deadline = args.minimize_seconds > 0
                            ? std::chrono::steady_clock::now() +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(args.minimize_seconds))
                            : std::chrono::steady_clock::time_point::max();
  std::vector<Stored> stored;
  for (const fuzz::RawFinding& f : c.raw) {
    if (known.contains(f.finding.signature)) continue;
    fuzz::Program program;
    fuzz::decode(f.input, program, c.decode);
    const Trace trace = fuzz::to_trace(program);
    const model::Profile& profile = *program.profile;
    Stored s{f.finding.signature, {}, trace.stmts.size(), trace.stmts.size(), false, f.mutations};
    s.path = fuzz::store_finding(args.findings + "/" + args.target, trace, f.finding, origin,
                                 f.mutations);
    if (f.finding.kind != fuzz::Finding::Kind::TargetError) {
      MinimizeResult m = minimize(
          trace, f.finding.signature,
          [&](const Trace& t) {
            return std::chrono::steady_clock::now() < deadline ? runner.run(t, profile)
                                                               : fuzz::Finding{};
          },
          args.max_minimize_tests);
      s.reproduced = m.reproduced;
      if (m.reproduced) {
        s.statements = m.trace.stmts.size();
        fuzz::write_finding_file(s.path,
                                 fuzz::finding_file_text(m.trace, m.finding, origin, f.mutations));
      }
    }
    stored.push_back(s);
  }
  return stored;
}

// A vm: target's new findings, each run on every cached kernel (restored from
// their snapshots, docs/vm.md) beside the others: FINDING.triage.md holds the
// table `loopcheck triage` prints, so the morning's reader sees at once which
// releases show the behaviour and where it changed.
void triage_new_findings(const FuzzArgs& args, std::vector<Stored>& stored) {
  if (!args.triage || !args.target.starts_with("vm:") || stored.empty()) return;
  std::vector<vm::KernelFiles> kernels;
  vm::VmTargetOptions options;
  std::string why;
  if (!resolve_kernels({"cached"}, &kernels) || !vm::apply_vm_environment(&options, &why)) return;
  for (Stored& s : stored) {
    LoadedTraces loaded = load_traces({s.path});
    if (!loaded.ok() || loaded.traces.size() != 1) continue;
    const Trace& trace = loaded.traces.front();
    const std::vector<vm::TriageColumn> columns =
        vm::observe_on_kernels(trace, kernels, options, args.jobs);
    s.triage_path = fs::path(s.path).replace_extension(".triage.md").string();
    std::ofstream(s.triage_path) << vm::triage_markdown(trace, columns);
    const vm::BehaviourChange change = vm::first_change(columns);
    s.triage_summary =
        change.found
            ? fmt::format("changes between {} and {} at statement {}", columns[change.before].name,
                          columns[change.after].name, change.steps.front() + 1)
            : fmt::format("the same on all {} cached kernels", columns.size());
  }
}

void print_json(const FuzzArgs& args, const Campaign& c, const std::vector<Stored>& stored) {
  nlohmann::ordered_json j;
  j["target"] = args.target;
  j["engine"] = c.engine;
  j["seed"] = args.seed;
  j["jobs"] = args.jobs;
  j["seconds"] = c.seconds;
  j["execs"] = c.execs;
  j["execs_per_second"] = c.execs_per_second;
  j["new_findings"] = stored.size();
  j["known_findings_seen"] = c.raw.size() - stored.size();
  j["coverage"] = {{"edges", c.edges}, {"model_pairs", c.pairs.count()}};
  if (!c.growth.empty()) j["model_pairs_growth"] = c.growth;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Stored& s : stored) {
    list.push_back({{"signature", s.signature},
                    {"file", s.path},
                    {"statements", s.statements},
                    {"original_statements", s.original_statements},
                    {"minimized", s.reproduced},
                    {"mutations", s.mutations.format()},
                    {"triage", s.triage_path},
                    {"triage_summary", s.triage_summary}});
  }
  j["findings"] = list;
  fmt::print("{}\n", j.dump(2));
}

void print_text(const FuzzArgs& args, const Campaign& c, const std::vector<Stored>& stored) {
  fmt::print("fuzz --target {} ({} engine): {} execs in {:.1f} s ({:.0f}/s)\n", args.target,
             c.engine, c.execs, c.seconds, c.execs_per_second);
  fmt::print("coverage: {} edges, {} model (operation, outcome) pairs\n",
             c.edges.is_null() ? std::string("n/a") : c.edges.dump(), c.pairs.count());
  for (const Stored& s : stored) {
    fmt::print("NEW {} ({} -> {} statements): {}\n    mutations: {}\n", s.path,
               s.original_statements, s.statements, s.signature, s.mutations.format());
    if (!s.triage_path.empty()) fmt::print("    triage: {}: {}\n", s.triage_path, s.triage_summary);
  }
  fmt::print("{} new findings, {} already known\n", stored.size(), c.raw.size() - stored.size());
}

int fuzz_command(const FuzzArgs& args) {
  Campaign c;
  std::string fuzzer;
  if (int rc = prepare(args, c, fuzzer); rc != kExitPass) return rc;
  const TargetMaker make = [&args]() -> std::unique_ptr<Target> {
    return make_target(args.target).target;
  };
  if (c.engine == "builtin") {
    run_builtin(args, make, c);
  } else if (int rc = run_libfuzzer_engine(args, fuzzer, make, c); rc != kExitPass) {
    return rc;
  }
  std::vector<Stored> stored = store_new(args, make, c);
  triage_new_findings(args, stored);
  if (args.json)
    print_json(args, c, stored);
  else
    print_text(args, c, stored);
  return stored.empty() ? kExitPass : kExitFail;
}

}  // namespace

void add_fuzz_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<FuzzArgs>();
  CLI::App* cmd =
      app.add_subcommand("fuzz", "Differential fuzzing: store minimized, deduplicated findings");
  cmd->add_option("--target", args->target, "inproc | host | vm:VERSION")->capture_default_str();
  cmd->add_option("--seconds", args->seconds, "Time budget")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--runs", args->runs,
                  "Execution budget per job instead of time (builtin engine: deterministic)");
  cmd->add_option("--jobs", args->jobs, "Parallel jobs")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--seed", args->seed, "Seed of the run")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the summary as JSON");
  cmd->add_option("--engine", args->engine, "auto | libfuzzer | builtin")->capture_default_str();
  cmd->add_option("--fuzzer", args->fuzzer,
                  "The fuzz_inproc libFuzzer binary (default: next to this build)");
  cmd->add_option("--findings", args->findings, "Where findings are stored")->capture_default_str();
  cmd->add_option("--seeds", args->seeds, "Seed inputs directory")->capture_default_str();
  cmd->add_option("--work-dir", args->work_dir,
                  "libFuzzer's working directory (corpus, crashes, logs)");
  cmd->add_option("--ops", args->ops, "Statements in a fresh random input")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--max-minimize-tests", args->max_minimize_tests, "Candidates tried per finding")
      ->capture_default_str();
  cmd->add_option("--minimize-seconds", args->minimize_seconds,
                  "Stop minimizing after this long, keeping the smallest traces so far (0: no "
                  "bound)")
      ->check(CLI::Range(0.0, 1e7));
  cmd->add_flag("--progress", args->progress,
                "Print `fuzz progress: N execs, F findings` to stderr every 2 s");
  cmd->add_flag("!--no-triage", args->triage,
                "vm: targets: do not run new findings on every cached kernel (FINDING.triage.md)");
  cmd->callback([args, &action] { action = [args] { return fuzz_command(*args); }; });
}

LOOPCHECK_COMMAND(40, add_fuzz_command);

}  // namespace loopcheck::cli
