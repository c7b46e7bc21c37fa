// The model's partition rules (model/partitions.cpp): what a scan finds in a
// declared table and what it cannot tell, the scans' triggers, BLKRRPART's
// checks in order, and partition fds. The kernels' word on them is in
// corpus/conformance/common/partitions_*.trace.
#include <gtest/gtest.h>

#include <cerrno>

#include "model/profile.h"
#include "tests/model/model_sim.h"

namespace loopcheck::model {
namespace {

ObjectDecl table_file(std::initializer_list<PartitionEntry> entries, uint64_t size = 8 << 20) {
  ObjectDecl d = file_object("img", size);
  for (const PartitionEntry& e : entries) d.mbr.entry[d.mbr.count++] = e;
  return d;
}

struct Sim : ModelSim {
  explicit Sim(ObjectDecl img, Env e = Env{}) : ModelSim(kLinux618, {img}, e) {}
  uint64_t dev = 0, file = 0;
  // A bound loop0 over `img`, with the flags and offset given.
  void bind(uint32_t flags, uint64_t offset = 0, uint64_t block_size = 0) {
    dev = static_cast<uint64_t>(ok(op_open_loop(L(0), Access::Rw)));
    file = static_cast<uint64_t>(ok(op_open_file(0, Access::Rw)));
    StructFields f;
    f.set(Field::Fd, L(file));
    f.set(Field::Flags, L(flags));
    f.set(Field::Offset, L(offset));
    f.set(Field::BlockSize, L(block_size));
    EXPECT_EQ(ok(op_ioctl_struct(L(dev), Req::LoopConfigure, f)), 0);
  }
  std::string part(uint8_t k, SysAttr a) {
    Outcome o = run(op_sysfs_partition(L(0), k, a));
    if (o.kind == Outcome::Kind::Error) return "E" + std::to_string(o.err);
    return std::string(o.text_view());
  }
};

TEST(ModelPartitions, APartscanBindFindsTheDeclaredSlots) {
  Sim m(table_file({{2048, 4096}, {0, 0}, {16000, 1000}}));
  m.bind(kLoPartscan);
  EXPECT_EQ(m.part(1, SysAttr::PartStart), "2048");
  EXPECT_EQ(m.part(1, SysAttr::Size), "4096");
  EXPECT_EQ(m.part(2, SysAttr::Size), "E2");   // an empty slot
  EXPECT_EQ(m.part(3, SysAttr::Size), "384");  // cut at the 16384-sector capacity
  EXPECT_EQ(m.part(3, SysAttr::PartPartition), "3");
}

TEST(ModelPartitions, NoPartscanNoParserOrAnotherOffsetFindNothing) {
  {
    Sim m(table_file({{2048, 4096}}));
    m.bind(0);
    EXPECT_EQ(m.part(1, SysAttr::Size), "E2");
  }
  {
    Env env;
    env.msdos_partitions = false;
    Sim m(table_file({{2048, 4096}}), env);
    m.bind(kLoPartscan);
    EXPECT_EQ(m.part(1, SysAttr::Size), "E2");
  }
  {
    Sim m(table_file({{2048, 4096}}));
    m.bind(kLoPartscan, /*offset=*/512);  // sector 0 of the device is the file's zeros
    EXPECT_EQ(m.part(1, SysAttr::Size), "E2");
  }
}

TEST(ModelPartitions, SlotsCountLogicalBlocks) {
  Sim m(table_file({{8, 100}}, 1 << 20));
  m.bind(kLoPartscan, 0, 4096);
  EXPECT_EQ(m.part(1, SysAttr::PartStart), "64");
  EXPECT_EQ(m.part(1, SysAttr::Size), "800");
}

TEST(ModelPartitions, ATableWrittenOverIsNoLongerPredicted) {
  Sim m(table_file({{2048, 4096}}));
  const uint64_t f = static_cast<uint64_t>(m.ok(op_open_file(0, Access::Rw)));
  EXPECT_EQ(m.ok(op_pwrite(L(f), 0, 16, 7)), 16);  // over the first bytes of the sector
  m.bind(kLoPartscan);
  const Outcome o = m.run(op_sysfs_partition(L(0), 1, SysAttr::Size));
  EXPECT_TRUE(o.any);  // the table's bytes are no longer the declared ones
  EXPECT_EQ(o.data_rule, EnvelopeRule::PartitionFd);
}

TEST(ModelPartitions, BlkrrpartChecksInTheKernelsOrder) {
  Env no_cap;
  no_cap.cap_sys_admin = false;
  Sim m(table_file({{2048, 4096}}));
  m.bind(0);
  EXPECT_EQ(m.err(op_ioctl_noarg(L(m.dev), Req::BlkRrPart)), EINVAL);  // scanning is off
  StructFields on;
  on.set(Field::Flags, L(kLoPartscan));
  EXPECT_EQ(m.ok(op_ioctl_struct(L(m.dev), Req::LoopSetStatus64, on)), 0);
  EXPECT_EQ(m.part(1, SysAttr::Size), "4096");  // turning PARTSCAN on scans
  const uint64_t p = static_cast<uint64_t>(m.ok(op_open_partition(L(0), 1, Access::Ro)));
  EXPECT_EQ(m.err(op_ioctl_noarg(L(p), Req::BlkRrPart)), EINVAL);     // on a partition
  EXPECT_EQ(m.err(op_ioctl_noarg(L(m.dev), Req::BlkRrPart)), EBUSY);  // a partition is open
  EXPECT_EQ(m.ok(op_close(L(p))), 0);
  const uint64_t e = static_cast<uint64_t>(m.ok(op_open_loop(L(0), Access::Ro, kOpenExcl)));
  EXPECT_EQ(m.err(op_ioctl_noarg(L(m.dev), Req::BlkRrPart)), EBUSY);  // another's claim
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(e), Req::BlkRrPart)), 0);           // the holder's own
  Sim n(table_file({{2048, 4096}}), no_cap);
  n.bind(kLoPartscan);
  EXPECT_EQ(n.err(op_ioctl_noarg(L(n.dev), Req::BlkRrPart)), EACCES);
}

