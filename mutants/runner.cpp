#include "mutants/runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include <xxhash.h>

#include "fuzz/campaign.h"
#include "fuzz/generator.h"
#include "model/profile.h"
#include "mutants/object_code.h"
#include "oracle/runner.h"
#include "targets/vm/boot_spec.h"
#include "targets/vm/loop_ko_build.h"
#include "targets/vm/vm_environment.h"
#include "targets/vm/vm_target.h"
#include "trace/trace_files.h"

namespace loopcheck::mutants {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::Killed:
      return "killed";
    case Status::Survived:
      return "survived";
    case Status::Equivalent:
      return "equivalent";
    case Status::CompileError:
      return "compile-error";
  }
  return "";
}

std::string_view kill_kind_name(KillKind k) {
  switch (k) {
    case KillKind::None:
      return "";
    case KillKind::Divergence:
      return "divergence";
    case KillKind::ExpectationFailure:
      return "expectation-failure";
    case KillKind::Crash:
      return "crash";
    case KillKind::Hang:
      return "hang";
    case KillKind::BootFailure:
      return "boot-failure";
  }
  return "";
}

std::string_view stage_name(Stage s) {
  switch (s) {
    case Stage::None:
      return "";
    case Stage::Corpus:
      return "corpus";
    case Stage::Generated:
      return "generated";
    case Stage::Fuzz:
      return "fuzz";
  }
  return "";
}

std::string equivalence_key(const Mutant& m) {
  return describe(m);
}

std::string resume_key(std::string_view function, uint32_t line, uint32_t column,
                       std::string_view op, std::string_view replacement) {
  return fmt::format("{}:{}:{}:{}:{}", function, line, column, op, replacement);
}

std::string resume_key(const Mutant& m) {
  return resume_key(m.function, m.line, m.column, operator_name(m.op), m.replacement);
}

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The VM target's defaults (step budgets: targets/vm/step_budget.h), with the
// user's LOOPCHECK_VM_* settings (`loopcheck mutants` refuses bad ones at its start).
// No snapshots: each mutant's loop.ko is a guest of its own, booted about once, so
// saving it (~100 MB) would cost more than it saves and push the kernels' own
// snapshots out of the cache (targets/vm/vm_snapshot.h).
vm::VmTargetOptions target_options() {
  vm::VmTargetOptions o;
  std::string why;
  const bool usable = vm::apply_vm_environment(&o, &why);
  assert(usable);
  if (!usable) o = vm::VmTargetOptions{};
  o.vm.snapshot = false;
  return o;
}

KillKind classify(const TraceResult& r, const std::vector<vm::GuestReport>& reports) {
  for (const vm::GuestReport& g : reports)
    // A hung task (the kernel's detector) is a hang seen from inside.
    return g.report.kind == "hang" || g.report.kind == "INFO: task" ? KillKind::Hang
                                                                    : KillKind::Crash;
  if (!r.error.empty()) return KillKind::BootFailure;
  if (r.divergences) return KillKind::Divergence;
  if (r.expectation_failures) return KillKind::ExpectationFailure;
  return KillKind::None;
}

size_t first_failed_step(const TraceResult& r) {
  for (const StepResult& s : r.steps)
    if (s.verdict == StepVerdict::Diverged || s.verdict == StepVerdict::ExpectationFailed)
      return s.index + 1;
  return 0;
}

struct Verdict {
  KillKind kill = KillKind::None;
  std::string killer;
  size_t step = 0, traces_run = 0;
};

// Runs `traces` in `order` on `target` until one fails. A trace whose steps all
// passed still kills when the kernel reported something on the way or the guest
// could not be put back afterwards (a reset that fails, state that leaks): the
// unmutated module does neither on any of them (the baseline), and without this
// a mutant that breaks teardown cost a reboot per trace for the whole corpus.
Verdict run_until_killed(vm::VmTarget& target, const std::vector<NamedTrace>& traces,
                         const std::vector<size_t>& order, const model::Profile& profile) {
  Verdict v;
  for (size_t i : order) {
    ++v.traces_run;
    TraceResult r = run_trace(traces[i].trace, profile, &target, RunOptions{});
    const std::vector<vm::GuestReport> reports = target.guest_reports_of_last_trace();
    if (r.ok() && reports.empty()) continue;
    v.kill = classify(r, reports);
    if (v.kill == KillKind::None) v.kill = KillKind::BootFailure;
    v.killer = traces[i].name;
    v.step = r.ok() ? reports.front().step : first_failed_step(r);
    return v;
  }
  return v;
}

}  // namespace

