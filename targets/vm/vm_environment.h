// The VM target's settings a user gives through the environment, in one place
// so that every command booting guests (run, conformance, fuzz, triage,
// findings, mutants) honours them alike:
//   LOOPCHECK_VM_KVM=1       KVM instead of TCG (nested KVM hangs on some hosts)
//   LOOPCHECK_KEEP_VM=1      keep each guest's console log and disk image
//   LOOPCHECK_VM_SNAPSHOT=0  boot every guest instead of restoring a saved one
//   LOOPCHECK_VM_STEP_MS=N   the per-step budget's base (targets/vm/step_budget.h)
#pragma once

#include <string>

#include "targets/vm/vm_target.h"

namespace loopcheck::vm {

// Applies the variables that are set to `options`. False with `why` (naming the
// variable, the value and what it accepts) on a value it cannot use.
bool apply_vm_environment(VmTargetOptions* options, std::string* why);

}  // namespace loopcheck::vm