TEST(ModelPartitions, APartitionHoldsTheDiskUntilItCloses) {
  Sim m(table_file({{2048, 4096}}));
  m.bind(kLoPartscan);
  const uint64_t p = static_cast<uint64_t>(m.ok(op_open_partition(L(0), 1, Access::Rw)));
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(p), Req::BlkGetSize64)), 4096 * 512);
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(m.dev), Req::LoopClrFd)), 0);
  EXPECT_EQ(m.ok(op_close(L(m.dev))), 0);
  EXPECT_EQ(m.part(1, SysAttr::Size), "4096");  // still bound: the partition holds it
  EXPECT_EQ(m.ok(op_close(L(p))), 0);
  EXPECT_EQ(m.part(1, SysAttr::Size), "E2");  // the detach at the last close dropped it
  EXPECT_EQ(m.err(op_open_partition(L(0), 1, Access::Rw)), ENOENT);
}

TEST(ModelPartitions, PartitionIoIsAnEnvelopeAndUnsettlesTheBytesUnderIt) {
  Sim m(table_file({{8, 8}}));
  m.bind(kLoPartscan);
  const uint64_t p = static_cast<uint64_t>(m.ok(op_open_partition(L(0), 1, Access::Rw)));
  const Outcome w = m.run(op_pwrite(L(p), 0, 512, 3));
  EXPECT_TRUE(w.any);
  // The disk's bytes at the partition's start are no longer predicted.
  const Outcome r = m.run(op_pread(L(m.dev), 8 * 512, 512));
  EXPECT_EQ(r.kind, Outcome::Kind::Data);
  EXPECT_FALSE(r.data_known);
}

}  // namespace
}  // namespace loopcheck::model