namespace {

std::vector<NamedTrace> load_corpus(const std::string& dir, const model::Profile& profile,
                                    std::string* why) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  for (const char* sub : {"common", "linux-6.1"})
    if (fs::exists(fs::path(dir) / sub)) paths.push_back((fs::path(dir) / sub).string());
  LoadedTraces loaded = load_traces(paths);
  if (!loaded.ok() || loaded.traces.empty()) {
    *why = loaded.errors.empty() ? dir + ": no conformance traces (common/, linux-6.1/)"
                                 : loaded.errors.front();
    return {};
  }
  std::vector<NamedTrace> out;
  for (Trace& t : loaded.traces) {
    if (!t.profile.empty() && !model::pin_admits(t.profile, profile)) continue;
    NamedTrace n;
    n.name = fs::relative(t.source, dir).string();
    n.steps = t.stmts.size();
    n.trace = std::move(t);
    out.push_back(std::move(n));
  }
  return out;
}

std::vector<NamedTrace> generated_suite(const RunnerOptions& o, const model::Profile& profile) {
  std::vector<NamedTrace> out;
  GenOptions g{o.gen_seed, o.gen_ops, &profile};
  for (uint64_t i = 0; i < o.gen_count; ++i) {
    NamedTrace n;
    n.trace = generate_trace(g, i);
    n.name = fmt::format("gen-{}-{:04}", o.gen_seed, i);
    n.trace.source = n.name;
    n.steps = n.trace.stmts.size();
    out.push_back(std::move(n));
  }
  return out;
}

struct FuzzFound {
  std::string signature;
  bool crash = false;  // a kernel report or leaked state, not a wrong answer
};

// The fuzz stage's campaign on `kernel`: its findings, by signature.
std::vector<FuzzFound> fuzz_findings(const vm::KernelFiles& kernel, const RunnerOptions& o,
                                     const model::Profile& profile) {
  fuzz::CampaignOptions c;
  c.seed = o.fuzz_seed;
  c.runs = o.fuzz_runs;
  c.jobs = 1;
  c.decode.forced_profile = &profile;
  c.decode.env = Env{};
  c.make_target = [kernel]() -> std::unique_ptr<Target> {
    return std::make_unique<vm::VmTarget>(kernel, target_options());
  };
  fuzz::CampaignResult r = fuzz::run_campaign(c);
  std::vector<FuzzFound> out;
  for (const fuzz::RawFinding& f : r.findings)
    out.push_back({f.finding.signature, f.finding.kind == fuzz::Finding::Kind::Crash});
  return out;
}

// Keeps the traces that pass on the original module without a kernel report or
// a failed reset; the others go to `excluded`.
std::vector<NamedTrace> passing(vm::VmTarget& target, std::vector<NamedTrace> traces,
                                const model::Profile& profile, std::vector<std::string>* excluded) {
  std::vector<NamedTrace> kept;
  for (NamedTrace& t : traces) {
    TraceResult r = run_trace(t.trace, profile, &target, RunOptions{});
    const std::vector<vm::GuestReport> reports = target.guest_reports_of_last_trace();
    if (r.ok() && reports.empty()) {
      kept.push_back(std::move(t));
    } else if (r.ok()) {
      excluded->push_back(fmt::format("{}: the unmutated module reports '{}' at step {}", t.name,
                                      reports.front().report.kind, reports.front().step));
    } else {
      excluded->push_back(fmt::format("{}: fails on the unmutated module at step {} ({})", t.name,
                                      first_failed_step(r),
                                      r.error.empty() ? "divergence" : r.error));
    }
  }
  return kept;
}

bool module_for(const std::string& ko, const std::string& release, vm::KernelFiles* files,
                std::string* why) {
  vm::ResolvedKernel resolved = vm::resolve_vm_kernel(release, {ko, ""});
  if (!resolved.ok) *why = resolved.error;
  *files = resolved.files;
  return resolved.ok;
}

}  // namespace

bool prepare_baseline(const MutantSet& set, const RunnerOptions& o, Baseline* out,
                      std::string* why) {
  const auto started = Clock::now();
  const model::Profile* profile = model::profile_for_release(o.release);
  if (!profile) {
    *why = "no model profile for kernel " + o.release;
    return false;
  }
  Baseline b;
  vm::LoopKoBuild built = vm::build_loop_ko(set.source, o.release);
  if (!built.ok) {
    *why = "the unmutated loop.c does not build: " + built.error;
    return false;
  }
  b.ko_path = built.ko_path;
  if ((b.code_digest = object_code_digest(b.ko_path, why)).empty()) return false;
  std::vector<NamedTrace> corpus = load_corpus(o.corpus_dir, *profile, why);
  if (corpus.empty()) return false;
  vm::KernelFiles kernel;
  if (!module_for(b.ko_path, o.release, &kernel, why)) return false;
  vm::VmTarget target(kernel, target_options());
  if (!target.boot(why)) return false;
  b.corpus = passing(target, std::move(corpus), *profile, &b.excluded);
  b.generated = passing(target, generated_suite(o, *profile), *profile, &b.excluded);
  if (o.fuzz_runs)
    for (const FuzzFound& f : fuzz_findings(kernel, o, *profile))
      b.fuzz_signatures.push_back(f.signature);
  std::sort(b.fuzz_signatures.begin(), b.fuzz_signatures.end());
  b.seconds = since(started);
  *out = std::move(b);
  return true;
}

