#include "inproc/kernel.h"

#include "inproc/partition_file.h"

#include <linux/falloc.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>

namespace loopcheck::inproc {

Kernel::Kernel(const DriverProfile& profile, const DriverConfig& config, const HostFsFacts& fs,
               HostWriteLog* write_log)
    : profile_(profile), fs_(fs), write_log_(write_log), control_(profile, config, uevents_) {
  // The listener comes after module init: the precreated devices' `add`s are
  // not its.
  (void)uevents_.read_all();
}

Kernel::~Kernel() {
  // Process exit: every fd is closed (running last-close releases) before the
  // driver goes away.
  std::vector<std::shared_ptr<OpenFile>> closing;
  {
    std::lock_guard lock(fd_mutex_);
    closing.swap(fds_);
  }
  for (auto it = closing.rbegin(); it != closing.rend(); ++it) it->reset();
}

int Kernel::install(std::shared_ptr<OpenFile> file) {
  std::lock_guard lock(fd_mutex_);
  if (fds_.size() < kFirstFd) fds_.resize(kFirstFd);
  for (size_t fd = kFirstFd; fd < fds_.size(); ++fd) {
    if (fds_[fd] == nullptr) {
      fds_[fd] = std::move(file);
      return static_cast<int>(fd);
    }
  }
  if (fds_.size() >= kMaxFds) return -EMFILE;
  fds_.push_back(std::move(file));
  return static_cast<int>(fds_.size() - 1);
}

std::shared_ptr<OpenFile> Kernel::fget(int fd) const {
  std::lock_guard lock(fd_mutex_);
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size()) return nullptr;
  return fds_[static_cast<size_t>(fd)];
}

int Kernel::open_fd_count() const {
  std::lock_guard lock(fd_mutex_);
  int n = 0;
  for (const auto& f : fds_) n += f != nullptr;
  return n;
}

int Kernel::open_loop_control(int flags) {
  return install(std::make_shared<LoopControlFile>(control_, flags));
}

int Kernel::open_loop(uint64_t index, int flags) {
  int err = 0;
  std::shared_ptr<LoopDevice> dev = control_.lookup_for_open(index, &err);
  if (dev == nullptr) return err;
  auto file = std::make_shared<LoopDeviceFile>(std::move(dev), flags);
  if (int e = file->open(); e != 0) return e;
  return install(std::move(file));
}

int Kernel::open_partition(uint64_t index, int part, int flags) {
  std::shared_ptr<LoopDevice> dev = control_.find(index);
  if (dev == nullptr) return -ENOENT;  // no disk, no /dev/loopNpK
  auto file = std::make_shared<PartitionFile>(std::move(dev), part, flags);
  if (int e = file->open(); e != 0) return e;
  return install(std::move(file));
}

int Kernel::open_host(const std::string& path, int flags, std::string display_name) {
  std::shared_ptr<OpenFile> file;
  FileChanges* changes = write_log_ != nullptr ? write_log_->changes_for(path) : nullptr;
  if (int err = HostFile::open(path, flags, std::move(display_name), fs_, changes, &file); err != 0)
    return err;
  return install(std::move(file));
}

int Kernel::close(int fd) {
  std::shared_ptr<OpenFile> file;
  {
    std::lock_guard lock(fd_mutex_);
    if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() ||
        fds_[static_cast<size_t>(fd)] == nullptr)
      return -EBADF;
    file = std::move(fds_[static_cast<size_t>(fd)]);
  }
  return 0;  // fput: the release runs here if this was the last reference
}

long Kernel::ioctl(int fd, unsigned long cmd, unsigned long arg) {
  std::shared_ptr<OpenFile> file = fget(fd);
  if (file == nullptr) return -EBADF;
  switch (file->kind()) {
    case FileKind::LoopControl:
      return static_cast<const LoopControlFile&>(*file).control().ioctl(cmd, arg);
    case FileKind::LoopDevice:
      return static_cast<const LoopDeviceFile&>(*file).device().ioctl(*file, *this, cmd, arg);
    case FileKind::Partition:
      return static_cast<const PartitionFile&>(*file).ioctl(*this, cmd, arg);
    case FileKind::Regular:
      return static_cast<const HostFile&>(*file).regular_file_ioctl(cmd, arg);
    case FileKind::Directory:
      return -ENOTTY;
  }
  return -ENOTTY;
}

