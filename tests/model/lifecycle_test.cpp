// Lifecycle (docs/semantics.md §2.3 T1–T8), loop-control (§3.10), open/close rules (§3.1),
// stacked devices, per profile.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "model/model.h"
#include "model/profile_switches.h"
#include "tests/model/model_sim.h"
#include "trace/ops.h"
#include "tests/support/field_count.h"

namespace loopcheck::model {
namespace {

struct Sim : ModelSim {
  explicit Sim(const Profile& profile, Env e = Env{})
      : ModelSim(profile,
                 {file_object("img", 1 << 20), file_object("img2", 2 << 20), dir_object("d")}, e) {}
  // open loop N rw + open file + SET_FD; returns {device fd, file fd}.
  std::pair<uint64_t, uint64_t> bind(uint32_t dev, uint8_t object = 0, Access a = Access::Rw) {
    uint64_t d = ok(op_open_loop(L(dev), a));
    uint64_t f = ok(op_open_file(object, a));
    EXPECT_EQ(ok(op_ioctl(L(d), Req::LoopSetFd, L(f))), 0);
    return {d, f};
  }
};

TEST(ModelLifecycle, FdsAreLowestFreeNumbersFromThree) {
  Sim m(kLinux618);
  EXPECT_EQ(m.ok(op_open_loop_control()), 3);
  EXPECT_EQ(m.ok(op_open_file(0, Access::Ro)), 4);
  EXPECT_EQ(m.ok(op_open_file(0, Access::Ro)), 5);
  EXPECT_EQ(m.ok(op_close(L(4))), 0);
  EXPECT_EQ(m.ok(op_open_file(1, Access::Ro)), 4);
  EXPECT_EQ(m.err(op_close(L(4 + 100))), EBADF);
}

TEST(ModelLifecycle, ClrFdSoleOpenerIsSynchronousOn61) {
  Sim m(kLinux61);
  auto [d, f] = m.bind(0);
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd)), 0);
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopOffset), "E" + std::to_string(ENOENT));
  EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopGetStatus64, StructFields{})), ENXIO);
  // The same fd can bind again at once.
  EXPECT_EQ(m.ok(op_ioctl(L(d), Req::LoopSetFd, L(f))), 0);
  // Reads on an unbound device: 0; writes: ENOSPC.
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd)), 0);
  EXPECT_EQ(m.run(op_pread(L(d), 0, 512)).value, 0);
  EXPECT_EQ(m.err(op_pwrite(L(d), 0, 512, 1)), ENOSPC);
}

TEST(ModelLifecycle, ClrFdSoleOpenerDefersToLastCloseOn612And618) {
  for (const Profile* p : {&kLinux612, &kLinux618}) {
    Sim m(*p);
    auto [d, f] = m.bind(0);
    EXPECT_EQ(m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd)), 0);
    EXPECT_EQ(m.sysfs(0, SysAttr::LoopAutoclear), "1");  // loop/ still present
    EXPECT_EQ(m.err(op_ioctl_noarg(L(d), Req::LoopClrFd)), ENXIO);
    EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetFd, L(f))), EBUSY);
    EXPECT_EQ(m.err(op_open_loop(L(0), Access::Ro)), ENXIO);
    EXPECT_EQ(m.err(op_pread(L(d), 0, 512)), EIO);  // requests reaching the driver
    EXPECT_EQ(m.sysfs(0, SysAttr::Size), "2048");   // capacity still reported
    EXPECT_EQ(m.ok(op_close(L(d))), 0);
    EXPECT_EQ(m.sysfs(0, SysAttr::Size), "0");
    EXPECT_EQ(m.sysfs(0, SysAttr::LoopBackingFile), "E" + std::to_string(ENOENT));
    EXPECT_GE(m.ok(op_open_loop(L(0), Access::Rw)), 3);
  }
}

TEST(ModelLifecycle, ClrFdWithOtherOpenersSetsAutoclearOnEveryProfile) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    auto [d, f] = m.bind(0);
    uint64_t d2 = m.ok(op_open_loop(L(0), Access::Ro));
    EXPECT_EQ(m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd)), 0);
    EXPECT_EQ(m.sysfs(0, SysAttr::LoopAutoclear), "1");
    EXPECT_EQ(m.ok(op_close(L(d))), 0);
    EXPECT_EQ(m.sysfs(0, SysAttr::Size), "2048") << p->name;
    EXPECT_EQ(m.ok(op_close(L(d2))), 0);
    EXPECT_EQ(m.sysfs(0, SysAttr::Size), "0") << p->name;
    (void)f;
  }
}

