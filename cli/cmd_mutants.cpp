// `loopcheck mutants list|run`: mutation analysis of drivers/block/loop.c
// (mutants/, docs/mutants.md): generate mutants with libclang, build each as
// loop.ko, boot it, and report which checks kill it.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/commands.h"
#include "mutants/report.h"
#include "mutants/runner.h"
#include "mutants/source.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"
#include "targets/vm/vm_environment.h"

namespace loopcheck::cli {
namespace {

struct MutantsArgs {
  mutants::SetOptions set;
  mutants::RunnerOptions run;
  std::string corpus = LOOPCHECK_CORPUS_DIR "/conformance";
  std::string judgements = LOOPCHECK_CORPUS_DIR "/../mutants/judgements-linux-6.1.json";
  std::string out = "reports/mutants";
  std::vector<uint32_t> only;  // mutant ids to run (after selection)
  std::string resume;          // an earlier run's report directory
  bool resumed_only = false;   // analyse only the mutants `resume` has verdicts for
  bool json = false;
};

// The mutants the options select, or false with the reason printed.
bool load_set(const MutantsArgs& args, mutants::MutantSet* set) {
  std::string why;
  if (mutants::make_mutant_set(args.set, set, &why)) return true;
  fmt::print(stderr, "{}\n", why);
  return false;
}

int list(const MutantsArgs& args) {
  mutants::MutantSet set;
  if (!load_set(args, &set)) return kExitUsage;
  for (const mutants::Mutant& m : set.selected) {
    if (args.json) {
      fmt::print("{}\n", nlohmann::ordered_json{{"id", m.id},
                                                {"operator", mutants::operator_name(m.op)},
                                                {"function", m.function},
                                                {"line", m.line},
                                                {"description", mutants::describe(m)}}
                             .dump());
    } else {
      fmt::print("{:4} {}\n", m.id, mutants::describe(m));
    }
  }
  fmt::print(stderr,
             "{} mutants ({} generated in reachable functions, {} more in unreachable "
             "ones; {} functions, libclang errors {})\n",
             set.selected.size(), set.all.size(), set.skipped_unreachable,
             set.parsed.functions.size(), set.parsed.diagnostics_errors);
  return kExitPass;
}

// `mutants show ID [--write DIR]`: the diff, and the mutated loop.c for
// `loop-ko build --source DIR` (to try a trace on one mutant by hand).
int show(const MutantsArgs& args) {
  mutants::MutantSet set;
  if (!load_set(args, &set)) return kExitUsage;
  std::string why;
  for (const mutants::Mutant& m : set.selected) {
    if (args.only.empty() || m.id != args.only.front()) continue;
    fmt::print("#{} {}\n{}", m.id, mutants::describe(m),
               mutants::mutant_diff(set.source.loop_c, m, "drivers/block/loop.c"));
    if (args.out.empty()) return kExitPass;
    std::string mutated;
    mutants::apply_mutant(set.source.loop_c, m, &mutated, &why);
    std::filesystem::create_directories(args.out);
    std::ofstream(args.out + "/loop.c", std::ios::binary) << mutated;
    fmt::print(stderr, "wrote {}/loop.c\n", args.out);
    return kExitPass;
  }
  fmt::print(stderr, "no mutant with that id in this selection (`loopcheck mutants list`)\n");
  return kExitUsage;
}

// {"equivalent": {describe(): why}, "holes": {describe(): what is missing}}
bool load_judgements(const std::string& path, mutants::RunnerOptions* run, std::string* why) {
  if (!std::filesystem::exists(path)) return true;  // none judged yet
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *why = path + ": not a JSON object {\"equivalent\": {...}, \"holes\": {...}}";
    return false;
  }
  for (auto [name, map] : {std::pair{"equivalent", &run->equivalent}, {"holes", &run->holes}})
    if (j.contains(name))
      for (const auto& [key, reason] : j[name].items()) (*map)[key] = reason.get<std::string>();
  return true;
}

std::string command_line(const MutantsArgs& a) {
  std::string only;
  for (uint32_t id : a.only) only += fmt::format(" --only {}", id);
  if (!a.resume.empty()) only += " --resume " + a.resume;
  if (a.resumed_only) only += " --resumed-only";
  for (uint32_t id : a.run.rerun) only += fmt::format(" --rerun {}", id);
  for (const std::string& t : a.run.first) only += " --first " + t;
  return fmt::format(
      "loopcheck mutants run --kernel {} --source {} --max {} --seed {} "
      "--gen-count {} --fuzz-runs {} -j {}{}",
      a.set.release, a.set.source, a.set.max_count, a.set.seed, a.run.gen_count, a.run.fuzz_runs,
      a.run.jobs, only);
}

void print_progress(const mutants::Mutant& m, const mutants::MutantResult& r, size_t done,
                    size_t total) {
  std::string verdict(mutants::status_name(r.status));
  if (r.status == mutants::Status::Killed)
    verdict += fmt::format(" ({}, {}: {} step {}, {} traces)", mutants::kill_kind_name(r.kill),
                           mutants::stage_name(r.stage), r.killer, r.killer_step, r.traces_run);
  if (!r.reason.empty() && r.status != mutants::Status::Killed) verdict += ": " + r.reason;
  fmt::print(stderr, "[{}/{}] #{} {} — {} [build {:.1f} s{}, run {:.1f} s]\n", done, total, m.id,
             mutants::describe(m), verdict, r.build_seconds, r.build_cached ? " cached" : "",
             r.run_seconds);
}

// Everything a run needs that is not the mutants: QEMU, the kernel, usable
// LOOPCHECK_VM_* settings.
bool environment_ready(const MutantsArgs& args, std::string* why) {
  vm::VmTargetOptions options;
  if (!vm::apply_vm_environment(&options, why)) return false;
  if (!vm::qemu_available(why)) return false;
  vm::FetchResult fetched = vm::fetch_kernel(args.set.release);
  if (!fetched.ok) *why = "no kernel to boot: " + fetched.error;
  return fetched.ok;
}

int run(MutantsArgs args) {
  std::string why;
  mutants::MutantSet set;
  if (!mutants::make_mutant_set(args.set, &set, &why) || !environment_ready(args, &why) ||
      !load_judgements(args.judgements, &args.run, &why)) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  if (!args.only.empty()) {
    std::vector<mutants::Mutant> kept;
    for (const mutants::Mutant& m : set.selected)
      if (std::find(args.only.begin(), args.only.end(), m.id) != args.only.end()) kept.push_back(m);
    set.selected = std::move(kept);
  }
  if (!args.resume.empty() && !mutants::load_previous(args.resume, &args.run.previous, &why)) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  if (args.resumed_only) {
    // A run stopped for time: report what it analysed, run nothing new.
    std::vector<mutants::Mutant> kept;
    for (const mutants::Mutant& m : set.selected)
      if (args.run.previous.count(mutants::resume_key(m)) ||
          std::count(args.run.rerun.begin(), args.run.rerun.end(), m.id))
        kept.push_back(m);
    set.selected = std::move(kept);
  }
  args.run.corpus_dir = args.corpus;
  args.run.release = args.set.release;
  mutants::Baseline baseline;
  fmt::print(stderr, "baseline: building and running the unmutated module...\n");
  if (!mutants::prepare_baseline(set, args.run, &baseline, &why)) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  fmt::print(stderr,
             "baseline: {} corpus + {} generated traces pass, {} excluded, {} fuzz "
             "findings on the original ({:.0f} s)\n",
             baseline.corpus.size(), baseline.generated.size(), baseline.excluded.size(),
             baseline.fuzz_signatures.size(), baseline.seconds);
  const size_t total = set.selected.size();
  std::filesystem::create_directories(args.out);
  auto journal = std::make_shared<std::ofstream>(args.out + "/journal.jsonl", std::ios::app);
  args.run.progress = [total, journal](const mutants::Mutant& m, const mutants::MutantResult& r,
                                       size_t done) {
    print_progress(m, r, done, total);
    *journal << mutants::journal_line(m, r).dump() << std::endl;  // flushed: a kill keeps it
  };
  mutants::RunResult result = mutants::run_mutants(set, args.run, std::move(baseline));
  const mutants::ReportInputs in{set, args.run, result, command_line(args)};
  if (!mutants::write_report(in, args.out, &why)) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  const nlohmann::ordered_json totals = mutants::report_json(in)["totals"];
  fmt::print("{}\nreport: {}/report.md, {}/report.json, {}/timings.json\n", totals.dump(), args.out,
             args.out, args.out);
  return kExitPass;
}

void add_set_options(CLI::App* cmd, MutantsArgs* args) {
  cmd->add_option("--kernel", args->set.release, "Kernel release the mutants are built for")
      ->capture_default_str();
  cmd->add_option("--source", args->set.source,
                  "loop.c: a kernel tree, a directory, a tarball or a Debian source package")
      ->capture_default_str();
  cmd->add_option("--headers", args->set.headers, "Headers (default /usr/src/linux-headers-R)");
  cmd->add_option("--max", args->set.max_count, "Analyse a seeded sample of at most N (0: all)")
      ->capture_default_str();
  cmd->add_option("--seed", args->set.seed, "Seed of the sample")->capture_default_str();
}

}  // namespace

