// The uevent listener: which kernel messages it keeps and how it reads them, and,
// on this machine's kernel, the add and remove of a device the test makes.
#include "targets/host/uevent_listener.h"

#include <gtest/gtest.h>

#include <string>

#include "targets/host/loop_sys.h"
#include "targets/host/syscall_executor.h"
#include "tests/targets/host/host_test_support.h"
#include "trace/ops.h"

namespace loopcheck {
namespace {

using host::parse_loop_uevent;

// A kernel message: the header, then KEY=VALUE strings, each NUL-terminated.
std::string message(const std::string& header, std::initializer_list<std::string> keys) {
  std::string m = header + '\0';
  for (const std::string& k : keys) m += k + '\0';
  return m;
}

std::optional<Uevent> parse(const std::string& m) {
  return parse_loop_uevent({m.data(), m.size()});
}

TEST(UeventListenerNoKernel, KeepsLoopBlockEventsWithTheirDetail) {
  const auto resize = parse(message(
      "change@/devices/virtual/block/loop5",
      {"ACTION=change", "DEVPATH=/devices/virtual/block/loop5", "SUBSYSTEM=block", "RESIZE=1",
       "MAJOR=7", "MINOR=5", "DEVNAME=loop5", "DEVTYPE=disk", "DISKSEQ=9", "SEQNUM=4242"}));
  ASSERT_TRUE(resize);
  EXPECT_EQ(*resize, (Uevent{UeventAction::Change, UeventDetail::Resize, 0, 0, 5}));
  const auto part = parse(message(
      "remove@/devices/virtual/block/loop5/loop5p2",
      {"ACTION=remove", "SUBSYSTEM=block", "DEVNAME=loop5p2", "DEVTYPE=partition", "PARTN=2"}));
  ASSERT_TRUE(part);
  EXPECT_EQ(*part, (Uevent{UeventAction::Remove, UeventDetail::None, 2, 0, 5}));
  const auto media =
      parse(message("change@/devices/virtual/block/loop0",
                    {"ACTION=change", "SUBSYSTEM=block", "DISK_MEDIA_CHANGE=1", "DEVNAME=loop0"}));
  ASSERT_TRUE(media);
  EXPECT_EQ(media->detail, UeventDetail::MediaChange);
}

TEST(UeventListenerNoKernel, LeavesOutWhatTheLoopDriverDidNotSend) {
  EXPECT_FALSE(parse(message("add@/devices/virtual/bdi/7:5", {"ACTION=add", "SUBSYSTEM=bdi"})))
      << "the bdi device";
  EXPECT_FALSE(
      parse(message("change@/devices/virtual/block/loop5",
                    {"ACTION=change", "SUBSYSTEM=block", "DEVNAME=loop5", "SYNTH_UUID=0"})))
      << "a write to the uevent file (udev's watch)";
  EXPECT_FALSE(parse(message("add@/devices/pci0000:00/nvme0n1",
                             {"ACTION=add", "SUBSYSTEM=block", "DEVNAME=nvme0n1"})));
  EXPECT_FALSE(parse(message("bind@/devices/virtual/block/loop5",
                             {"ACTION=bind", "SUBSYSTEM=block", "DEVNAME=loop5"})));
  EXPECT_FALSE(parse(message("", {})));
  EXPECT_FALSE(parse(std::string("change@x\0ACTION=change\0SUBSYSTEM=block\0DEVNAME=loop", 47)))
      << "a message cut inside its last key";
}

// A listener that cannot be made says why; reading it claims nothing.
TEST(UeventListenerNoKernel, AnExecutorWithoutAListenerClaimsNothing) {
  host::SyscallExecutor ex({"/var/tmp/x", {}, ""});
  EXPECT_EQ(ex.uevent_listener_error(), "");
  EXPECT_TRUE(ex.read_uevents().lost);
  EXPECT_EQ(ex.execute(op_uevents()).kind, Outcome::Kind::Skipped);
}

TEST(UeventListenerTest, SeesTheAddAndRemoveOfADeviceItMade) {
  REQUIRE_HOST_LOOP();
  host::SyscallExecutorConfig config{"/var/tmp/x", {}, ""};
  config.listen_uevents = true;
  host::SyscallExecutor ex(config);
  ASSERT_EQ(ex.uevent_listener_error(), "");
  const uint64_t index = testing_support::free_high_index(5000);
  const Outcome ctl = ex.execute(op_open_loop_control());
  ASSERT_EQ(ctl.kind, Outcome::Kind::Value);
  const Value fd = Value::literal(static_cast<uint64_t>(ctl.value));
  ASSERT_EQ(ex.execute(op_ioctl(fd, Req::LoopCtlAdd, Value::literal(index))).kind,
            Outcome::Kind::Value);
  ASSERT_EQ(ex.execute(op_ioctl(fd, Req::LoopCtlRemove, Value::literal(index))).kind,
            Outcome::Kind::Value);
  ex.execute(op_close(fd));
  const Outcome o = ex.execute(op_uevents());
  ASSERT_EQ(o.kind, Outcome::Kind::Uevents);
  EXPECT_FALSE(o.uevents.lost);
  std::string ours;
  for (uint8_t i = 0; i < o.uevents.count; ++i)
    if (o.uevents.event[i].device == index) ours += format_uevent(o.uevents.event[i]) + ";";
  const std::string name = "loop" + std::to_string(index);
  EXPECT_EQ(ours, "add " + name + ";remove " + name + ";");
  EXPECT_EQ(ex.execute(op_uevents()).uevents.count, 0) << "a read takes them all";
}

}  // namespace
}  // namespace loopcheck
