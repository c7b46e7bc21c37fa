#include "trace/partition_table.h"

#include <fmt/format.h>

#include <cassert>

namespace loopcheck {
namespace {

void put_le32(std::array<uint8_t, kMbrBytes>& bytes, uint32_t at, uint32_t v) {
  for (uint32_t i = 0; i < 4; ++i) bytes[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

std::array<uint8_t, kMbrBytes> mbr_sector(const PartitionTable& table) {
  assert(table.count <= kMaxPartitions);
  std::array<uint8_t, kMbrBytes> bytes{};
  for (uint32_t slot = 0; slot < table.count; ++slot) {
    const PartitionEntry& e = table.entry[slot];
    if (e.start == 0 && e.size == 0) continue;
    const uint32_t at = kMbrEntriesAt + slot * kMbrEntryBytes;
    bytes[at + 4] = kMbrLinuxType;
    put_le32(bytes, at + 8, e.start);
    put_le32(bytes, at + 12, e.size);
  }
  bytes[kMbrSignatureAt] = 0x55;
  bytes[kMbrSignatureAt + 1] = 0xaa;
  return bytes;
}

std::string format_partition_table(const PartitionTable& table) {
  std::string out;
  for (uint8_t i = 0; i < table.count; ++i)
    out += fmt::format("{}{}+{}", i ? "," : "", table.entry[i].start, table.entry[i].size);
  return out;
}

}  // namespace loopcheck
