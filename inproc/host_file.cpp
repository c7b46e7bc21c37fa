#include "inproc/host_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "inproc/user_copy.h"

namespace loopcheck::inproc {

int HostFile::open(const std::string& path, int flags, std::string display_name,
                   const HostFsFacts& fs, FileChanges* changes, std::shared_ptr<OpenFile>* out) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = -errno;
    ::close(fd);
    return err;
  }
  FileKind kind = S_ISDIR(st.st_mode) ? FileKind::Directory : FileKind::Regular;
  out->reset(new HostFile(kind, flags, fd, std::move(display_name), fs, changes));
  if (kind == FileKind::Regular && (flags & O_ACCMODE) == O_WRONLY) {
    // One reader per mode: a loop DIO read of a write-only file is still an
    // O_DIRECT read, with its alignment rules at a cut EOF (6.12.117 in QEMU:
    // finding-92ec19e322f02f1e read 65536 bytes through a buffered reader where
    // the kernel fails the request).
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    auto* host = static_cast<HostFile*>(out->get());
    host->read_fd_ = ::open(self.c_str(), O_RDONLY | O_CLOEXEC);
    host->read_direct_fd_ = ::open(self.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  }
  return 0;
}

int HostFile::alt_fd() const {
  std::call_once(alt_once_, [this] {
    if (kind() != FileKind::Regular) return;
    // Same file, same access mode, the other O_DIRECT setting; through /proc so
    // it works for unlinked files too.
    std::string self = "/proc/self/fd/" + std::to_string(fd_);
    int alt_flags = (flags() & (O_ACCMODE | O_SYNC)) | O_CLOEXEC | (opened_direct() ? 0 : O_DIRECT);
    alt_fd_ = ::open(self.c_str(), alt_flags);
  });
  return alt_fd_;
}

HostFile::~HostFile() {
  if (read_fd_ >= 0) ::close(read_fd_);
  if (read_direct_fd_ >= 0) ::close(read_direct_fd_);
  if (alt_fd_ >= 0) ::close(alt_fd_);
  ::close(fd_);
}

int64_t HostFile::read_at(void* buf, uint64_t len, int64_t pos) {
  ssize_t n = ::pread(fd_, buf, len, pos);
  return n < 0 ? -errno : n;
}

int64_t HostFile::write_at(const void* buf, uint64_t len, int64_t pos) {
  note_change(pos, len);
  ssize_t n = ::pwrite(fd_, buf, len, pos);
  return n < 0 ? -errno : n;
}

int HostFile::fsync() {
  return ::fsync(fd_) == 0 ? 0 : -errno;
}

int HostFile::getattr(FileAttr& out) const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return -errno;
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.rdev = st.st_rdev;
  out.size = st.st_size;
  return 0;
}

int64_t HostFile::backing_io(ReqOp op, const iovec* iov, int iovcnt, int64_t pos, IoMode mode) {
  int fd = mode == IoMode::AsOpened ? fd_ : (mode == IoMode::Direct ? direct_fd() : buffered_fd());
  if (op == ReqOp::Read && read_fd_ >= 0) {
    // The caller decided access checks apply or not; the mode still decides
    // direct or buffered.
    const bool direct = mode == IoMode::Direct || (mode == IoMode::AsOpened && opened_direct());
    fd = direct ? read_direct_fd_ : read_fd_;
  }
  if (fd < 0) return -EINVAL;
  if (op != ReqOp::Read) {
    uint64_t len = 0;
    for (int i = 0; i < iovcnt; ++i) len += iov[i].iov_len;
    note_change(pos, len);
  }
  ssize_t n = op == ReqOp::Read ? ::preadv(fd, iov, iovcnt, pos) : ::pwritev(fd, iov, iovcnt, pos);
  return n < 0 ? -errno : n;
}

int HostFile::backing_fallocate(int mode, int64_t pos, int64_t len) {
  note_change(pos, static_cast<uint64_t>(len));
  return ::fallocate(fd_, mode, pos, len) == 0 ? 0 : -errno;
}

long HostFile::regular_file_ioctl(unsigned long cmd, unsigned long arg) const {
  if (cmd != FIBMAP) return -ENOTTY;
  int block = 0;
  void* user = reinterpret_cast<void*>(arg);
  if (!copy_from_user(&block, user, sizeof block)) return -EFAULT;
  if (block < 0) return -EINVAL;
  if (::ioctl(fd_, FIBMAP, &block) != 0) return -errno;
  return copy_to_user(user, &block, sizeof block) ? 0 : -EFAULT;
}

}  // namespace loopcheck::inproc
