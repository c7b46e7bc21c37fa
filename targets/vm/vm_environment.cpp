#include "targets/vm/vm_environment.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

#include "targets/vm/step_budget.h"

namespace loopcheck::vm {
namespace {

std::string_view variable(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string_view(value) : std::string_view();
}

bool flag(const char* name, bool* out, std::string* why) {
  const std::string_view value = variable(name);
  if (value.empty()) return true;
  if (value != "0" && value != "1") {
    *why = fmt::format("{}='{}': give 1 (on) or 0 (off)", name, value);
    return false;
  }
  *out = value == "1";
  return true;
}

}  // namespace

bool apply_vm_environment(VmTargetOptions* options, std::string* why) {
  if (!flag("LOOPCHECK_VM_KVM", &options->vm.kvm, why)) return false;
  if (!flag("LOOPCHECK_KEEP_VM", &options->vm.keep_work_dir, why)) return false;
  if (!flag("LOOPCHECK_VM_SNAPSHOT", &options->vm.snapshot, why)) return false;
  const std::string_view cpus = variable("LOOPCHECK_VM_CPUS");
  if (!cpus.empty()) {
    auto [end, ec] = std::from_chars(cpus.data(), cpus.data() + cpus.size(), options->vm.cpus);
    if (ec != std::errc{} || end != cpus.data() + cpus.size() || options->vm.cpus < 1 ||
        options->vm.cpus > 8) {
      *why = fmt::format(
          "LOOPCHECK_VM_CPUS='{}': give the guest's vCPUs, 1 to 8 (default 1; "
          "traces with a concurrent block get at least 2)",
          cpus);
      return false;
    }
  }
  const std::string_view step = variable("LOOPCHECK_VM_STEP_MS");
  if (step.empty()) return true;
  int base_ms = 0;
  auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), base_ms);
  if (ec != std::errc{} || end != step.data() + step.size() || base_ms < kMinStepBaseMs ||
      base_ms > kMaxStepBaseMs) {
    *why = fmt::format(
        "LOOPCHECK_VM_STEP_MS='{}' is not a step budget: give milliseconds from {} to {} "
        "(default {})",
        step, kMinStepBaseMs, kMaxStepBaseMs, kDefaultStepBaseMs);
    return false;
  }
  options->step_base_ms = base_ms;
  options->reset_budget_ms = base_ms * kSlowStepFactor;
  return true;
}

}  // namespace loopcheck::vm
