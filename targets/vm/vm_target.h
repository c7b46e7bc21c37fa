// The VM target: traces run on a real Debian kernel booted in QEMU, one VM
// serving many traces (the agent resets the guest's loop driver between them).
// The conversation with the agent is AgentTarget's (agent_target.h); this adds
// what is the VM's own: booting or restoring the guest, its vCPUs, and the @env
// facts a guest made by loopcheck has.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "targets/vm/agent_target.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/qemu_vm.h"

namespace loopcheck::vm {

// vCPUs of a guest running a trace with a concurrent block (VmOptions::cpus).
inline constexpr int kConcurrentCpus = 2;

struct VmTargetOptions : AgentTargetOptions {
  VmOptions vm;
};

class VmTarget : public AgentTarget {
 public:
  VmTarget(KernelFiles kernel, VmTargetOptions options = {});

  void describe_env(Env& env, uint16_t pinned) const override;
  // Public for tests: what a loopcheck guest cannot be.
  static std::vector<std::string> guest_env_mismatches(const Env& env, const ReadyInfo& ready);
  const KernelFiles& kernel() const { return kernel_; }

 protected:
  std::unique_ptr<AgentLink> connect(bool concurrent, std::string* why) override;
  bool link_suits(bool concurrent) const override { return cpus_for(concurrent) == booted_cpus_; }
  std::vector<std::string> env_mismatches(const Env& env, const ReadyInfo& ready) const override {
    return guest_env_mismatches(env, ready);
  }

 private:
  int cpus_for(bool concurrent) const;

  KernelFiles kernel_;
  VmOptions vm_options_;
  int booted_cpus_ = 0;  // the running guest's vCPUs
};

}  // namespace loopcheck::vm
