// The guest's backing filesystem image as the initramfs carries it: only its
// non-zero blocks. The host makes the ext4 image with mkfs (the guest has no
// mkfs); the agent writes those blocks onto the RAM disk (brd), whose other
// blocks read as zeros. A 128 MiB ext4 is a few hundred KiB this way, so the
// initramfs stays small and boot stays fast.
//
// Layout, little-endian: "LCDISK01", u64 disk bytes, u32 block bytes, then per
// block a u64 block index and the block's bytes, in increasing index order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loopcheck::vm {

inline constexpr uint32_t kDiskBlockBytes = 4096;

struct DiskBlock {
  uint64_t index = 0;
  std::string_view bytes;  // block_bytes long, pointing into the decoded file
};

struct DiskBlocks {
  uint64_t disk_bytes = 0;
  uint32_t block_bytes = 0;
  std::vector<DiskBlock> blocks;
};

// `image` is the whole disk; its size must be a multiple of `block_bytes`.
std::string encode_disk_blocks(std::string_view image, uint32_t block_bytes);

// The same from an image file, reading only its data extents. False with `why`.
bool encode_disk_image_file(const std::string& path, uint32_t block_bytes, std::string* out,
                            std::string* why);

// Nullopt for anything malformed: a bad magic, a block past the disk's end, an
// index out of order, a truncated block.
std::optional<DiskBlocks> decode_disk_blocks(std::string_view file);

}  // namespace loopcheck::vm
