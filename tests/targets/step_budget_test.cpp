// The VM target's hang budgets and the LOOPCHECK_VM_* settings that tune them:
// pure arithmetic and environment parsing (no guest is booted).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "targets/vm/step_budget.h"
#include "targets/vm/vm_environment.h"

namespace loopcheck::vm {
namespace {

Op ioctl_op(Req req) {
  Op op;
  op.kind = OpKind::Ioctl;
  op.req = req;
  return op;
}

Op pread_op() {
  Op op;
  op.kind = OpKind::Pread;
  op.length = 4096;
  return op;
}

TEST(StepBudget, ControlIoctlsGetTheSlowMultipleAndDataStepsTheBase) {
  for (Req slow : {Req::LoopConfigure, Req::LoopSetStatus64, Req::LoopClrFd, Req::LoopCtlRemove,
                   Req::LoopSetBlockSize, Req::BlkDiscard})
    EXPECT_EQ(step_budget_ms(ioctl_op(slow), 1000), 1000 * kSlowStepFactor);
  for (Req quick : {Req::LoopGetStatus64, Req::BlkGetSize64, Req::LoopCtlGetFree})
    EXPECT_EQ(step_budget_ms(ioctl_op(quick), 1000), 1000);
  EXPECT_EQ(step_budget_ms(pread_op(), 1000), 1000);
  Op close;
  close.kind = OpKind::Close;
  EXPECT_TRUE(is_slow_step(close)) << "a last close may detach an autoclear device";
}

TEST(StepBudget, AProgramAllowsOneSlowStepItsShareForEachAndTheReset) {
  std::vector<PlannedStatement> program(16, PlannedStatement{pread_op(), -1});
  program[3].op = ioctl_op(Req::LoopConfigure);
  const int base_ms = 4000;
  EXPECT_EQ(program_budget_ms(program, base_ms, 12000),
            12000 + base_ms * kSlowStepFactor + 16 * (base_ms / kPlannedStatementShare));
  EXPECT_EQ(program_budget_ms({}, base_ms, 12000), 12000);
  EXPECT_EQ(program_budget_ms(program, 0, 0), 0) << "a zero base makes every program hang";
}

class VmEnvironment : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("LOOPCHECK_VM_STEP_MS");
    unsetenv("LOOPCHECK_VM_KVM");
    unsetenv("LOOPCHECK_KEEP_VM");
  }
};

TEST_F(VmEnvironment, UnsetVariablesLeaveTheDefaults) {
  VmTargetOptions options;
  std::string why;
  ASSERT_TRUE(apply_vm_environment(&options, &why)) << why;
  EXPECT_EQ(options.step_base_ms, kDefaultStepBaseMs);
  EXPECT_EQ(options.reset_budget_ms, kDefaultStepBaseMs * kSlowStepFactor);
  EXPECT_FALSE(options.vm.kvm);
}

TEST_F(VmEnvironment, SetVariablesAreApplied) {
  setenv("LOOPCHECK_VM_STEP_MS", "9000", 1);
  setenv("LOOPCHECK_VM_KVM", "1", 1);
  setenv("LOOPCHECK_KEEP_VM", "1", 1);
  VmTargetOptions options;
  std::string why;
  ASSERT_TRUE(apply_vm_environment(&options, &why)) << why;
  EXPECT_EQ(options.step_base_ms, 9000);
  EXPECT_EQ(options.reset_budget_ms, 9000 * kSlowStepFactor);
  EXPECT_TRUE(options.vm.kvm);
  EXPECT_TRUE(options.vm.keep_work_dir);
}

TEST_F(VmEnvironment, BadValuesAreRefusedByName) {
  for (const char* bad : {"fast", "50", "4000ms", "-1", "9999999"}) {
    setenv("LOOPCHECK_VM_STEP_MS", bad, 1);
    VmTargetOptions options;
    std::string why;
    EXPECT_FALSE(apply_vm_environment(&options, &why)) << bad;
    EXPECT_NE(why.find("LOOPCHECK_VM_STEP_MS"), std::string::npos) << why;
    EXPECT_EQ(options.step_base_ms, kDefaultStepBaseMs) << "nothing half-applied";
  }
  unsetenv("LOOPCHECK_VM_STEP_MS");
  setenv("LOOPCHECK_VM_KVM", "yes", 1);
  VmTargetOptions options;
  std::string why;
  EXPECT_FALSE(apply_vm_environment(&options, &why));
  EXPECT_NE(why.find("LOOPCHECK_VM_KVM"), std::string::npos) << why;
}

}  // namespace
}  // namespace loopcheck::vm
