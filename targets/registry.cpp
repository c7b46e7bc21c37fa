#include "targets/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>

#include "targets/host/host_target.h"
#include "targets/vm/boot_spec.h"
#include "targets/vm/stream_target.h"
#include "targets/vm/vm_environment.h"
#include "targets/vm/vm_target.h"
#include "inproc/driver_profile_registry.h"
#include "model/profile_registry.h"
#include "profile_file/profile_document.h"
#include "targets/inproc/inproc_target.h"

namespace loopcheck {

namespace {

std::string target_names() {
  std::string names;
  for (const TargetAvailability& t : known_targets()) names += (names.empty() ? "" : ", ") + t.name;
  return names +
         ", inproc:PROFILE (the driver configured as one profile, or as a profile file), "
         "vm:VERSION (a Debian kernel from `loopcheck kernels list`), vm:PATH/TO/bzImage, "
         "exec:CMD (an agent as a child process), serial:PATH (an agent on a Unix socket or pty)";
}

// "vm:VERSION": the cached Debian kernel VERSION booted in QEMU (docs/vm.md);
// "vm:PATH": a bzImage (docs/custom-kernels.md). Either with the process's
// --loop-ko/--modules choice. The profile follows the kernel's release.
// LOOPCHECK_VM_* variables tune it (targets/vm/vm_environment.h).
TargetChoice make_vm_target(std::string_view spec) {
  TargetChoice choice;
  std::string why;
  if (!vm::qemu_available(&why)) {
    choice.error = fmt::format("target 'vm:{}' cannot run here: {}", spec, why);
    return choice;
  }
  vm::ResolvedKernel resolved = vm::resolve_vm_kernel(spec, vm::loop_driver_choice());
  if (!resolved.ok) {
    choice.error = fmt::format("target 'vm:{}' cannot run here: {}", spec, resolved.error);
    return choice;
  }
  vm::KernelFiles kernel = std::move(resolved.files);
  choice.native_profile = model::profile_for_release(kernel.version);
  if (!choice.native_profile) {
    choice.error = fmt::format(
        "target 'vm:{}': {}; pass --profile (see `loopcheck profiles`) to compare "
        "against one anyway",
        spec, model::no_profile_reason(kernel.version));
  }
  vm::VmTargetOptions options;
  if (!vm::apply_vm_environment(&options, &why)) {
    choice.error = fmt::format("target 'vm:{}': {}", spec, why);
    return choice;
  }
  choice.ok = true;
  choice.target = std::make_unique<vm::VmTarget>(std::move(kernel), options);
  return choice;
}

// "exec:CMD" / "serial:PATH": an agent speaking docs/agent-protocol.md. It is
// brought up now: an agent that does not come up is an error here, before any
// trace, and its Ready names the kernel whose profile the traces run under.
TargetChoice make_stream_target(vm::StreamKind kind, std::string_view spec) {
  TargetChoice choice;
  const std::string name{kind == vm::StreamKind::Exec ? "exec:" : "serial:"};
  if (spec.empty()) {
    choice.error = fmt::format("target '{}' needs {}", name,
                               kind == vm::StreamKind::Exec ? "a command: exec:'vm-agent --stdio'"
                                                            : "a path: serial:/path/to/socket");
    return choice;
  }
  vm::VmTargetOptions env_options;  // LOOPCHECK_VM_STEP_MS applies to every agent
  std::string why;
  if (!vm::apply_vm_environment(&env_options, &why)) {
    choice.error = fmt::format("target '{}{}': {}", name, spec, why);
    return choice;
  }
  auto target = std::make_unique<vm::StreamTarget>(kind, std::string(spec), env_options);
  if (!target->boot(&why)) {
    choice.error = why;
    return choice;
  }
  const std::string release = target->ready()->kernel_release;
  choice.native_profile = model::profile_for_release(release);
  if (!choice.native_profile) {
    choice.error = fmt::format(
        "target '{}{}': {}; pass --profile (see `loopcheck profiles`) to compare against one "
        "anyway",
        name, spec, model::no_profile_reason(release));
  }
  // An exec: agent may well run on this machine's kernel: traces reading global
  // loop state then run alone, as on the host target.
  choice.shared_kernel = kind == vm::StreamKind::Exec;
  choice.ok = true;
  choice.target = std::move(target);
  return choice;
}

// `inproc:NAME` or `inproc:FILE.toml`: the driver pinned to one profile, which
// the target then stands for (a file is read and registered here).
TargetChoice make_pinned_inproc_target(std::string_view spec) {
  TargetChoice choice;
  std::string name(spec);
  if (profile_file::names_a_file(name)) {
    ProfileFileRegistration file = register_profile_file(name);
    if (!file.errors.empty()) {
      choice.error = fmt::format("target 'inproc:{}': {}", spec, fmt::join(file.errors, "\n"));
      return choice;
    }
    name = file.name;
  }
  choice.native_profile = model::find_profile(name);
  if (inproc::find_profile(name) == nullptr || choice.native_profile == nullptr) {
    choice.error = fmt::format(
        "target 'inproc:{}': no such profile (built-in: `loopcheck "
        "profiles`; or a profile file, inproc:profiles/NAME.toml)",
        spec);
    return choice;
  }
  choice.ok = true;
  choice.target = std::make_unique<inproc::InprocTarget>(name);
  return choice;
}

}  // namespace

ProfileFileRegistration register_profile_file(const std::string& path) {
  profile_file::DocumentLoad doc = profile_file::load_profile_document(path);
  ProfileFileRegistration result{{}, doc.errors};
  if (result.errors.empty()) result.errors = model::register_profile(doc.document).errors;
  if (result.errors.empty()) result.errors = inproc::register_driver_profile(doc.document).errors;
  if (result.errors.empty()) result.name = doc.document.name;
  return result;
}

TargetChoice make_target(std::string_view name) {
  TargetChoice choice;
  if (name == "model") {
    choice.ok = true;
    return choice;
  }
  if (name == "inproc") {
    choice.ok = true;
    choice.target = std::make_unique<inproc::InprocTarget>();
    return choice;
  }
  if (name == "host") {
    std::string why;
    if (!host_loop_available(&why)) {
      choice.error = fmt::format("target 'host' cannot run here: {}", why);
      return choice;
    }
    std::string release = host_kernel_release();
    choice.native_profile = model::profile_for_release(release);
    choice.shared_kernel = true;
    if (!choice.native_profile) {
      choice.error = fmt::format(
          "target 'host': {}; pass --profile (see `loopcheck profiles`) to compare "
          "against one anyway",
          model::no_profile_reason(release));
    }
    choice.ok = true;  // usable with an explicit --profile even when no profile fits
    choice.target = std::make_unique<HostTarget>();
    return choice;
  }
  if (name.starts_with("inproc:")) return make_pinned_inproc_target(name.substr(7));
  if (name.starts_with("vm:")) return make_vm_target(name.substr(3));
  if (name.starts_with("exec:")) return make_stream_target(vm::StreamKind::Exec, name.substr(5));
  if (name.starts_with("serial:"))
    return make_stream_target(vm::StreamKind::Serial, name.substr(7));
  choice.error =
      fmt::format("unknown target '{}': the targets this build has are: {}", name, target_names());
  return choice;
}

std::vector<TargetAvailability> known_targets() {
  std::vector<TargetAvailability> targets{{"model", true, {}}};
  targets.push_back({"inproc", true, {}});
  TargetAvailability host{"host", false, {}};
  host.available = host_loop_available(&host.why_not);
  targets.push_back(host);
  return targets;
}

}  // namespace loopcheck
