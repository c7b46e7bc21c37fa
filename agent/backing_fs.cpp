// Kept apart from the rest of the agent: <linux/stat.h> (which has the statx
// dio fields glibc 2.36 lacks) cannot share a translation unit with <sys/stat.h>.
#include "agent/backing_fs.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/stat.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace loopcheck::vm::agent {

uint32_t dio_offset_align(const std::string& path) {
  struct statx stx {};
  if (syscall(SYS_statx, AT_FDCWD, path.c_str(), 0, STATX_DIOALIGN, &stx) != 0) return 0;
  return (stx.stx_mask & STATX_DIOALIGN) ? stx.stx_dio_offset_align : 0;
}

uint32_t logical_block_size(const std::string& device) {
  int fd = open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int size = 0;
  int rc = ioctl(fd, BLKSSZGET, &size);
  close(fd);
  return rc == 0 && size > 0 ? static_cast<uint32_t>(size) : 0;
}

}  // namespace loopcheck::vm::agent
