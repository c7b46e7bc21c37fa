// A real file or directory of the host, opened for the sandbox: what a backing
// file is. Reads and writes go to the real file with pread/pwrite. Because the
// loop driver switches between buffered and direct access per request (the
// kernel sets IOCB_DIRECT per kiocb), the file keeps a second descriptor for the
// other mode, reopened through /proc/self/fd so it works for unlinked files too.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "inproc/file.h"
#include "inproc/host_write_log.h"

namespace loopcheck::inproc {

// Direct-I/O facts of the filesystem under the sandbox, as the trace's
// environment states them (statx dio_offset_align, 0 = no O_DIRECT; logical block
// size of the filesystem's block device, 0 = none, as on tmpfs).
struct HostFsFacts {
  uint32_t dio_align = 512;
  uint32_t bdev_block_size = 512;
  // s_maxbytes: ext4 with 4 KiB blocks, as the model assumes (probe h1 on 6.18.44).
  uint64_t max_file_bytes = (uint64_t{1} << 44) - 4096;
  bool rotational = true;  // @env rotational
};

class HostFile final : public OpenFile {
 public:
  // open(2) of `path` with `flags`; -errno on failure. `display_name` is what
  // sysfs loop/backing_file shows for it. `changes`, if given, records every
  // range changed through this open file (see HostWriteLog).
  static int open(const std::string& path, int flags, std::string display_name,
                  const HostFsFacts& fs, FileChanges* changes, std::shared_ptr<OpenFile>* out);
  ~HostFile() override;

  int host_fd() const { return fd_; }

  // do_vfs_ioctl's file_ioctl, for a regular file: FIBMAP reads the logical
  // block from the caller (get_user: EFAULT on a bad pointer) and answers the
  // host filesystem's physical block; anything else is the filesystem's ENOTTY.
  long regular_file_ioctl(unsigned long cmd, unsigned long arg) const;

  int64_t read_at(void* buf, uint64_t len, int64_t pos) override;
  int64_t write_at(const void* buf, uint64_t len, int64_t pos) override;
  int fsync() override;

  bool has_read_iter() const override { return kind() == FileKind::Regular; }
  bool has_write_iter() const override { return kind() == FileKind::Regular; }
  bool is_regular_or_block() const override { return kind() == FileKind::Regular; }
  int getattr(FileAttr& out) const override;
  std::string sysfs_path() const override { return display_name_; }
  int64_t backing_io(ReqOp op, const iovec* iov, int iovcnt, int64_t pos, IoMode mode) override;
  int backing_fallocate(int mode, int64_t pos, int64_t len) override;
  bool can_odirect() const override { return direct_fd() >= 0 && fs_.dio_align != 0; }
  uint32_t dio_offset_align() const override { return fs_.dio_align; }
  uint32_t backing_bdev_block_size() const override { return fs_.bdev_block_size; }
  bool backing_disk_rotational() const override {
    return fs_.rotational && fs_.bdev_block_size != 0;
  }

 private:
  HostFile(FileKind kind, int flags, int fd, std::string display_name, const HostFsFacts& fs,
           FileChanges* changes)
      : OpenFile(kind, flags),
        fd_(fd),
        display_name_(std::move(display_name)),
        fs_(fs),
        changes_(changes) {}
  void note_change(int64_t pos, uint64_t len) {
    if (changes_ != nullptr && pos >= 0) changes_->note(static_cast<uint64_t>(pos), len);
  }
  int direct_fd() const { return opened_direct() ? fd_ : alt_fd(); }
  int buffered_fd() const { return opened_direct() ? alt_fd() : fd_; }
  int alt_fd() const;

  int fd_;  // as opened by the caller
  // The same file in the other O_DIRECT mode, or -1 when the filesystem refuses
  // it. Opened on first use (most files are only ever used as opened, and an
  // open through /proc costs as much as the rest of a short trace's file work);
  // worker threads may be first, hence the once-flag.
  mutable std::once_flag alt_once_;
  mutable int alt_fd_ = -1;
  // A write-only file reopened for reading: the kernel's loop worker calls
  // ->read_iter directly (6.12.25+/6.15+), which no FMODE_READ check guards, so a
  // partial-block write through the device can read-modify-write a write-only file.
  int read_fd_ = -1;
  int read_direct_fd_ = -1;  // the same with O_DIRECT (-1 where refused)
  std::string display_name_;
  HostFsFacts fs_;
  FileChanges* changes_;  // nullable
};

}  // namespace loopcheck::inproc
