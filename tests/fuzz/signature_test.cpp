// Finding signatures tell bugs apart (profile, operation, errno names, byte counts,
// data shape, the status field and sysfs texts) and hold no machine numbers.
#include "fuzz/signature.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

namespace loopcheck::fuzz {
namespace {

Op op_of(OpKind kind) {
  Op op;
  op.kind = kind;
  return op;
}

Outcome data(int64_t count, DataSegment::Kind kind) {
  Outcome o;
  o.kind = Outcome::Kind::Data;
  o.value = count;
  o.data.count = 1;
  o.data.seg[0].kind = kind;
  o.data.seg[0].fill = 0xcd;
  o.data.seg[0].length = static_cast<uint64_t>(count);
  return o;
}

Outcome read_by_target(int64_t count) {
  Outcome o;
  o.kind = Outcome::Kind::Data;
  o.value = count;
  return o;
}

TEST(Signature, NamesTheProfileTheOperationAndErrnos) {
  EXPECT_EQ(divergence_signature("linux-6.1.192", op_of(OpKind::Pwrite), Outcome::error(EIO),
                                 Outcome::error(ENOSPC), {}),
            "linux-6.1.192 pwrite: model EIO, target ENOSPC");
  EXPECT_NE(divergence_signature("linux-6.12", op_of(OpKind::Pwrite), Outcome::error(EIO),
                                 Outcome::ok(512), {}),
            divergence_signature("linux-6.18", op_of(OpKind::Pwrite), Outcome::error(EIO),
                                 Outcome::ok(512), {}));
}

TEST(Signature, ReadsCarryTheirCountAndTheShapeOfTheirBytes) {
  std::vector<uint8_t> zeros(4096, 0), fill(4096, 0xcd);
  const Outcome model = data(4096, DataSegment::Kind::Fill);
  EXPECT_EQ(divergence_signature("linux-6.18", op_of(OpKind::Pread), model, read_by_target(2048),
                                 std::span(zeros).first(2048)),
            "linux-6.18 pread: model data 4096 (fill), target data 2048 (zero)");
  // Same count: the offset of the first differing byte tells two such bugs apart.
  std::vector<uint8_t> half = fill;
  std::fill(half.begin() + 1024, half.end(), 0);
  EXPECT_EQ(
      divergence_signature("linux-6.18", op_of(OpKind::Pread), model, read_by_target(4096), half),
      "linux-6.18 pread: model data 4096 (fill), target data 4096 (fill+zero), bytes "
      "differ from offset 1024");
  // A real target keeps only the digest.
  EXPECT_EQ(
      divergence_signature("linux-6.18", op_of(OpKind::Pread), model, read_by_target(4096), {}),
      "linux-6.18 pread: model data 4096 (fill), target data 4096 (digest)");
}

TEST(Signature, StatusNamesTheFieldThatDiffersWithBothValues) {
  Op op = op_of(OpKind::Ioctl);
  op.req = Req::LoopGetStatus64;
  Outcome m, t;
  m.kind = t.kind = Outcome::Kind::Status;
  m.status.flags = 0x10;
  t.status.flags = 0x14;
  m.status.inode = 1;
  t.status.inode = 777;  // a machine's number never shows
  EXPECT_EQ(divergence_signature("linux-6.12", op, m, t, {}),
            "linux-6.12 LOOP_GET_STATUS64: status flags: model 0x10, target 0x14");
}

TEST(Signature, SysfsShowsBothTextsWithoutDeviceNumbers) {
  Op op = op_of(OpKind::Sysfs);
  op.attr = SysAttr::Size;
  Outcome m, t;
  m.kind = t.kind = Outcome::Kind::Text;
  m.set_text("128");
  t.set_text("0");
  EXPECT_EQ(divergence_signature("linux-6.1.192", op, m, t, {}),
            "linux-6.1.192 sysfs size: model \"128\", target \"0\"");
  op.attr = SysAttr::LoopBackingFile;
  m.set_text("/dev/loop3");
  t.set_text("img");
  EXPECT_EQ(divergence_signature("linux-6.1.192", op, m, t, {}),
            "linux-6.1.192 sysfs loop/backing_file: model \"/dev/loop#\", target \"img\"");
}

TEST(Signature, ShapeMergesRepeatedRunKinds) {
  EXPECT_EQ(data_shape({}), "empty");
  std::vector<uint8_t> bytes(1024, 0);
  EXPECT_EQ(data_shape(bytes), "zero");
  for (size_t i = 512; i < 600; ++i) bytes[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(data_shape(bytes), "zero+bytes+zero");
}

}  // namespace
}  // namespace loopcheck::fuzz
