// `loopcheck triage TRACE --kernels LIST|cached [--host] [--jobs N]`: one trace on
// several Debian kernels (and this machine's), a Markdown table of outcomes per
// step per kernel, and the first release where the behaviour changed.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "cli/loop_driver_options.h"
#include "cli/kernel_choice.h"
#include "targets/host/host_target.h"
#include "trace/trace_files.h"
#include "targets/vm/kernel_cache.h"
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
  vm::LoopDriverChoice loop_driver;  // --loop-ko / --modules
};

int triage(const TriageArgs& args) {
  vm::set_loop_driver_choice(args.loop_driver);
  LoadedTraces loaded = load_traces({args.trace});
  if (!loaded.ok() || loaded.traces.size() != 1) {
    for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "triage takes exactly one valid trace file\n");
    return kExitUsage;
  }
  const Trace& trace = loaded.traces.front();
  std::string why;
  vm::VmTargetOptions options;
  if (!vm::apply_vm_environment(&options, &why) || !vm::qemu_available(&why)) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  options.vm.kvm = options.vm.kvm || args.kvm;
  std::vector<vm::KernelFiles> kernels;
  if (!resolve_kernels(args.kernels, &kernels)) return kExitUsage;

  std::vector<vm::TriageColumn> columns =
      vm::observe_on_kernels(trace, kernels, options, args.jobs);

  if (args.host) {
    std::string host_why;
    if (!host_loop_available(&host_why)) {
      fmt::print(stderr, "SKIPPED host column: {}\n", host_why);
    } else {
      HostTarget host;
      std::string release = host_kernel_release();
      const model::Profile* profile = model::profile_for_release(release);
      vm::TriageColumn column =
          vm::observe_trace(trace, host, profile ? profile->name : std::string_view{});
      column.name = fmt::format("host ({})", release);
      column.is_vm_kernel = false;
      columns.push_back(std::move(column));
    }
  }
  fmt::print("{}", vm::triage_markdown(trace, columns));
  bool all_ran = std::all_of(columns.begin(), columns.end(),
                             [](const vm::TriageColumn& c) { return c.error.empty(); });
  return all_ran ? kExitPass : kExitFail;
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
  add_loop_driver_options(cmd, &args->loop_driver);
  cmd->callback([args, &action] { action = [args] { return triage(*args); }; });
}

LOOPCHECK_COMMAND(60, add_triage_command);

}  // namespace loopcheck::cli
