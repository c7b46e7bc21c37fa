#include "inproc/partition_scan.h"

namespace loopcheck::inproc {
namespace {

constexpr size_t kEntriesAt = 446;
constexpr size_t kEntryBytes = 16;

uint32_t le32(std::span<const uint8_t, 512> b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 | uint32_t{b[at + 2]} << 16 |
         uint32_t{b[at + 3]} << 24;
}

bool extended(uint8_t type) {
  return type == 0x05 || type == 0x0f || type == 0x85;
}

}  // namespace

PartitionSlots parse_mbr(std::span<const uint8_t, 512> sector, uint64_t capacity_sectors,
                         uint32_t logical_block_bytes, bool* recognised) {
  PartitionSlots slots{};
  bool unused = false;
  bool& table = recognised ? *recognised : unused;
  table = false;
  if (sector[510] != 0x55 || sector[511] != 0xaa) return slots;
  for (int k = 0; k < kMaxPartitions; ++k) {
    const uint8_t boot = sector[kEntriesAt + kEntryBytes * k];
    if (boot != 0 && boot != 0x80) return slots;
    if (sector[kEntriesAt + kEntryBytes * k + 4] == 0xee) return slots;
  }
  table = true;
  const uint64_t units = logical_block_bytes / 512;
  for (int k = 0; k < kMaxPartitions; ++k) {
    const size_t at = kEntriesAt + kEntryBytes * k;
    const uint64_t start = uint64_t{le32(sector, at + 8)} * units;
    const uint64_t size = uint64_t{le32(sector, at + 12)} * units;
    if (size == 0 || extended(sector[at + 4]) || start >= capacity_sectors) continue;
    slots[k] = PartitionSlot{true, start,
                             size < capacity_sectors - start ? size : capacity_sectors - start};
  }
  return slots;
}

}  // namespace loopcheck::inproc
