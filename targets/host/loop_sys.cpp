#include "targets/host/loop_sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace loopcheck::host {
namespace {

std::string indexed_path(const char* prefix, uint64_t index, const char* suffix = "") {
  char buf[96];
  int n = std::snprintf(buf, sizeof buf, "%s%llu%s", prefix, static_cast<unsigned long long>(index),
                        suffix);
  assert(n > 0 && static_cast<size_t>(n) < sizeof buf);
  return std::string(buf, static_cast<size_t>(n));
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string_view strip_newline(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string loop_node_path(uint64_t index) {
  return indexed_path("/dev/loop", index);
}
std::string loop_sysfs_path(uint64_t index) {
  return indexed_path("/sys/block/loop", index);
}
std::string partition_node_path(uint64_t index, uint8_t part) {
  return loop_node_path(index) + "p" + std::to_string(part);
}
std::string partition_sysfs_path(uint64_t index, uint8_t part) {
  return loop_sysfs_path(index) + indexed_path("/loop", index) + "p" + std::to_string(part);
}

namespace {
std::optional<bool> find_msdos_partition_symbol() {
  FILE* f = std::fopen("/proc/kallsyms", "re");
  if (!f) return std::nullopt;
  char line[512];
  bool lines = false, found = false;
  while (!found && std::fgets(line, sizeof line, f)) {
    lines = true;
    std::string_view l(line);
    if (!l.empty() && l.back() == '\n') l.remove_suffix(1);
    const size_t space = l.rfind(' ');
    found = space != std::string_view::npos && l.substr(space + 1) == "msdos_partition";
  }
  std::fclose(f);
  if (!lines) return std::nullopt;
  return found;
}
}  // namespace

std::optional<bool> kernel_reads_msdos_partitions() {
  static const std::optional<bool> answer = find_msdos_partition_symbol();
  return answer;
}

int read_small_file(const std::string& path, std::string* out, size_t max_bytes) {
  out->clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[4096];
  int err = 0;
  while (out->size() < max_bytes) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (out->size() > max_bytes) out->resize(max_bytes);
  return err;
}

bool loop_device_exists(uint64_t index) {
  return path_exists(loop_sysfs_path(index));
}

bool loop_device_bound(uint64_t index) {
  return path_exists(indexed_path("/sys/block/loop", index, "/loop"));
}

std::optional<dev_t> loop_device_number(uint64_t index) {
  std::string text;
  if (read_small_file(indexed_path("/sys/block/loop", index, "/dev"), &text, 64) != 0)
    return std::nullopt;
  std::string_view s = strip_newline(text);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  unsigned maj = 0, min = 0;
  auto r1 = std::from_chars(s.data(), s.data() + colon, maj);
  auto r2 = std::from_chars(s.data() + colon + 1, s.data() + s.size(), min);
  if (r1.ec != std::errc() || r2.ec != std::errc() || r2.ptr != s.data() + s.size())
    return std::nullopt;
  return makedev(maj, min);
}

std::string loop_backing_file(uint64_t index) {
  std::string text;
  if (read_small_file(indexed_path("/sys/block/loop", index, "/loop/backing_file"), &text, 8192) !=
      0)
    return {};
  return std::string(strip_newline(text));
}

bool loop_has_no_holders(uint64_t index) {
  std::string path = indexed_path("/sys/block/loop", index, "/holders");
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return errno == ENOENT;  // no device, so nothing holds it
  bool empty = true;
  while (struct dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(dir);
  return empty;
}

namespace {

// The block device number of loop device `index` by the driver's numbering:
// major 7, minor index << part_shift (part_shift = fls(max_part), 0 without
// partitions). nullopt when the module's max_part cannot be read or the minor
// would not fit in 20 bits.
std::optional<dev_t> loop_number_by_index(uint64_t index) {
  std::string text;
  if (read_small_file("/sys/module/loop/parameters/max_part", &text, 64) != 0) return std::nullopt;
  unsigned max_part = 0;
  std::string_view s = strip_newline(text);
  if (std::from_chars(s.data(), s.data() + s.size(), max_part).ec != std::errc())
    return std::nullopt;
  const unsigned part_shift =
      max_part == 0 ? 0 : 32 - static_cast<unsigned>(__builtin_clz(max_part));
  if ((index << part_shift) >= (1u << 20)) return std::nullopt;
  return makedev(7, static_cast<unsigned>(index << part_shift));
}

}  // namespace

int open_loop_node(uint64_t index, int flags, std::string_view node_dir, MissingDevice missing) {
  std::string path = loop_node_path(index);
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd >= 0) return fd;
  int err = errno;
  if (err != ENOENT || node_dir.empty()) return -err;
  // The node is missing; open a private node only for a device that exists, so
  // that opening never autoloads (creates) a device as a side effect.
  std::optional<dev_t> dev = loop_device_number(index);
  if (!dev && missing == MissingDevice::Autoload) dev = loop_number_by_index(index);
  if (!dev) return -ENOENT;
  std::string private_path = std::string(node_dir) + indexed_path("/loop", index);
  if (::mknod(private_path.c_str(), S_IFBLK | 0600, *dev) != 0 && errno != EEXIST) return -errno;
  struct stat st;
  if (::stat(private_path.c_str(), &st) != 0) return -errno;
  if (!S_ISBLK(st.st_mode) || st.st_rdev != *dev)
    return -ENOENT;  // a stale node from an older device
  fd = ::open(private_path.c_str(), flags | O_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

bool block_device_open_elsewhere(dev_t rdev, std::span<const int> ignored_own_fds) {
  DIR* proc = ::opendir("/proc");
  if (!proc) return true;  // cannot tell: assume the worst
  const pid_t self = ::getpid();
  bool found = false;
  while (!found) {
    struct dirent* e = ::readdir(proc);
    if (!e) break;
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(e->d_name, e->d_name + std::strlen(e->d_name), pid);
    if (ec != std::errc() || *end != '\0') continue;
    std::string fd_dir = "/proc/" + std::string(e->d_name) + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (!fds) continue;  // the process exited meanwhile
    while (struct dirent* f = ::readdir(fds)) {
      int fd = -1;
      auto [fend, fec] = std::from_chars(f->d_name, f->d_name + std::strlen(f->d_name), fd);
      if (fec != std::errc() || *fend != '\0') continue;
      if (pid == self &&
          std::find(ignored_own_fds.begin(), ignored_own_fds.end(), fd) != ignored_own_fds.end()) {
        continue;
      }
      struct stat st;
      if (::fstatat(::dirfd(fds), f->d_name, &st, 0) == 0 && S_ISBLK(st.st_mode) &&
          st.st_rdev == rdev) {
        found = true;
        break;
      }
    }
    ::closedir(fds);
  }
  ::closedir(proc);
  return found;
}

bool fd_is_open(int fd) {
  return fd >= 0 && ::fcntl(fd, F_GETFD) != -1;
}

std::optional<bool> directory_disk_rotational(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::nullopt;
  if (major(st.st_dev) == 0) return false;  // no block device (tmpfs, overlay)
  const std::string base =
      "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::string text;
  if (read_small_file(base + "/queue/rotational", &text, 64) != 0 &&
      read_small_file(base + "/../queue/rotational", &text, 64) != 0)  // a partition
    return std::nullopt;
  return !text.empty() && text[0] == '1';
}

}  // namespace loopcheck::host
