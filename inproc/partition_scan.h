// The driver's partition parser: what block/partitions/msdos.c and
// blk_add_partitions make of a disk's first sector (written from the kernel's
// rules, independently of the model's model/partitions.cpp, which knows tables
// only from their declarations).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace loopcheck::inproc {

inline constexpr int kMaxPartitions = 4;  // the MBR's primary slots

struct PartitionSlot {
  bool present = false;
  uint64_t start_sectors = 0;  // 512-byte sectors, as sysfs shows them
  uint64_t size_sectors = 0;
};
using PartitionSlots = std::array<PartitionSlot, kMaxPartitions>;

// The partitions an MBR sector gives a disk of `capacity_sectors` whose logical
// block is `logical_block_bytes`: none without the 0x55 0xAA signature, when a
// boot flag is neither 0 nor 0x80 (not a table) or a slot is GPT's protective
// 0xEE entry (left to a parser this driver does not have); empty slots (size 0)
// are skipped; START and SIZE count logical blocks; a partition starting at or
// past the capacity is skipped, one reaching past it cut there. Extended
// partitions (0x05, 0x0f, 0x85) are not followed: the slot is left out.
// `*recognised` (if given): msdos_partition took the sector as a table (it
// returned 1), which blk_add_partitions announces with a `change` uevent even
// when no slot makes a partition. A FAT boot sector (which it also takes) is
// not told apart from a sector that is no table.
PartitionSlots parse_mbr(std::span<const uint8_t, 512> sector, uint64_t capacity_sectors,
                         uint32_t logical_block_bytes, bool* recognised = nullptr);

}  // namespace loopcheck::inproc
