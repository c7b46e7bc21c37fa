// The in-process driver's MBR parser against the kernel's rules (msdos.c,
// blk_add_partition), on sectors built byte by byte.
#include <gtest/gtest.h>

#include <array>

#include "inproc/partition_scan.h"
#include "trace/partition_table.h"

namespace loopcheck::inproc {
namespace {

std::array<uint8_t, 512> sector(const PartitionTable& table) {
  return mbr_sector(table);
}

PartitionTable table_of(std::initializer_list<PartitionEntry> entries) {
  PartitionTable t;
  for (const PartitionEntry& e : entries) t.entry[t.count++] = e;
  return t;
}

TEST(MbrParse, SlotsAreNumberedByPositionAndEmptyOnesSkipped) {
  const auto slots = parse_mbr(sector(table_of({{2048, 4096}, {0, 0}, {8192, 100}})), 16384, 512);
  EXPECT_TRUE(slots[0].present);
  EXPECT_EQ(slots[0].start_sectors, 2048u);
  EXPECT_EQ(slots[0].size_sectors, 4096u);
  EXPECT_FALSE(slots[1].present);
  EXPECT_TRUE(slots[2].present);
  EXPECT_FALSE(slots[3].present);
}

TEST(MbrParse, EntriesCountLogicalBlocks) {
  const auto slots = parse_mbr(sector(table_of({{8, 100}})), 2048, 4096);
  EXPECT_EQ(slots[0].start_sectors, 64u);
  EXPECT_EQ(slots[0].size_sectors, 800u);
}

TEST(MbrParse, PastTheCapacityIsSkippedAndAcrossItCut) {
  const auto slots = parse_mbr(sector(table_of({{1900, 200}, {2048, 1}, {0, 5000}})), 2048, 512);
  EXPECT_EQ(slots[0].size_sectors, 148u);
  EXPECT_FALSE(slots[1].present);
  EXPECT_EQ(slots[2].size_sectors, 2048u);
}

TEST(MbrParse, NoSignatureABadBootFlagOrAProtectiveEntryIsNoTable) {
  auto s = sector(table_of({{2048, 4096}}));
  s[511] = 0;
  EXPECT_FALSE(parse_mbr(s, 16384, 512)[0].present);
  s = sector(table_of({{2048, 4096}}));
  s[446 + 16] = 0x01;  // slot 2's boot flag: not 0 or 0x80
  EXPECT_FALSE(parse_mbr(s, 16384, 512)[0].present);
  s = sector(table_of({{2048, 4096}}));
  s[446] = 0x80;  // a bootable slot is fine
  EXPECT_TRUE(parse_mbr(s, 16384, 512)[0].present);
  s[446 + 4] = 0xee;  // GPT's protective entry: msdos leaves the disk alone
  EXPECT_FALSE(parse_mbr(s, 16384, 512)[0].present);
}

}  // namespace
}  // namespace loopcheck::inproc
