// Partitions in the language: MBR tables on files, `open loop N part K`,
// `sysfs N part K ATTR`, BLKRRPART and @env msdos_partitions — how they parse,
// print back, and which shapes are refused (with the position and the fix).
#include <gtest/gtest.h>

#include <string>

#include "trace/ops.h"
#include "trace/parse.h"
#include "trace/partition_table.h"
#include "trace/print.h"
#include "trace/validate.h"

namespace loopcheck {
namespace {

ParseResult parse(const std::string& body) {
  return parse_trace("@trace 1\n" + body, "t.trace");
}

std::string first_error(const std::string& body) {
  ParseResult r = parse(body);
  return r.errors.empty() ? std::string("<no error>") : r.errors[0].format();
}

constexpr const char* kTrace =
    "@trace 1\n"
    "@env msdos_partitions=1\n"
    "\n"
    "file img size=8M mbr=2048+4096,0+0,8192+4096\n"
    "\n"
    "ctl = open loop-control rw\n"
    "n = ioctl ctl LOOP_CTL_GET_FREE\n"
    "d = open loop n rw\n"
    "p = open loop n part 3 ro excl\n"
    "sysfs n part 3 start => \"8192\"\n"
    "sysfs n part 1 size\n"
    "sysfs n part 2 ro\n"
    "sysfs n part 4 partition\n"
    "ioctl d BLKRRPART => EBUSY\n";

TEST(PartitionSyntax, EveryFormParsesAndPrintsBackTheSame) {
  ParseResult r = parse_trace(kTrace, "t.trace");
  ASSERT_TRUE(r.ok()) << r.errors[0].format();
  const Trace& t = r.trace;
  EXPECT_TRUE(t.env.msdos_partitions);
  ASSERT_EQ(t.objects.size(), 1u);
  EXPECT_EQ(t.objects[0].mbr.count, 3);
  EXPECT_EQ(t.objects[0].mbr.entry[0], (PartitionEntry{2048, 4096}));
  EXPECT_EQ(t.objects[0].mbr.entry[1], (PartitionEntry{0, 0}));
  EXPECT_EQ(t.stmts[3].op, op_open_partition(Value::variable(1), 3, Access::Ro, kOpenExcl));
  EXPECT_EQ(t.stmts[4].op, op_sysfs_partition(Value::variable(1), 3, SysAttr::PartStart));
  EXPECT_EQ(t.stmts[8].op.req, Req::BlkRrPart);
  EXPECT_EQ(print_trace(t), kTrace);
}

TEST(PartitionSyntax, AnEnvWithoutAParserIsWrittenAndRead) {
  ParseResult r = parse("@env msdos_partitions=0\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.trace.env.msdos_partitions);
  EXPECT_EQ(first_error("@env msdos_partitions=2\n"),
            "t.trace:2:23: 2 is out of range for a boolean (0 or 1)");
}

TEST(PartitionSyntax, ShapesThatNameNoPartitionAreRefused) {
  EXPECT_EQ(first_error("ctl = open loop-control rw\nd = open loop 0 part 5 rw\n"),
            "t.trace:3:22: 5 is out of range for a partition number (1..4)");
  EXPECT_EQ(first_error("sysfs 0 part 0 size\n"),
            "t.trace:2:14: partitions are numbered from 1 (`part 0` is the whole disk: leave "
            "`part` out)");
  EXPECT_NE(first_error("sysfs 0 part 1 loop/offset\n")
                .find("'loop/offset' is not an attribute "
                      "of a partition"),
            std::string::npos);
  EXPECT_NE(first_error("sysfs 0 start\n").find("'start' is not an attribute of a whole disk"),
            std::string::npos);
  EXPECT_NE(first_error("file img size=8M mbr=1+2,3+4,5+6,7+8,9+10\n").find("4 entries at most"),
            std::string::npos);
  EXPECT_NE(first_error("file img size=100 mbr=1+2\n").find("needs size=512 at least"),
            std::string::npos);
  EXPECT_NE(first_error("file img size=8M mbr=1\n").find("'+' (START+SIZE)"), std::string::npos);
}

TEST(PartitionSyntax, TheValidatorKeepsPartitionsToOpenAndSysfs) {
  Trace t = parse("ctl = open loop-control rw\n").trace;
  Statement s;
  s.op = op_close(Value::literal(3));
  s.op.part = 1;
  t.stmts.push_back(s);
  const auto problems = validate(t);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].message.find("only open and sysfs name a partition"), std::string::npos);
}

TEST(PartitionTable, TheSectorHoldsEachSlotAndTheSignature) {
  PartitionTable table;
  table.count = 3;
  table.entry[0] = {2048, 0x01020304};
  table.entry[2] = {0xa0b0c0d0, 1};
  const auto b = mbr_sector(table);
  EXPECT_EQ(b[510], 0x55);
  EXPECT_EQ(b[511], 0xaa);
  EXPECT_EQ(b[446], 0);  // boot flag
  EXPECT_EQ(b[446 + 4], 0x83);
  EXPECT_EQ(b[446 + 8], 0x00);  // 2048 little-endian
  EXPECT_EQ(b[446 + 9], 0x08);
  EXPECT_EQ(b[446 + 12], 0x04);
  EXPECT_EQ(b[446 + 15], 0x01);
  for (int i = 462; i < 478; ++i) EXPECT_EQ(b[static_cast<size_t>(i)], 0) << i;  // empty slot 2
  EXPECT_EQ(b[478 + 4], 0x83);
  EXPECT_EQ(b[478 + 11], 0xa0);
  EXPECT_EQ(format_partition_table(table), "2048+16909060,0+0,2695938256+1");
}

}  // namespace
}  // namespace loopcheck