TEST(ModelLifecycle, ClearingAutoclearCancelsDeferredDetach) {
  Sim m(kLinux618);
  auto [d, f] = m.bind(0);
  uint64_t d2 = m.ok(op_open_loop(L(0), Access::Ro));
  m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd));
  StructFields none;
  none.set(Field::Flags, L(0));
  EXPECT_EQ(m.ok(op_ioctl_struct(L(d), Req::LoopSetStatus64, none)), 0);
  m.ok(op_close(L(d)));
  m.ok(op_close(L(d2)));
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopAutoclear), "0");
  (void)f;
}

TEST(ModelLifecycle, LoopControlAddRemoveGetFree) {
  Sim m(kLinux618);
  uint64_t c = m.ok(op_open_loop_control());
  EXPECT_EQ(m.ok(op_ioctl(L(c), Req::LoopCtlAdd, Value::signed_literal(-1))), 8);
  EXPECT_EQ(m.err(op_ioctl(L(c), Req::LoopCtlAdd, L(8))), EEXIST);
  EXPECT_EQ(m.err(op_ioctl(L(c), Req::LoopCtlAdd, L(1 << 20))), EINVAL);
  EXPECT_EQ(m.ok(op_ioctl(L(c), Req::LoopCtlAdd, L((1 << 20) - 1))), (1 << 20) - 1);
  // The argument is converted to int: 2^32 + 103 adds 103.
  EXPECT_EQ(m.ok(op_ioctl(L(c), Req::LoopCtlAdd, L((uint64_t{1} << 32) + 103))), 103);
  EXPECT_EQ(m.err(op_ioctl(L(c), Req::LoopCtlRemove, Value::signed_literal(-1))), EINVAL);
  EXPECT_EQ(m.err(op_ioctl(L(c), Req::LoopCtlRemove, L(50))), ENODEV);
  EXPECT_EQ(m.ok(op_ioctl(L(c), Req::LoopCtlRemove, L(8))), 0);
  EXPECT_EQ(m.err(op_ioctl(L(c), Req::LoopCtlRemove, L(8))), ENODEV);
  // Opened but unbound → EBUSY; bound → EBUSY.
  uint64_t d = m.ok(op_open_loop(L(1), Access::Ro));
  EXPECT_EQ(m.err(op_ioctl(L(c), Req::LoopCtlRemove, L(1))), EBUSY);
  m.ok(op_close(L(d)));
  EXPECT_EQ(m.ok(op_ioctl(L(c), Req::LoopCtlRemove, L(1))), 0);
  // GET_FREE: the lowest unbound index, repeatedly, even while open.
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(c), Req::LoopCtlGetFree)), 0);
  auto [d0, f0] = m.bind(0);
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(c), Req::LoopCtlGetFree)), 2);
  EXPECT_EQ(m.err(op_ioctl(L(c), Req::LoopCtlRemove, L(0))), EBUSY);
  EXPECT_EQ(m.err(op_ioctl_raw(L(c), 0x4c83, L(0))), ENOSYS);
  EXPECT_EQ(m.err(op_ioctl_noarg(L(c), Req::LoopClrFd)), ENOSYS);
  EXPECT_EQ(m.err(op_ioctl_noarg(L(c), Req::BlkGetSize64)), ENOSYS);
  (void)d0, (void)f0;
}

TEST(ModelLifecycle, GetFreeCreatesWhenNoneFree) {
  Env env;
  env.precreated = 1;
  Sim m(kLinux618, env);
  uint64_t c = m.ok(op_open_loop_control());
  m.bind(0);
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(c), Req::LoopCtlGetFree)), 1);
  EXPECT_EQ(m.sysfs(1, SysAttr::Size), "0");
}

TEST(ModelLifecycle, OpenOfMissingDeviceAutoloads) {
  Sim m(kLinux618);
  EXPECT_EQ(m.sysfs(150, SysAttr::Size), "E" + std::to_string(ENOENT));
  EXPECT_GE(m.ok(op_open_loop(L(150), Access::Rw)), 3);
  EXPECT_EQ(m.sysfs(150, SysAttr::Size), "0");
}

