// The model's uevents (model/uevents.cpp): which step sends which event, the
// RESIZE rule, the suppression a failed 6.11+ LOOP_CONFIGURE leaves, and where
// the model stops following (more events than it keeps, a concurrent block).
// The kernels' word on them is in corpus/conformance/*/uevents_*.trace.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "model/concurrency.h"
#include "model/profile.h"
#include "tests/model/model_sim.h"

namespace loopcheck::model {
namespace {

struct Sim : ModelSim {
  explicit Sim(const Profile& profile, uint64_t size = 1 << 20)
      : ModelSim(profile, {file_object("img", size)}, Env{.precreated = 0}) {}
  uint64_t ctl = 0, dev = 0, file = 0;

  // loop0, made by LOOP_CTL_ADD and opened; the events so far are read.
  void make() {
    ctl = static_cast<uint64_t>(ok(op_open_loop_control()));
    EXPECT_EQ(ok(op_ioctl(L(ctl), Req::LoopCtlAdd, L(0))), 0);
    dev = static_cast<uint64_t>(ok(op_open_loop(L(0), Access::Rw)));
    file = static_cast<uint64_t>(ok(op_open_file(0, Access::Rw)));
    EXPECT_EQ(events(), "add loop0");
  }
  Outcome configure(uint64_t block_size = 0) {
    StructFields f;
    f.set(Field::Fd, L(file));
    f.set(Field::BlockSize, L(block_size));
    return run(op_ioctl_struct(L(dev), Req::LoopConfigure, f));
  }
  Outcome set_offset(uint64_t offset) {
    StructFields f;
    f.set(Field::Offset, L(offset));
    return run(op_ioctl_struct(L(dev), Req::LoopSetStatus64, f));
  }
  // `uevents` in its text form; "?" when the model does not predict them.
  std::string events() {
    const Outcome o = run(op_uevents());
    EXPECT_EQ(o.kind, Outcome::Kind::Uevents);
    if (o.any) {
      EXPECT_EQ(o.data_rule, EnvelopeRule::UeventsNotFollowed);
      return "?";
    }
    return format_uevents(o.uevents);
  }
};

TEST(ModelUevents, ABindSendsOneChangeAndADetachTwo) {
  Sim m(kLinux618);
  m.make();
  EXPECT_EQ(m.configure().value, 0);
  EXPECT_EQ(m.events(), "change loop0");
  EXPECT_EQ(m.events(), "") << "a read takes them all";
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(m.dev), Req::LoopClrFd)), 0);
  EXPECT_EQ(m.events(), "") << "6.11+ detaches at the last close";
  EXPECT_EQ(m.ok(op_close(L(m.dev))), 0);
  EXPECT_EQ(m.events(), "change loop0, change loop0 media");
  EXPECT_EQ(m.ok(op_ioctl(L(m.ctl), Req::LoopCtlRemove, L(0))), 0);
  EXPECT_EQ(m.events(), "remove loop0");
}

TEST(ModelUevents, The61DetachSendsItsEventsInLoopClrFd) {
  Sim m(kLinux61);
  m.make();
  EXPECT_EQ(m.configure().value, 0);
  EXPECT_EQ(m.events(), "change loop0");
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(m.dev), Req::LoopClrFd)), 0);
  EXPECT_EQ(m.events(), "change loop0, change loop0 media");
}

TEST(ModelUevents, ResizeOnlyBetweenTwoNonZeroSizes) {
  Sim m(kLinux618);
  m.make();
  ASSERT_EQ(m.configure().value, 0);
  (void)m.events();
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(m.dev), Req::LoopSetCapacity)), 0);
  EXPECT_EQ(m.events(), "change loop0") << "LOOP_SET_CAPACITY sends one even unchanged";
  EXPECT_EQ(m.set_offset(4096).value, 0);
  EXPECT_EQ(m.events(), "change loop0 resize");
  EXPECT_EQ(m.set_offset(4096).value, 0);
  EXPECT_EQ(m.events(), "") << "neither the offset nor the size limit changed";
  EXPECT_EQ(m.set_offset(8 << 20).value, 0);
  EXPECT_EQ(m.events(), "change loop0") << "to capacity 0: no RESIZE";
  EXPECT_EQ(m.set_offset(0).value, 0);
  EXPECT_EQ(m.events(), "change loop0") << "from capacity 0: no RESIZE";
  EXPECT_EQ(m.ok(op_ioctl(L(m.dev), Req::LoopSetBlockSize, L(4096))), 0);
  EXPECT_EQ(m.events(), "");
}

TEST(ModelUevents, AFailedConfigureLeavesThemSuppressedOn611Only) {
  for (const Profile* profile : {&kLinux618, &kLinux61}) {
    Sim m(*profile);
    m.make();
    EXPECT_EQ(m.configure(3000).err, EINVAL);
    EXPECT_EQ(m.ok(op_close(L(m.dev))), 0);
    EXPECT_EQ(m.ok(op_ioctl(L(m.ctl), Req::LoopCtlRemove, L(0))), 0);
    EXPECT_EQ(m.events(), profile == &kLinux618 ? "" : "remove loop0") << profile->name;
  }
}

TEST(ModelUevents, ASuccessfulBindLiftsTheSuppression) {
  Sim m(kLinux618);
  m.make();
  EXPECT_EQ(m.configure(3000).err, EINVAL);
  EXPECT_EQ(m.configure(1024).value, 0);
  EXPECT_EQ(m.events(), "change loop0");
}

TEST(ModelUevents, ChangeFdSendsAChangeOnItsErrorsButNotOnABadFd) {
  Sim m(kLinux618);
  m.make();
  EXPECT_EQ(m.err(op_ioctl(L(m.dev), Req::LoopChangeFd, L(m.file))), ENXIO);
  EXPECT_EQ(m.events(), "change loop0");
  EXPECT_EQ(m.err(op_ioctl(L(m.dev), Req::LoopChangeFd, L(99))), EBADF);
  EXPECT_EQ(m.events(), "");
}

TEST(ModelUevents, MoreThanTheModelKeepsIsNotPredicted) {
  Sim m(kLinux618);
  m.make();
  ASSERT_EQ(m.configure().value, 0);
  for (int i = 0; i < kMaxUevents; ++i)
    EXPECT_EQ(m.ok(op_ioctl_noarg(L(m.dev), Req::LoopSetCapacity)), 0);
  EXPECT_EQ(m.events(), "?");
  EXPECT_EQ(m.events(), "") << "the next read starts whole again";
}

TEST(ModelUevents, AConcurrentBlocksEventsAreNotPredicted) {
  Sim m(kLinux618);
  m.make();
  ASSERT_EQ(m.configure().value, 0);
  (void)m.events();
  const SplitStep r = step_split(m.s, m.p, m.env, op_ioctl_noarg(L(m.dev), Req::LoopSetCapacity));
  EXPECT_EQ(r.outcome.value, 0);
  EXPECT_EQ(m.events(), "?");
}

}  // namespace
}  // namespace loopcheck::model