// ksys_pread64/ksys_pwrite64 order: a negative position, then the fd, then
// FMODE_PREAD/PWRITE (ESPIPE for nonseekable files such as misc devices), then
// the access mode in vfs_read/vfs_write.
namespace {

// rw_verify_area(): a transfer whose end does not fit in loff_t is EINVAL, before
// the file's own read or write method sees it.
bool end_overflows(int64_t pos, uint64_t len) {
  return len > static_cast<uint64_t>(INT64_MAX - pos);
}

}  // namespace

int64_t Kernel::pread(int fd, void* buf, uint64_t len, int64_t pos) {
  if (pos < 0) return -EINVAL;
  std::shared_ptr<OpenFile> file = fget(fd);
  if (file == nullptr) return -EBADF;
  if (file->kind() == FileKind::LoopControl) return -ESPIPE;
  if (!file->readable()) return -EBADF;
  if (end_overflows(pos, len)) return -EINVAL;
  if (file->kind() == FileKind::Directory) return -EISDIR;
  return file->read_at(buf, len, pos);
}

int64_t Kernel::pwrite(int fd, const void* buf, uint64_t len, int64_t pos) {
  if (pos < 0) return -EINVAL;
  std::shared_ptr<OpenFile> file = fget(fd);
  if (file == nullptr) return -EBADF;
  if (file->kind() == FileKind::LoopControl) return -ESPIPE;
  if (!file->writable()) return -EBADF;
  if (end_overflows(pos, len)) return -EINVAL;
  // DriverProfile::odirect_file_write_partial: the series' kernel refuses the
  // write whole where the host's would write part of it first.
  // generic_write_check_limits comes first: a write starting at the maximum file
  // size is the host's EFBIG.
  if (!profile_.odirect_file_write_partial && file->kind() == FileKind::Regular &&
      file->opened_direct() && len > 0 && static_cast<uint64_t>(pos) < fs_.max_file_bytes) {
    const uint64_t align = std::max<uint32_t>(file->dio_offset_align(), 1);
    if (static_cast<uint64_t>(pos) % align != 0 || len % align != 0) return -EINVAL;
  }
  return file->write_at(buf, len, pos);
}

// ksys_fallocate: the fd first (fdget), then vfs_fallocate (fs/open.c, alike in
// 6.1, 6.12 and 6.18 for these modes): the arguments and the mode's shape, the
// fd's write access, the file's type, the filesystem's maximum size;
// loop-control has no fallocate.
int Kernel::fallocate(int fd, int mode, int64_t pos, int64_t len) {
  std::shared_ptr<OpenFile> file = fget(fd);
  if (file == nullptr) return -EBADF;
  if (pos < 0 || len <= 0) return -EINVAL;
  // FALLOC_FL_SUPPORTED_MASK: no NO_HIDE_STALE, so blkdev_fallocate's discard case
  // (6.1) is never reached from user space.
  constexpr int kSupported = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
  if ((mode & ~kSupported) != 0) return -EOPNOTSUPP;
  if ((mode & FALLOC_FL_PUNCH_HOLE) && (mode & FALLOC_FL_ZERO_RANGE)) return -EOPNOTSUPP;
  if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  if (!file->writable()) return -EBADF;
  switch (file->kind()) {
    case FileKind::Directory:
      return -EISDIR;
    case FileKind::LoopControl:
      return -ENODEV;
    case FileKind::Regular:
    case FileKind::LoopDevice:
    case FileKind::Partition:
      break;
  }
  const uint64_t max_bytes =
      file->kind() == FileKind::Regular ? fs_.max_file_bytes : uint64_t{INT64_MAX};
  if (static_cast<uint64_t>(pos) + static_cast<uint64_t>(len) > max_bytes) return -EFBIG;
  return file->backing_fallocate(mode, pos, len);
}

int Kernel::fsync(int fd) {
  std::shared_ptr<OpenFile> file = fget(fd);
  if (file == nullptr) return -EBADF;
  return file->fsync();
}

int Kernel::read_sysfs(uint64_t index, std::string_view attr, std::string& out) const {
  std::shared_ptr<LoopDevice> dev = control_.find(index);
  if (dev == nullptr) return -ENOENT;
  return dev->sysfs_show(attr, out);
}

int Kernel::read_partition_sysfs(uint64_t index, int part, std::string_view attr,
                                 std::string& out) const {
  std::shared_ptr<LoopDevice> dev = control_.find(index);
  if (dev == nullptr) return -ENOENT;
  return dev->partition_sysfs_show(part, attr, out);
}

}  // namespace loopcheck::inproc