namespace {

// The compiler's first error line, for the report.
std::string first_error(const std::string& log) {
  size_t at = log.find("error:");
  if (at == std::string::npos) return "build failed (no compiler error line; see build.log)";
  const size_t begin = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
  return log.substr(begin, log.find('\n', at) - begin);
}

struct Job {
  const MutantSet& set;
  const RunnerOptions& options;
  const Baseline& baseline;
  const model::Profile& profile;
};

// The corpus stage, then generated, then fuzz, on a booted module.
void run_stages(const Job& job, const vm::KernelFiles& kernel, const std::vector<size_t>& order,
                MutantResult* r) {
  vm::VmTarget target(kernel, target_options());
  Verdict v = run_until_killed(target, job.baseline.corpus, order, job.profile);
  r->stage = Stage::Corpus;
  if (v.kill == KillKind::None) {
    std::vector<size_t> all(job.baseline.generated.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    const size_t before = v.traces_run;
    v = run_until_killed(target, job.baseline.generated, all, job.profile);
    v.traces_run += before;
    r->stage = Stage::Generated;
  }
  r->traces_run = v.traces_run;
  if (v.kill == KillKind::None && job.options.fuzz_runs) {
    target.finish();
    r->stage = Stage::Fuzz;
    r->traces_run += job.options.fuzz_runs;
    for (const FuzzFound& f : fuzz_findings(kernel, job.options, job.profile)) {
      if (std::binary_search(job.baseline.fuzz_signatures.begin(),
                             job.baseline.fuzz_signatures.end(), f.signature))
        continue;
      v.kill = f.crash ? KillKind::Crash : KillKind::Divergence;
      v.killer = f.signature;
      break;
    }
  }
  if (v.kill == KillKind::None) {
    r->stage = Stage::None;
    return;
  }
  r->status = Status::Killed;
  r->kill = v.kill;
  r->killer = v.killer;
  r->killer_step = v.step;
}

// An earlier verdict that still holds: a kill, a compile error, identical object
// code; a survivor too unless the suites changed since (rerun_survivors).
bool reusable(const MutantResult& r, bool rerun_survivors) {
  if (r.status == Status::Survived || r.status == Status::Equivalent)
    return !rerun_survivors || r.reason.starts_with("object code identical");
  return true;
}

MutantResult judged(const Job& job, const Mutant& m, MutantResult r) {
  auto known = job.options.equivalent.find(equivalence_key(m));
  if (r.status == Status::Survived && known != job.options.equivalent.end()) {
    r.status = Status::Equivalent;
    r.reason = known->second;
  }
  if (r.status == Status::Equivalent && known == job.options.equivalent.end() &&
      !r.reason.starts_with("object code identical")) {
    r.status = Status::Survived;  // an annotation since withdrawn
    r.reason.clear();
  }
  if (auto hole = job.options.holes.find(equivalence_key(m));
      r.status == Status::Survived && hole != job.options.holes.end())
    r.reason = hole->second;
  return r;
}

MutantResult run_one(const Job& job, const Mutant& m, const std::vector<size_t>& order) {
  if (auto it = job.options.previous.find(resume_key(m));
      it != job.options.previous.end() && reusable(it->second, job.options.rerun_survivors) &&
      std::find(job.options.rerun.begin(), job.options.rerun.end(), m.id) ==
          job.options.rerun.end()) {
    MutantResult r = it->second;
    r.id = m.id;
    r.reused = true;
    return judged(job, m, r);
  }
  MutantResult r;
  r.id = m.id;
  const auto started = Clock::now();
  vm::LoopSource source = job.set.source;
  std::string why;
  if (!apply_mutant(job.set.source.loop_c, m, &source.loop_c, &why)) {
    r.status = Status::CompileError;
    r.reason = why;
    return r;
  }
  vm::LoopKoBuild built = vm::build_loop_ko(source, job.options.release);
  r.build_seconds = since(started);
  r.build_cached = built.cached;
  if (!built.ok) {
    r.status = Status::CompileError;
    r.reason = first_error(built.log.empty() ? built.error : built.log);
    return r;
  }
  if (object_code_digest(built.ko_path, &why) == job.baseline.code_digest) {
    r.status = Status::Equivalent;
    r.reason = "object code identical to the unmutated module's: the compiler folded the change";
    return r;
  }
  const auto run_started = Clock::now();
  vm::KernelFiles kernel;
  if (!module_for(built.ko_path, job.options.release, &kernel, &why)) {
    r.status = Status::CompileError;
    r.reason = why;
    return r;
  }
  run_stages(job, kernel, order, &r);
  r.run_seconds = since(run_started);
  return judged(job, m, r);
}

}  // namespace

namespace {

using Kills = std::map<std::string, size_t>;  // trace -> mutants it killed

// Corpus order for a mutant: the traces named first, then those that killed
// most mutants of the same function in earlier waves (mutants of one function
// die by the same traces), then most kills overall, then the shortest, by name.
std::vector<size_t> kill_order(const std::vector<NamedTrace>& corpus, const Kills& kills,
                               const Kills& in_function, const std::vector<std::string>& first) {
  std::vector<size_t> order(corpus.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto count = [&](const Kills& m, size_t i) {
    auto it = m.find(corpus[i].name);
    return it == m.end() ? size_t(0) : it->second;
  };
  auto k = [&](size_t i) { return std::pair(count(in_function, i), count(kills, i)); };
  auto early = [&](size_t i) {
    return std::find(first.begin(), first.end(), corpus[i].name) != first.end();
  };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (early(a) != early(b)) return early(a);
    if (k(a) != k(b)) return k(a) > k(b);
    if (corpus[a].steps != corpus[b].steps) return corpus[a].steps < corpus[b].steps;
    return corpus[a].name < corpus[b].name;
  });
  return order;
}

// The order mutants run in: a seeded permutation of source order, so that a run
// stopped for time has analysed a uniform sample of the file, not its first part.
std::vector<size_t> shuffled(const std::vector<Mutant>& mutants) {
  std::vector<std::pair<uint64_t, size_t>> keyed;
  for (size_t i = 0; i < mutants.size(); ++i) {
    const std::string key = describe(mutants[i]);
    keyed.emplace_back(XXH3_64bits_withSeed(key.data(), key.size(), 0x6d757461), i);
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<size_t> order;
  for (const auto& [hash, i] : keyed) order.push_back(i);
  return order;
}

}  // namespace

RunResult run_mutants(const MutantSet& set, const RunnerOptions& options, Baseline baseline) {
  const auto started = Clock::now();
  RunResult out;
  out.baseline = std::move(baseline);
  const model::Profile* profile = model::profile_for_release(options.release);
  const Job job{set, options, out.baseline, *profile};
  const std::vector<Mutant>& mutants = set.selected;
  out.results.resize(mutants.size());
  const std::vector<size_t> run_order = shuffled(mutants);
  // Waves of a fixed size: the trace order a wave uses depends only on the
  // verdicts of earlier waves, never on which job finished first, so a run's
  // report does not depend on --jobs or timing.
  const unsigned jobs = std::max(1u, options.jobs);
  constexpr size_t kWave = 8;
  size_t done = 0;
  std::mutex mutex;
  std::map<std::string, Kills> by_function;
  for (size_t wave = 0; wave < mutants.size(); wave += kWave) {
    const size_t end = std::min(mutants.size(), wave + kWave);
    std::atomic<size_t> next{wave};
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < jobs; ++w) {
      workers.emplace_back([&] {
        for (size_t k; (k = next++) < end;) {
          const size_t i = run_order[k];
          auto f = by_function.find(mutants[i].function);  // read-only during a wave
          const std::vector<size_t> order =
              kill_order(out.baseline.corpus, out.kills_per_trace,
                         f == by_function.end() ? Kills{} : f->second, options.first);
          out.results[i] = run_one(job, mutants[i], order);
          std::lock_guard<std::mutex> lock(mutex);
          if (options.progress) options.progress(mutants[i], out.results[i], ++done);
        }
      });
    }
    for (std::thread& t : workers) t.join();
    for (size_t k = wave; k < end; ++k) {
      const MutantResult& r = out.results[run_order[k]];
      if (r.status != Status::Killed || r.stage != Stage::Corpus) continue;
      ++out.kills_per_trace[r.killer];
      ++by_function[mutants[run_order[k]].function][r.killer];
    }
  }
  out.seconds = since(started);
  return out;
}

}  // namespace loopcheck::mutants
