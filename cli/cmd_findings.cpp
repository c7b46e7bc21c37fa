// `loopcheck findings check|resign|triage`: the stored findings backlog
// (reports/findings/<target>/finding-*.trace, reports/README.md).
//   check   does every finding still show its stored signature on its target?
//   resign  recompute every signature on its target; rewrite headers and names
//   triage  run findings on real kernels; print (and with --record, write into
//           each header) what each kernel did at the failing step and the verdict
//   portable  print a finding as a trace every target runs (the host variant):
//           the first step of turning a fixed finding into a regression trace
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/kernel_choice.h"
#include "fuzz/findings.h"
#include "model/profile.h"
#include "repro/finding_triage.h"
#include "targets/host/host_target.h"
#include "targets/inproc/inproc_target.h"
#include "targets/registry.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/vm_environment.h"
#include "targets/vm/vm_target.h"
#include "trace/trace_files.h"
#include "trace/print.h"

namespace loopcheck::cli {
namespace {

constexpr std::string_view kDefaultFindings = "reports/findings";

struct FindingsArgs {
  std::vector<std::string> paths;
  std::vector<std::string> kernels;
  bool host = false;
  bool record = false;
  bool kvm = false;
};

std::vector<std::string> finding_paths(const std::vector<std::string>& given) {
  std::vector<std::string> roots = given;
  if (roots.empty()) roots.emplace_back(kDefaultFindings);
  std::vector<std::string> errors, out;
  for (const std::string& root : roots) {
    if (!std::filesystem::is_directory(root)) {
      out.push_back(root);
      continue;
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.starts_with("finding-") && name.ends_with(".trace"))
        out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh target for each finding (its directory names it: reports/findings/
// inproc/ -> inproc): a finding must reproduce on its own, whatever ran before.
struct FindingTarget {
  TargetChoice choice;
  std::string error;
};
FindingTarget target_for(const std::string& path) {
  FindingTarget t{make_target(finding_target_name(path)), {}};
  if (!t.choice.ok) t.error = t.choice.error;
  if (t.choice.ok && !t.choice.target) t.error = "findings need a target, not the model alone";
  return t;
}

FindingCheck check_path(const std::string& path) {
  FindingTarget t = target_for(path);
  if (!t.error.empty()) return FindingCheck{path, {}, {}, 0, t.error};
  return check_finding(path, *t.choice.target);
}

int check(const FindingsArgs& args) {
  size_t ok = 0, bad = 0;
  for (const std::string& path : finding_paths(args.paths)) {
    const FindingCheck c = check_path(path);
    if (c.reproduces()) {
      ++ok;
      continue;
    }
    ++bad;
    if (!c.error.empty()) {
      fmt::print("ERROR {}: {}\n", path, c.error);
    } else {
      fmt::print("NO LONGER REPRODUCES {}\n  stored: {}\n  now:    {}\n", path, c.stored,
                 c.now.empty() ? "no divergence" : c.now);
    }
  }
  fmt::print("{} finding(s) reproduce their stored signature, {} do not\n", ok, bad);
  if (bad > 0) {
    fmt::print(
        "A finding that no longer reproduces is fixed or has become another bug: move its trace "
        "into corpus/conformance/ as a regression trace with expectations the kernels confirm "
        "(docs/corpus.md) and delete it from reports/findings/; a changed signature is a new "
        "finding (`loopcheck findings resign` after checking the new shape).\n");
  }
  return bad == 0 ? kExitPass : kExitFail;
}

int resign(const FindingsArgs& args) {
  int status = kExitPass;
  for (const std::string& path : finding_paths(args.paths)) {
    const FindingCheck c = check_path(path);
    if (!c.error.empty() || c.now.empty()) {
      fmt::print("KEPT {}: {}\n", path, c.error.empty() ? "no longer diverges" : c.error);
      status = kExitFail;
      continue;
    }
    const std::string renamed =
        (std::filesystem::path(path).parent_path() / fuzz::finding_file_name(c.now)).string();
    fuzz::write_finding_file(renamed, fuzz::with_signature(read_text(path), c.now));
    if (renamed != path) std::filesystem::remove(path);
    fmt::print("{} -> {}\n  {}\n", path, renamed, c.now);
  }
  return status;
}

// One finding under triage: its trace and the step where it fails on its own
// target under its own profile (the default step to judge on another kernel).
struct TriageItem {
  std::string path;
  Trace trace;
  size_t step = 0;
  std::vector<std::string> lines;  // one `# triage` line per kernel
};

using Tally = std::map<std::string, std::map<KernelVerdict, size_t>>;

// Runs every item on one kernel target (booted once for all of them).
enum class Column : uint8_t { VmGuest, Host };

// The trace as the column can run it, with a note saying how it differs and the
// number of steps put in front of the original ones.
Trace column_trace(const Trace& trace, Column column, std::string* note, size_t* shift) {
  if (column == Column::VmGuest) {
    if (trace.env.precreated == kGuestPrecreated) return trace;
    *note = fmt::format("@env precreated={} as in the guest", kGuestPrecreated);
    Trace adjusted = trace;
    adjusted.env.precreated = kGuestPrecreated;
    return adjusted;
  }
  std::optional<Trace> variant = host_variant(trace);
  if (!variant) return trace;  // its literal devices are skipped: the line says so
  *note = "device 0 from LOOP_CTL_ADD -1, 2 steps added";
  *shift = kHostPrefixSteps;
  return *variant;
}

// `label` names the column ("6.1.0-56-cloud-amd64", "host 6.18.0"); `release`
// picks the profile.
void triage_on(Target& kernel, const std::string& release, const std::string& label, Column column,
               std::vector<TriageItem>& items, Tally& tally) {
  const model::Profile* profile = model::profile_for_release(release);
  for (TriageItem& item : items) {
    // A fresh driver per finding: the in-process target carries state from one
    // trace to the next (reports/findings/TRIAGE.md), and a verdict must not
    // depend on which finding ran before.
    inproc::InprocTarget driver;
    KernelObservation o;
    if (!profile) {
      o.error = model::no_profile_reason(release);
    } else {
      std::string note;
      size_t shift = 0;
      const Trace trace = column_trace(item.trace, column, &note, &shift);
      o = observe_finding(trace, *profile, item.step + shift, driver, kernel);
      o.env_note = note;
      // Steps in the original trace's numbering (the prefix never fails here:
      // a failing LOOP_CTL_ADD would show as an earlier divergence at step 0).
      o.step = o.step >= shift ? o.step - shift : 0;
      o.earlier_step = o.earlier_step >= shift ? o.earlier_step - shift : 0;
    }
    o.release = label;
    item.lines.push_back(triage_line(o));
    ++tally[label][o.verdict];
  }
}

bool load_items(const FindingsArgs& args, std::vector<TriageItem>& items) {
  for (const std::string& path : finding_paths(args.paths)) {
    inproc::InprocTarget driver;  // fresh per finding, as in triage_on
    LoadedTraces loaded = load_traces({path});
    if (!loaded.ok() || loaded.traces.size() != 1) {
      for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
      return false;
    }
    TriageItem item{path, loaded.traces.front(), 0, {}};
    const model::Profile* own = model::find_profile(
        item.trace.profile.empty() ? model::kDefaultProfile.name : item.trace.profile);
    DriverRun run = own ? run_on_driver(item.trace, *own, driver) : DriverRun{};
    item.step = run.diverged ? run.step : item.trace.stmts.size() - 1;
    items.push_back(std::move(item));
  }
  return !items.empty();
}

void print_tally(const Tally& tally) {
  fmt::print("\n| kernel | verdict | findings |\n|---|---|---:|\n");
  for (const auto& [release, counts] : tally) {
    for (const auto& [verdict, n] : counts)
      fmt::print("| {} | {} | {} |\n", release, verdict_name(verdict), n);
  }
}

int findings_triage(const FindingsArgs& args) {
  std::vector<TriageItem> items;
  if (!load_items(args, items)) {
    fmt::print(stderr, "no findings to triage\n");
    return kExitUsage;
  }
  Tally tally;
  std::string why;
  vm::VmTargetOptions options;
  if (!vm::apply_vm_environment(&options, &why)) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  options.vm.kvm = options.vm.kvm || args.kvm;
  std::vector<vm::KernelFiles> kernels;
  if (!args.kernels.empty() && !resolve_kernels(args.kernels, &kernels)) return kExitUsage;
  for (const vm::KernelFiles& k : kernels) {
    vm::VmTarget target(k, options);  // one VM serves every finding
    triage_on(target, k.version, k.version, Column::VmGuest, items, tally);
  }
  if (args.host) {
    if (!host_loop_available(&why)) {
      fmt::print(stderr, "no host column: {}\n", why);
      return kExitUsage;
    }
    HostTarget host;
    const std::string release = host_kernel_release();
    triage_on(host, release, "host " + release, Column::Host, items, tally);
  }
  for (const TriageItem& item : items) {
    fmt::print("{}\n", item.path);
    for (const std::string& line : item.lines) fmt::print("  {}\n", line.substr(2));
    if (args.record)
      fuzz::write_finding_file(item.path,
                               fuzz::with_triage_lines(read_text(item.path), item.lines));
  }
  print_tally(tally);
  return kExitPass;
}

// A fixed finding becomes a conformance trace: without the header, on devices it
// creates itself (host_variant) and in the world every target has (@env precreated
// as default), so `loopcheck record --target host|vm:V` can give it expectations.
int portable(const FindingsArgs& args) {
  if (args.paths.size() != 1) {
    fmt::print(stderr, "findings portable takes exactly one finding\n");
    return kExitUsage;
  }
  LoadedTraces loaded = load_traces({args.paths.front()});
  if (!loaded.ok() || loaded.traces.size() != 1) {
    for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    return kExitUsage;
  }
  std::optional<Trace> variant = host_variant(loaded.traces.front());
  if (!variant) {
    fmt::print(stderr, "{}: names a loop device other than 0 by number; rewrite it by hand\n",
               args.paths.front());
    return kExitUsage;
  }
  variant->env.precreated = Env{}.precreated;
  variant->env_given &= static_cast<uint16_t>(~(1u << static_cast<int>(EnvKey::Precreated)));
  fmt::print("{}", print_trace(*variant));
  return kExitPass;
}

}  // namespace

void add_findings_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<FindingsArgs>();
  CLI::App* cmd = app.add_subcommand("findings", "The stored findings backlog (reports/findings)");
  cmd->require_subcommand(1);
  CLI::App* chk = cmd->add_subcommand(
      "check", "Does every stored finding still show its stored signature on its target?");
  chk->add_option("paths", args->paths, "Findings or directories (default reports/findings)");
  chk->callback([args, &action] { action = [args] { return check(*args); }; });
  CLI::App* rs = cmd->add_subcommand(
      "resign", "Recompute each finding's signature on its target; rewrite header and file name");
  rs->add_option("paths", args->paths, "Findings or directories (default reports/findings)");
  rs->callback([args, &action] { action = [args] { return resign(*args); }; });
  CLI::App* tr = cmd->add_subcommand(
      "triage",
      "Run findings on real kernels: each kernel's outcome at the failing step and who "
      "is wrong (model or driver)");
  tr->add_option("paths", args->paths, "Findings or directories (default reports/findings)");
  tr->add_option("--kernels", args->kernels,
                 "Debian kernels: versions (comma-separated), 'cached' or 'all', booted once each");
  tr->add_flag("--host", args->host, "Also this machine's kernel");
  tr->add_flag("--record", args->record, "Write the `# triage` lines into each finding's header");
  tr->add_flag("--kvm", args->kvm, "Use KVM instead of TCG");
  tr->callback([args, &action] { action = [args] { return findings_triage(*args); }; });
  CLI::App* pt = cmd->add_subcommand(
      "portable",
      "Print a finding as a trace every target can run (its own devices, default @env), ready "
      "for `loopcheck record` on a kernel");
  pt->add_option("path", args->paths, "The finding")->required();
  pt->callback([args, &action] { action = [args] { return portable(*args); }; });
}

LOOPCHECK_COMMAND(65, add_findings_command);

}  // namespace loopcheck::cli