void add_mutants_command(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("mutants", "Mutation analysis of drivers/block/loop.c");
  cmd->require_subcommand(1);
  auto args = std::make_shared<MutantsArgs>();
  CLI::App* l = cmd->add_subcommand("list", "Print the mutants libclang makes of loop.c");
  add_set_options(l, args.get());
  l->add_flag("--json", args->json, "One JSON object per line");
  l->callback([args, &action] { action = [args] { return list(*args); }; });
  CLI::App* sh = cmd->add_subcommand("show", "Print one mutant's diff; --write DIR its loop.c");
  add_set_options(sh, args.get());
  sh->add_option("id", args->only, "The mutant id (as `list` numbers it)")->required();
  sh->add_option("--write", args->out, "Write the mutated loop.c into this directory");
  sh->callback([args, &action] {
    args->out = args->out == "reports/mutants" ? "" : args->out;
    action = [args] { return show(*args); };
  });
  CLI::App* r = cmd->add_subcommand("run", "Build, boot and test every mutant; write a report");
  add_set_options(r, args.get());
  r->add_option("--jobs,-j", args->run.jobs, "Mutants at once (one VM each)")
      ->capture_default_str();
  r->add_option("--only", args->only, "Run only these mutant ids");
  r->add_option("--gen-count", args->run.gen_count, "Generated traces in stage 2")
      ->capture_default_str();
  r->add_option("--gen-seed", args->run.gen_seed, "Seed of stage 2")->capture_default_str();
  r->add_option("--fuzz-runs", args->run.fuzz_runs, "Fuzz programs in stage 3 (0: none)")
      ->capture_default_str();
  r->add_option("--fuzz-seed", args->run.fuzz_seed, "Seed of stage 3")->capture_default_str();
  r->add_option("--corpus", args->corpus, "The conformance corpus")->capture_default_str();
  r->add_option("--judgements", args->judgements,
                "JSON: survivors judged by reading loop.c (equivalent: why; holes: what)")
      ->capture_default_str();
  r->add_option("--out", args->out, "Report directory")->capture_default_str();
  r->add_option("--resume", args->resume,
                "An earlier run's report directory (or journal): its verdicts are reused");
  r->add_option("--rerun", args->run.rerun, "With --resume: run these mutant ids again");
  r->add_flag("--resumed-only", args->resumed_only,
              "With --resume: analyse only the mutants it has verdicts for, and --rerun ones");
  r->add_option("--first", args->run.first,
                "Corpus traces (as named in the report) to run before the others");
  r->add_flag("--rerun-survivors", args->run.rerun_survivors,
              "With --resume: run its survivors again (after the corpus grew)");
  r->callback([args, &action] { action = [args] { return run(*args); }; });
}

LOOPCHECK_COMMAND(57, add_mutants_command);

}  // namespace loopcheck::cli
