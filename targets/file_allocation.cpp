#include "targets/file_allocation.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace loopcheck {
namespace {

constexpr uint32_t kExtentsPerCall = 32;

// struct fiemap ends in a flexible array of extents: room for kExtentsPerCall.
struct alignas(fiemap) FiemapBuffer {
  unsigned char bytes[sizeof(fiemap) + kExtentsPerCall * sizeof(fiemap_extent)];
};

// Calls `fn` with every extent of `fd` from the start, in order; an errno, or 0.
// The first call syncs the file when `sync` is set (FIEMAP_FLAG_SYNC).
template <typename Fn>
int for_each_extent(int fd, bool sync, Fn fn) {
  uint64_t from = 0;
  for (int calls = 0; calls < 1 << 16; ++calls) {  // bounded: 2M extents at most
    FiemapBuffer buf;
    std::memset(&buf, 0, sizeof buf);
    auto* map = reinterpret_cast<fiemap*>(buf.bytes);
    map->fm_start = from;
    map->fm_length = FIEMAP_MAX_OFFSET - from;
    map->fm_flags = calls == 0 && sync ? FIEMAP_FLAG_SYNC : 0;
    map->fm_extent_count = kExtentsPerCall;
    if (::ioctl(fd, FS_IOC_FIEMAP, map) != 0) return errno;
    const uint32_t n = map->fm_mapped_extents;
    bool last = n == 0;
    for (uint32_t i = 0; i < n && i < kExtentsPerCall; ++i) {
      const fiemap_extent& e = map->fm_extents[i];
      fn(e);
      from = e.fe_logical + e.fe_length;
      if (e.fe_flags & FIEMAP_EXTENT_LAST) last = true;
    }
    if (last || n < kExtentsPerCall) return 0;
  }
  return 0;
}

}  // namespace

Outcome file_allocated_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Outcome::error(errno);
  uint64_t total = 0;
  const int err =
      for_each_extent(fd, /*sync=*/true, [&](const fiemap_extent& e) { total += e.fe_length; });
  ::close(fd);
  return err != 0 ? Outcome::error(err) : Outcome::ok(static_cast<int64_t>(total));
}

uint64_t last_extent_end(int fd) {
  uint64_t end = 0;
  const int err = for_each_extent(
      fd, /*sync=*/false, [&](const fiemap_extent& e) { end = e.fe_logical + e.fe_length; });
  return err != 0 ? 0 : end;
}

}  // namespace loopcheck
