#include "agent/ram_disk.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "agent/guest_modules.h"
#include "targets/vm/disk_blocks.h"

namespace loopcheck::vm::agent {
namespace {

constexpr const char* kBrdModule = "/brd.ko";
constexpr const char* kDiskBlocks = "/disk.blocks";

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool load_brd(uint64_t disk_bytes, std::string* why) {
  if (access(kBrdModule, F_OK) != 0) return true;  // built in
  return load_module(kBrdModule, "rd_nr=1 rd_size=" + std::to_string(disk_bytes / 1024), why);
}

bool write_blocks(const DiskBlocks& disk, std::string* why) {
  const int fd = open(kRamDiskDevice, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = errno_text(std::string("open ") + kRamDiskDevice);
    return false;
  }
  bool ok = true;
  for (const DiskBlock& b : disk.blocks) {
    const auto at = static_cast<off_t>(b.index * disk.block_bytes);
    if (pwrite(fd, b.bytes.data(), b.bytes.size(), at) != static_cast<ssize_t>(b.bytes.size())) {
      *why = errno_text(std::string("writing the filesystem onto ") + kRamDiskDevice +
                        " (is the RAM disk smaller than the image?)");
      ok = false;
      break;
    }
  }
  ok = ok && fsync(fd) == 0;
  close(fd);
  return ok;
}

}  // namespace

bool prepare_ram_disk(int device_wait_ms, std::string* why) {
  std::ifstream in(kDiskBlocks, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::optional<DiskBlocks> disk = decode_disk_blocks(file);
  if (!disk) {
    *why = std::string(kDiskBlocks) + " is missing or malformed: rebuild loopcheck and its agent";
    return false;
  }
  if (!load_brd(disk->disk_bytes, why)) return false;
  if (!wait_for_path(kRamDiskDevice, device_wait_ms)) {
    *why = std::string(kRamDiskDevice) +
           " did not appear: the kernel needs a RAM disk driver (CONFIG_BLK_DEV_RAM, built in or "
           "brd.ko in the --modules tree)";
    return false;
  }
  return write_blocks(*disk, why);
}

}  // namespace loopcheck::vm::agent
