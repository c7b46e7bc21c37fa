// The bytes of an MBR partition table (`file NAME mbr=START+SIZE,...`), which
// every target writes into a file it creates, and its text form. The model does
// not read these bytes: it knows the table from the declaration
// (model/partitions.cpp); targets write them so a real kernel's scan finds it.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "trace/trace.h"

namespace loopcheck {

inline constexpr uint64_t kMbrBytes = 512;
// Where msdos_partition() finds the entries and the 0x55 0xAA signature.
inline constexpr uint32_t kMbrEntriesAt = 446;
inline constexpr uint32_t kMbrEntryBytes = 16;
inline constexpr uint32_t kMbrSignatureAt = 510;
// The partition type written in every entry: Linux (0x83), which no kernel
// parser treats specially (not extended, not a BSD or Minix subtable).
inline constexpr uint8_t kMbrLinuxType = 0x83;

// The table's sector: zeros (no boot code, no disk signature: not a FAT boot
// sector either), then each slot's entry — boot indicator 0, type 0x83, CHS
// fields 0, START and SIZE little-endian; an empty slot (0+0) stays all zero —
// and the signature.
std::array<uint8_t, kMbrBytes> mbr_sector(const PartitionTable& table);

// "2048+4096,0+0,8192+2048".
std::string format_partition_table(const PartitionTable& table);

}  // namespace loopcheck
