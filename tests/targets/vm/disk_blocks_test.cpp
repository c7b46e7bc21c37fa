// The guest disk image's carrier format: what the host encodes, the agent decodes
// to the same blocks, and anything malformed is refused.
#include "targets/vm/disk_blocks.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace loopcheck::vm {
namespace {

std::string image_with(uint32_t block_bytes, uint64_t blocks,
                       const std::vector<std::pair<uint64_t, char>>& filled) {
  std::string image(block_bytes * blocks, '\0');
  for (const auto& [index, byte] : filled) image[index * block_bytes + 7] = byte;
  return image;
}

TEST(DiskBlocks, KeepsOnlyNonZeroBlocksAndDecodesThemBack) {
  const std::string image = image_with(4096, 64, {{0, 'a'}, {5, 'b'}, {63, 'c'}});
  const std::string file = encode_disk_blocks(image, 4096);
  EXPECT_LT(file.size(), 4 * 4096u) << "zero blocks are left out";
  std::optional<DiskBlocks> disk = decode_disk_blocks(file);
  ASSERT_TRUE(disk.has_value());
  EXPECT_EQ(disk->disk_bytes, image.size());
  EXPECT_EQ(disk->block_bytes, 4096u);
  ASSERT_EQ(disk->blocks.size(), 3u);
  std::string rebuilt(image.size(), '\0');
  for (const DiskBlock& b : disk->blocks) rebuilt.replace(b.index * 4096, 4096, b.bytes);
  EXPECT_EQ(rebuilt, image);
}

TEST(DiskBlocks, AnAllZeroDiskIsHeaderOnly) {
  std::optional<DiskBlocks> disk =
      decode_disk_blocks(encode_disk_blocks(std::string(8192, '\0'), 4096));
  ASSERT_TRUE(disk.has_value());
  EXPECT_TRUE(disk->blocks.empty());
  EXPECT_EQ(disk->disk_bytes, 8192u);
}

TEST(DiskBlocks, MalformedFilesAreRefused) {
  const std::string good = encode_disk_blocks(image_with(512, 8, {{1, 'x'}, {2, 'y'}}), 512);
  ASSERT_TRUE(decode_disk_blocks(good).has_value());
  EXPECT_FALSE(decode_disk_blocks("LCDISK02" + good.substr(8)).has_value()) << "magic";
  EXPECT_FALSE(decode_disk_blocks(good.substr(0, good.size() - 1)).has_value()) << "truncated";
  std::string past_end = good;
  past_end[20] = 9;  // the first block's index: block 9 of an 8-block disk
  EXPECT_FALSE(decode_disk_blocks(past_end).has_value());
  std::string out_of_order = good;
  out_of_order[20] = 3;  // 3 then 2
  EXPECT_FALSE(decode_disk_blocks(out_of_order).has_value());
  EXPECT_FALSE(decode_disk_blocks("").has_value());
}

// A sparse image file (what mkfs leaves) encodes as its contents do.
TEST(DiskBlocks, AnImageFileEncodesAsItsBytes) {
  const std::string image = image_with(4096, 256, {{0, 'a'}, {1, 'b'}, {200, 'c'}});
  char path[] = "/tmp/loopcheck-disk-blocks-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(image.size())), 0);
  ASSERT_EQ(pwrite(fd, image.data(), 2 * 4096, 0), 2 * 4096);
  ASSERT_EQ(pwrite(fd, image.data() + 200 * 4096, 4096, 200 * 4096), 4096);
  close(fd);
  std::string from_file, why;
  EXPECT_TRUE(encode_disk_image_file(path, 4096, &from_file, &why)) << why;
  unlink(path);
  EXPECT_EQ(from_file, encode_disk_blocks(image, 4096));
  EXPECT_FALSE(encode_disk_image_file("/nonexistent/disk.img", 4096, &from_file, &why));
  EXPECT_NE(why.find("/nonexistent/disk.img"), std::string::npos) << why;
}

}  // namespace
}  // namespace loopcheck::vm