TEST(ModelLifecycle, ExclusiveOpens) {
  Sim m(kLinux618);
  uint64_t a = m.ok(op_open_loop(L(0), Access::Rw));
  EXPECT_GE(m.ok(op_open_loop(L(0), Access::Rw, kOpenExcl)), 3);  // others non-exclusive: fine
  EXPECT_EQ(m.err(op_open_loop(L(0), Access::Rw, kOpenExcl)), EBUSY);
  // SET_FD through a non-exclusive fd while someone holds it exclusively → EBUSY.
  uint64_t f = m.ok(op_open_file(0, Access::Rw));
  EXPECT_EQ(m.err(op_ioctl(L(a), Req::LoopSetFd, L(f))), EBUSY);
}

TEST(ModelLifecycle, StackedDevicesCountAsOpenersAndCollapseTogether) {
  Sim m(kLinux618);
  auto [d0, f0] = m.bind(0);
  uint64_t d1 = m.ok(op_open_loop(L(1), Access::Rw));
  EXPECT_EQ(m.ok(op_ioctl(L(d1), Req::LoopSetFd, L(d0))), 0);
  EXPECT_EQ(m.sysfs(1, SysAttr::LoopBackingFile), "/dev/loop0");
  EXPECT_EQ(m.sysfs(1, SysAttr::Size), "2048");
  // Cycle: loop0 cannot be backed by loop1 (and its own fd → EBADF).
  uint64_t c = m.ok(op_open_loop_control());
  EXPECT_EQ(m.err(op_ioctl(L(c), Req::LoopCtlRemove, L(0))), EBUSY);
  // Binding to an unbound loop device → EINVAL.
  uint64_t d2 = m.ok(op_open_loop(L(2), Access::Rw));
  uint64_t d3 = m.ok(op_open_loop(L(3), Access::Rw));
  EXPECT_EQ(m.err(op_ioctl(L(d3), Req::LoopSetFd, L(d2))), EINVAL);
  EXPECT_EQ(m.err(op_ioctl(L(d3), Req::LoopSetFd, L(d3))),
            EBADF);  // self check precedes state check
  // Both autoclear; closing everything collapses the chain at once.
  m.ok(op_ioctl_noarg(L(d0), Req::LoopClrFd));
  m.ok(op_ioctl_noarg(L(d1), Req::LoopClrFd));
  m.ok(op_close(L(d0)));
  EXPECT_EQ(m.sysfs(0, SysAttr::Size), "2048");  // still held by loop1
  m.ok(op_close(L(d1)));
  EXPECT_EQ(m.sysfs(1, SysAttr::Size), "0");
  EXPECT_EQ(m.sysfs(0, SysAttr::Size), "0");
  (void)f0;
}

TEST(ModelLifecycle, CycleThroughChangeFdIsEbadf) {
  Sim m(kLinux618);
  uint64_t d0 = m.ok(op_open_loop(L(0), Access::Ro));
  uint64_t f = m.ok(op_open_file(0, Access::Ro));
  m.ok(op_ioctl(L(d0), Req::LoopSetFd, L(f)));
  uint64_t d1 = m.ok(op_open_loop(L(1), Access::Ro));
  m.ok(op_ioctl(L(d1), Req::LoopSetFd, L(d0)));
  EXPECT_EQ(m.err(op_ioctl(L(d0), Req::LoopChangeFd, L(d1))), EBADF);
  EXPECT_EQ(m.err(op_ioctl(L(d0), Req::LoopChangeFd, L(d0))), EBADF);
}

TEST(ModelLifecycle, ProfileLookup) {
  EXPECT_EQ(find_profile("linux-6.12"), &kLinux612);
  EXPECT_EQ(find_profile("linux-5.10"), nullptr);
  EXPECT_EQ(profile_for_release("6.1.0-56-cloud-amd64"), &kLinux61);
  EXPECT_EQ(profile_for_release("6.1.0-10-amd64"), nullptr);  // 6.1.38: before 6.1.70
  EXPECT_EQ(profile_for_release("6.12.117+deb12-cloud-amd64"), &kLinux612);
  EXPECT_EQ(profile_for_release("6.12.20"), nullptr);
  EXPECT_EQ(profile_for_release("6.18.44-fc-v669"), &kLinux618);
  EXPECT_EQ(profile_for_release("garbage"), nullptr);
}

