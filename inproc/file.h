// Open file descriptions (struct file) of the in-process kernel. An fd table entry
// holds a shared reference; a loop device bound to a file holds another (fget),
// so a file lives until its last holder drops it and only then runs its release
// (blkdev_release for /dev/loopN: last-close flush and autoclear teardown).
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>

#include "inproc/request_queue.h"

namespace loopcheck::inproc {

class LoopDevice;

enum class FileKind : uint8_t { LoopControl, LoopDevice, Partition, Regular, Directory };

// How the loop driver wants a backing read/write done: through the file as it was
// opened, or forced buffered / direct (the kernel sets IOCB_DIRECT per kiocb).
enum class IoMode : uint8_t { AsOpened, Buffered, Direct };

// What getattr reports, in the userspace ("new") dev_t encoding.
struct FileAttr {
  uint64_t dev = 0, ino = 0, rdev = 0;
  int64_t size = 0;
};

class OpenFile {
 public:
  OpenFile(FileKind kind, int flags) : kind_(kind), flags_(flags) {}
  virtual ~OpenFile() = default;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  FileKind kind() const { return kind_; }
  int flags() const { return flags_; }
  bool readable() const { return (flags_ & O_ACCMODE) != O_WRONLY; }
  bool writable() const { return (flags_ & O_ACCMODE) != O_RDONLY; }
  bool opened_direct() const { return (flags_ & O_DIRECT) != 0; }
  bool opened_excl() const { return (flags_ & O_EXCL) != 0; }

  // file_operations. Results are byte counts or -errno, as a syscall returns them.
  virtual int64_t read_at(void* buf, uint64_t len, int64_t pos) = 0;
  virtual int64_t write_at(const void* buf, uint64_t len, int64_t pos) = 0;
  virtual int fsync() = 0;

  // What the loop driver asks of a backing file.
  virtual bool has_read_iter() const { return false; }
  virtual bool has_write_iter() const { return false; }
  virtual bool is_regular_or_block() const { return false; }
  virtual int getattr(FileAttr& out) const = 0;
  virtual std::string sysfs_path() const { return {}; }
  // One attempt at a vectored backing transfer; bytes moved or -errno.
  virtual int64_t backing_io(ReqOp op, const iovec* iov, int iovcnt, int64_t pos, IoMode mode) {
    (void)op, (void)iov, (void)iovcnt, (void)pos, (void)mode;
    return -EINVAL;
  }
  virtual int backing_fallocate(int mode, int64_t pos, int64_t len) {
    (void)mode, (void)pos, (void)len;
    return -EOPNOTSUPP;
  }
  // Direct-I/O facts (FMODE_CAN_ODIRECT, statx dio_offset_align, and the logical
  // block size of the block device under the file's filesystem; 0 = none).
  virtual bool can_odirect() const { return false; }
  virtual uint32_t dio_offset_align() const { return 0; }
  virtual uint32_t backing_bdev_block_size() const { return 0; }
  // The file's filesystem's block device is rotational (none: not).
  virtual bool backing_disk_rotational() const { return false; }
  // Non-null when this file is a loop block device (for the stacking checks).
  virtual LoopDevice* loop_device() const { return nullptr; }

 private:
  FileKind kind_;
  int flags_;
};

// fget(): what an ioctl taking an fd number (LOOP_SET_FD, ...) looks up.
class FileTable {
 public:
  virtual ~FileTable() = default;
  virtual std::shared_ptr<OpenFile> fget(int fd) const = 0;
};

}  // namespace loopcheck::inproc
