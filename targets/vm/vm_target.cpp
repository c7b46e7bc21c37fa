#include "targets/vm/vm_target.h"

#include <fmt/format.h>

#include <algorithm>

namespace loopcheck::vm {

VmTarget::VmTarget(KernelFiles kernel, VmTargetOptions options)
    : AgentTarget("vm:" + kernel.version, kernel.version, options),
      kernel_(std::move(kernel)),
      vm_options_(std::move(options.vm)) {}

// A concurrent block's threads run truly at once only on several vCPUs: a guest
// booted with fewer is replaced (the next boot restores its own snapshot).
int VmTarget::cpus_for(bool concurrent) const {
  return concurrent ? std::max(vm_options_.cpus, kConcurrentCpus) : vm_options_.cpus;
}

std::unique_ptr<AgentLink> VmTarget::connect(bool concurrent, std::string* why) {
  VmOptions machine = vm_options_;
  machine.cpus = cpus_for(concurrent);
  std::unique_ptr<Vm> vm = Vm::boot(kernel_, machine, why);
  if (vm) booted_cpus_ = machine.cpus;
  return vm;
}

// The guest's files live on an ext4 filesystem on a RAM disk (brd, qemu_vm.cpp),
// which is not rotational.
void VmTarget::describe_env(Env& env, uint16_t pinned) const {
  if (!(pinned & (1u << static_cast<int>(EnvKey::Rotational)))) env.rotational = false;
}

// The model is told the trace's @env; the guest must be that world, or the
// comparison would be between two different machines.
std::vector<std::string> VmTarget::guest_env_mismatches(const Env& env, const ReadyInfo& ready) {
  std::vector<std::string> mismatches = backing_env_mismatches(env, ready, "guest's");
  if (env.precreated != 8)
    mismatches.push_back(fmt::format("precreated={} (loop.ko creates 8)", env.precreated));
  if (env.max_part != 0)
    mismatches.push_back(fmt::format("max_part={} (loop.ko is loaded with 0)", env.max_part));
  if (!env.thp) mismatches.push_back("thp=0 (Debian kernels have CONFIG_TRANSPARENT_HUGEPAGE)");
  if (!env.msdos_partitions)
    mismatches.push_back("msdos_partitions=0 (Debian kernels have CONFIG_MSDOS_PARTITION)");
  if (env.rotational)
    mismatches.push_back("rotational=1 (the guest's NVMe disk is not rotational)");
  return mismatches;
}

}  // namespace loopcheck::vm
