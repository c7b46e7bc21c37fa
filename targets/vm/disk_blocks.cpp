#include "targets/vm/disk_blocks.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

namespace loopcheck::vm {
namespace {

constexpr std::string_view kMagic = "LCDISK01";
constexpr uint32_t kMaxBlockBytes = 1u << 20;

void put_le(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

bool take_le(std::string_view* in, int bytes, uint64_t* value) {
  if (in->size() < static_cast<size_t>(bytes)) return false;
  *value = 0;
  for (int i = 0; i < bytes; ++i)
    *value |= uint64_t{static_cast<uint8_t>((*in)[static_cast<size_t>(i)])} << (8 * i);
  in->remove_prefix(static_cast<size_t>(bytes));
  return true;
}

bool all_zero(std::string_view bytes) {
  static const char kZeros[kMaxBlockBytes] = {};
  return std::memcmp(bytes.data(), kZeros, bytes.size()) == 0;
}

void put_header(std::string* out, uint64_t disk_bytes, uint32_t block_bytes) {
  out->assign(kMagic);
  put_le(out, disk_bytes, 8);
  put_le(out, block_bytes, 4);
}

void put_block(std::string* out, uint64_t index, std::string_view block) {
  if (all_zero(block)) return;
  put_le(out, index, 8);
  out->append(block);
}

}  // namespace

std::string encode_disk_blocks(std::string_view image, uint32_t block_bytes) {
  assert(block_bytes > 0 && block_bytes <= kMaxBlockBytes && image.size() % block_bytes == 0);
  std::string out;
  put_header(&out, image.size(), block_bytes);
  for (uint64_t index = 0; index < image.size() / block_bytes; ++index)
    put_block(&out, index, image.substr(index * block_bytes, block_bytes));
  return out;
}

// Reads only the file's data extents (SEEK_DATA / SEEK_HOLE): mkfs leaves a
// 128 MiB image mostly holes, and reading them all took seconds.
bool encode_disk_image_file(const std::string& path, uint32_t block_bytes, std::string* out,
                            std::string* why) {
  assert(block_bytes > 0 && block_bytes <= kMaxBlockBytes);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
  if (size < 0 || size % block_bytes != 0) {
    *why = path + ": " + (fd < 0 || size < 0 ? std::strerror(errno) : "not whole blocks");
    if (fd >= 0) close(fd);
    return false;
  }
  put_header(out, static_cast<uint64_t>(size), block_bytes);
  std::string block(block_bytes, '\0');
  off_t data = lseek(fd, 0, SEEK_DATA);
  while (data >= 0 && data < size) {
    const off_t hole = lseek(fd, data, SEEK_HOLE);
    for (off_t at = data / block_bytes * block_bytes; at < hole; at += block_bytes) {
      if (pread(fd, block.data(), block_bytes, at) != static_cast<ssize_t>(block_bytes)) {
        *why = path + ": " + std::strerror(errno);
        close(fd);
        return false;
      }
      put_block(out, static_cast<uint64_t>(at) / block_bytes, block);
    }
    data = lseek(fd, hole, SEEK_DATA);
  }
  close(fd);
  return true;
}

std::optional<DiskBlocks> decode_disk_blocks(std::string_view file) {
  if (!file.starts_with(kMagic)) return std::nullopt;
  file.remove_prefix(kMagic.size());
  DiskBlocks disk;
  uint64_t block_bytes = 0;
  if (!take_le(&file, 8, &disk.disk_bytes) || !take_le(&file, 4, &block_bytes) ||
      block_bytes == 0 || block_bytes > kMaxBlockBytes || disk.disk_bytes % block_bytes != 0)
    return std::nullopt;
  disk.block_bytes = static_cast<uint32_t>(block_bytes);
  const uint64_t block_count = disk.disk_bytes / block_bytes;
  while (!file.empty()) {
    DiskBlock block;
    if (!take_le(&file, 8, &block.index) || block.index >= block_count ||
        (!disk.blocks.empty() && block.index <= disk.blocks.back().index) ||
        file.size() < block_bytes)
      return std::nullopt;
    block.bytes = file.substr(0, block_bytes);
    file.remove_prefix(block_bytes);
    disk.blocks.push_back(block);
  }
  return disk;
}

}  // namespace loopcheck::vm
