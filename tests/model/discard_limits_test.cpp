// The discard limits of a device the trace did not make (model/discard.cpp,
// model/sysfs.cpp): an earlier bind's stay after its detach, so until a bind in
// the trace sets them the model does not predict them — and predicts them again
// after one. (The kernels' word on limits after a bind is
// common/discard_limits_and_range_checks.trace.)
#include <gtest/gtest.h>

#include <cerrno>

#include "model/profile.h"
#include "tests/model/model_sim.h"

namespace loopcheck::model {
namespace {

Outcome discard(ModelSim& m, uint64_t fd, uint64_t start, uint64_t len) {
  return m.run(op_ioctl_range(L(fd), Req::BlkDiscard, start, len));
}

TEST(ModelDiscardLimits, APrecreatedDevicesAreNotPredictedUntilABind) {
  for (const Profile* profile : {&kLinux618, &kLinux61}) {
    ModelSim m(*profile, {file_object("img", 1 << 20)});  // precreated 0..7
    const Outcome max = m.run(op_sysfs(L(0), SysAttr::QueueDiscardMaxBytes));
    EXPECT_TRUE(max.any);
    EXPECT_EQ(max.data_rule, EnvelopeRule::DiscardLimitsUnknown);
    const uint64_t dev = static_cast<uint64_t>(m.ok(op_open_loop(L(0), Access::Rw)));
    const Outcome o = discard(m, dev, 0, 512);
    EXPECT_EQ(o.err, EINVAL) << "no capacity: the range is past the end";
    EXPECT_EQ(o.also_err, EOPNOTSUPP) << "unless no bind ever set a limit";
    EXPECT_EQ(o.err_rule, EnvelopeRule::DiscardLimitsUnknown);
    const uint64_t file = static_cast<uint64_t>(m.ok(op_open_file(0, Access::Rw)));
    EXPECT_EQ(m.ok(op_ioctl(L(dev), Req::LoopSetFd, L(file))), 0);
    EXPECT_EQ(m.sysfs(0, SysAttr::QueueDiscardMaxBytes), "4294966784");
    EXPECT_EQ(m.ok(op_ioctl_noarg(L(dev), Req::LoopClrFd)), 0);
    EXPECT_EQ(m.ok(op_close(L(dev))), 0);
    EXPECT_EQ(m.sysfs(0, SysAttr::QueueDiscardMaxBytes), "4294966784") << "kept after the detach";
  }
}

TEST(ModelDiscardLimits, ADeviceTheTraceMadeHasNone) {
  ModelSim m(kLinux618, {file_object("img", 1 << 20)}, Env{.precreated = 0});
  const uint64_t ctl = static_cast<uint64_t>(m.ok(op_open_loop_control()));
  EXPECT_EQ(m.ok(op_ioctl(L(ctl), Req::LoopCtlAdd, L(0))), 0);
  EXPECT_EQ(m.sysfs(0, SysAttr::QueueDiscardMaxBytes), "0");
  const uint64_t dev = static_cast<uint64_t>(m.ok(op_open_loop(L(0), Access::Rw)));
  const Outcome o = discard(m, dev, 0, 512);
  EXPECT_EQ(o.err, EOPNOTSUPP);
  EXPECT_EQ(o.also_err, 0);
}

}  // namespace
}  // namespace loopcheck::model