// The 6.1 series has two variants; the boundary is 6.1.192 (Debian 6.1.0-55), where
// 7e49538288e5 arrived. 6.1.191 was never run: no variant, and a message saying so.
TEST(ModelLifecycle, ProfileForReleaseAtThe61PointReleaseBoundary) {
  EXPECT_EQ(profile_for_release("6.1.0-47-cloud-amd64"), &kLinux61Before192);
  EXPECT_EQ(profile_for_release("6.1.0-47"), &kLinux61Before192);
  EXPECT_EQ(profile_for_release("6.1.0-54"), &kLinux61Before192);  // 6.1.190-1
  EXPECT_EQ(profile_for_release("6.1.0-55"), &kLinux61);           // 6.1.192-1
  EXPECT_EQ(profile_for_release("6.1.0-57-cloud-amd64"), &kLinux61);
  EXPECT_EQ(profile_for_release("6.1.0-18-amd64"), &kLinux61Before192);  // 6.1.76
  EXPECT_EQ(profile_for_release("6.1.0-17-amd64"), nullptr);
  EXPECT_EQ(profile_for_release("6.1.190"), &kLinux61Before192);
  EXPECT_EQ(profile_for_release("6.1.190-1"), &kLinux61Before192);  // Debian package version
  EXPECT_EQ(profile_for_release("6.1.191"), nullptr);
  EXPECT_EQ(profile_for_release("6.1.192"), &kLinux61);
  EXPECT_EQ(profile_for_release("6.1.192-2"), &kLinux61);
  EXPECT_EQ(profile_for_release("6.1.70"), &kLinux61Before192);
  EXPECT_EQ(profile_for_release("6.1.69"), nullptr);
  EXPECT_NE(no_profile_reason("6.1.191").find("never run"), std::string::npos);
  EXPECT_EQ(no_profile_reason("6.1.190").find("never run"), std::string::npos);
}

using testing_support::field_count;

// `loopcheck profiles` lists profile_switches(): a switch added to Profile but not
// there would be missing from the listing. 4 = name, series, since/until_patch.
TEST(ModelLifecycle, ProfileSwitchesListEverySwitch) {
  EXPECT_EQ(field_count<Profile>(), 4 + profile_switches().size());
  const auto& all = profile_switches();
  auto exclusive = std::find_if(all.begin(), all.end(), [](const SwitchInfo& s) {
    return s.name == "block_size_exclusive_check";
  });
  ASSERT_NE(exclusive, all.end());
  const std::vector<PointReleaseChange> changes = point_release_changes(*exclusive);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].release, "6.1.192");
  EXPECT_EQ(changes[0].before, &kLinux61Before192);
  for (const SwitchInfo& s : all) {
    if (s.name != exclusive->name) {
      EXPECT_TRUE(point_release_changes(s).empty()) << s.name;
    }
  }
}

TEST(ModelLifecycle, SeriesNamesAndPins) {
  EXPECT_EQ(find_profile("linux-6.1"), &kLinux61);  // a series: its newest variant
  EXPECT_EQ(find_profile("linux-6.1.70"), &kLinux61Before192);
  EXPECT_EQ(find_profile("linux-6.1.192"), &kLinux61);
  EXPECT_EQ(find_profile("linux-6.1.191"), nullptr);
  EXPECT_TRUE(pin_admits("linux-6.1", kLinux61Before192));
  EXPECT_TRUE(pin_admits("linux-6.1", kLinux61));
  EXPECT_TRUE(pin_admits("linux-6.1.192", kLinux61));
  EXPECT_FALSE(pin_admits("linux-6.1.192", kLinux61Before192));
  EXPECT_FALSE(pin_admits("linux-6.1.70", kLinux61));
  EXPECT_FALSE(pin_admits("linux-6.1", kLinux612));
  EXPECT_EQ(point_release(kLinux61), "6.1.192");
  EXPECT_EQ(point_release(kLinux612), "");
}

}  // namespace
}  // namespace loopcheck::model
