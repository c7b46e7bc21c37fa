// `loopcheck triage TRACE --kernels LIST|cached [--host] [--jobs N] [--repeat N]`:
// one trace on several Debian kernels (and this machine's), a Markdown table of
// outcomes per step per kernel (a trace with a concurrent block: outcome tuples
// per kernel over `repeat` runs, repro/concurrent_triage.h), and the first release
// where the behaviour changed.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "cli/commands.h"
#include "cli/loop_driver_options.h"
#include "cli/kernel_choice.h"
#include "targets/host/host_target.h"
#include "trace/trace_files.h"
#include "targets/vm/kernel_cache.h"
#include "repro/concurrent_triage.h"
#include "repro/triage.h"
#include "targets/vm/vm_environment.h"
#include "targets/vm/vm_target.h"
#include "model/profile.h"

namespace loopcheck::cli {
namespace {

struct TriageArgs {
  std::string trace;
  std::vector<std::string> kernels;
  bool host = false;
  bool kvm = false;
  unsigned jobs = 1;
  uint32_t repeat = 0;               // concurrent blocks: runs per kernel (0: the block's repeat=)
  vm::LoopDriverChoice loop_driver;  // --loop-ko / --modules
};

bool load_one_trace(const std::string& path, Trace* trace) {
  LoadedTraces loaded = load_traces({path});
  if (!loaded.ok() || loaded.traces.size() != 1) {
    for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "triage takes exactly one valid trace file\n");
    return false;
  }
  *trace = loaded.traces.front();
  return true;
}

// This machine's kernel as a column, or nullopt (said loudly) without loop-control.
template <typename Column, typename Observe>
std::optional<Column> host_column(Observe observe) {
  std::string why;
  if (!host_loop_available(&why)) {
    fmt::print(stderr, "SKIPPED host column: {}\n", why);
    return std::nullopt;
  }
  HostTarget host;
  const std::string release = host_kernel_release();
  Column column = observe(host, release, model::profile_for_release(release));
  column.name = fmt::format("host ({})", release);
  column.is_vm_kernel = false;
  return column;
}

int sequential_triage(const TriageArgs& args, const Trace& trace,
                      const std::vector<vm::KernelFiles>& kernels,
                      const vm::VmTargetOptions& options) {
  std::vector<vm::TriageColumn> columns =
      vm::observe_on_kernels(trace, kernels, options, args.jobs);
  if (args.host) {
    auto observe = [&](Target& host, const std::string&, const model::Profile* profile) {
      return vm::observe_trace(trace, host, profile ? profile->name : std::string_view{});
    };
    if (auto column = host_column<vm::TriageColumn>(observe)) columns.push_back(*column);
  }
  fmt::print("{}", vm::triage_markdown(trace, columns));
  bool all_ran = std::all_of(columns.begin(), columns.end(),
                             [](const vm::TriageColumn& c) { return c.error.empty(); });
  return all_ran ? kExitPass : kExitFail;
}

int concurrent_triage(const TriageArgs& args, const Trace& trace,
                      const std::vector<vm::KernelFiles>& kernels,
                      const vm::VmTargetOptions& options) {
  std::vector<vm::ConcurrentColumn> columns =
      vm::observe_concurrent_on_kernels(trace, kernels, options, args.jobs, args.repeat);
  if (args.host) {
    auto observe = [&](Target& host, const std::string& release, const model::Profile* profile) {
      return vm::observe_concurrent(trace, host, profile, release, args.repeat);
    };
    if (auto column = host_column<vm::ConcurrentColumn>(observe)) columns.push_back(*column);
  }
  fmt::print("{}", vm::concurrent_triage_markdown(trace, columns));
  bool all_ran = std::all_of(columns.begin(), columns.end(),
                             [](const vm::ConcurrentColumn& c) { return c.error.empty(); });
  return all_ran ? kExitPass : kExitFail;
}

int triage(const TriageArgs& args) {
  vm::set_loop_driver_choice(args.loop_driver);
  Trace trace;
  if (!load_one_trace(args.trace, &trace)) return kExitUsage;
  std::string why;
  vm::VmTargetOptions options;
  if (!vm::apply_vm_environment(&options, &why) || !vm::qemu_available(&why)) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  options.vm.kvm = options.vm.kvm || args.kvm;
  std::vector<vm::KernelFiles> kernels;
  if (!resolve_kernels(args.kernels, &kernels)) return kExitUsage;
  if (trace.concurrent()) return concurrent_triage(args, trace, kernels, options);
  if (args.repeat) {
    fmt::print(stderr, "--repeat applies to traces with a concurrent block; {} has none\n",
               args.trace);
    return kExitUsage;
  }
  return sequential_triage(args, trace, kernels, options);
}

}  // namespace

void add_triage_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<TriageArgs>();
  CLI::App* cmd = app.add_subcommand(
      "triage",
      "Run one trace on several kernels; Markdown table per step per kernel and the first change");
  cmd->add_option("trace", args->trace, "The trace file")->required();
  cmd->add_option("--kernels", args->kernels,
                  "Kernel versions (comma-separated), 'cached' or 'all'; fetched if missing")
      ->required();
  cmd->add_flag("--host", args->host,
                "Add this machine's kernel as a column (needs /dev/loop-control)");
  cmd->add_flag("--kvm", args->kvm, "Use KVM instead of TCG (nested KVM hangs on some machines)");
  cmd->add_option("-j,--jobs", args->jobs, "Kernels booted at once")->capture_default_str();
  cmd->add_option("--repeat", args->repeat,
                  "Concurrent block: runs per kernel (default: the block's repeat=)")
      ->check(CLI::Range(1u, kMaxRepeat));
  add_loop_driver_options(cmd, &args->loop_driver);
  cmd->callback([args, &action] { action = [args] { return triage(*args); }; });
}

LOOPCHECK_COMMAND(60, add_triage_command);

}  // namespace loopcheck::cli
