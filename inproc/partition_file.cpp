#include "inproc/partition_file.h"

#include <linux/fs.h>
#include <linux/loop.h>

#include <algorithm>
#include <cerrno>

#include "inproc/arith.h"
#include "inproc/user_copy.h"

namespace loopcheck::inproc {

namespace {
constexpr uint64_t kPartitionDev = 6;           // an st_dev for the node, like devtmpfs'
constexpr uint64_t kPartitionInodeBase = 5000;  // distinct from the disks' nodes
constexpr uint64_t kBlockExtMajor = 259;        // BLOCK_EXT_MAJOR: max_part 0 partitions
}  // namespace

int PartitionFile::open() {
  const int err = device_->open_partition(this, part_);
  opened_ = err == 0;
  if (opened_) wb_since_ = device_->disk().sample_wb_err();
  return err;
}

PartitionFile::Span PartitionFile::span(uint64_t len, int64_t pos) const {
  const PartitionSlot slot = device_->partition(part_);
  const uint64_t size = slot.size_sectors * 512;
  const uint64_t at = static_cast<uint64_t>(pos);
  if (at >= size) return Span{0, 0, true};
  return Span{static_cast<int64_t>(slot.start_sectors * 512 + at), std::min(len, size - at), false};
}

// A read at or past the partition's end reads nothing; a write there is ENOSPC
// (blkdev_read_iter / blkdev_write_iter against bdev_nr_bytes).
int64_t PartitionFile::transfer(ReqOp op, void* buf, uint64_t len, int64_t pos, bool direct) {
  const Span s = span(len, pos);
  if (s.past_end) return op == ReqOp::Read ? 0 : -ENOSPC;
  if (op == ReqOp::Read) return device_->disk().read(buf, s.len, s.disk_pos, direct, 32);
  if (device_->partition_read_only(part_)) return -EPERM;
  return device_->disk().write(buf, s.len, s.disk_pos, direct, (flags() & O_SYNC) != 0, &wb_since_);
}

int64_t PartitionFile::read_at(void* buf, uint64_t len, int64_t pos) {
  return transfer(ReqOp::Read, buf, len, pos, opened_direct());
}

int64_t PartitionFile::write_at(const void* buf, uint64_t len, int64_t pos) {
  return transfer(ReqOp::Write, const_cast<void*>(buf), len, pos, opened_direct());
}

int PartitionFile::fsync() {
  return device_->disk().fsync(wb_since_);
}

int PartitionFile::getattr(FileAttr& out) const {
  out.dev = kPartitionDev;
  out.ino = kPartitionInodeBase + static_cast<uint64_t>(device_->number()) * 16 +
            static_cast<uint64_t>(part_);
  out.rdev = (kBlockExtMajor << 8) | static_cast<uint64_t>(part_);
  out.size = static_cast<int64_t>(device_->partition(part_).size_sectors * 512);
  return 0;
}

int64_t PartitionFile::backing_io(ReqOp op, const iovec* iov, int iovcnt, int64_t pos,
                                  IoMode mode) {
  const bool direct = mode == IoMode::Direct || (mode == IoMode::AsOpened && opened_direct());
  int64_t total = 0;
  for (int i = 0; i < iovcnt; ++i) {
    const int64_t n = transfer(op, iov[i].iov_base, iov[i].iov_len, pos + total, direct);
    if (n < 0) return total > 0 ? total : n;
    total += n;
    if (static_cast<uint64_t>(n) < iov[i].iov_len) break;
  }
  return total;
}

long PartitionFile::ioctl(const FileTable& files, unsigned long cmd, unsigned long arg) const {
  void* user = reinterpret_cast<void*>(arg);
  auto put = [&](auto v) -> long { return copy_to_user(user, &v, sizeof v) ? 0 : -EFAULT; };
  const PartitionSlot slot = device_->partition(part_);
  switch (cmd) {
    case BLKGETSIZE64:
      return put(static_cast<uint64_t>(slot.size_sectors * 512));
    case BLKGETSIZE:
      return put(static_cast<unsigned long>(slot.size_sectors));
    case BLKSSZGET:
    case BLKPBSZGET:
      return put(static_cast<int>(device_->disk().logical_block_size()));
    case BLKROGET:
      return put(static_cast<int>(device_->partition_read_only(part_) ? 1 : 0));
    case BLKROSET: {
      if (!device_->cap_sys_admin()) return -EACCES;
      int ro = 0;
      if (!copy_from_user(&ro, user, sizeof ro)) return -EFAULT;
      device_->set_partition_read_only(part_, ro != 0);
      return 0;
    }
    case BLKRRPART:
      return device_->reread_partition_table(*this, part_);
    case BLKDISCARD:
    case BLKZEROOUT:
    case BLKSECDISCARD: {
      // The range counts from the partition's start: moved to the disk's.
      uint64_t range[2];
      if (!copy_from_user(range, user, sizeof range)) return -EFAULT;
      if (range[0] >= slot.size_sectors * 512) return -EINVAL;
      range[1] = std::min(range[1], slot.size_sectors * 512 - range[0]);
      range[0] += slot.start_sectors * 512;
      return device_->ioctl(*this, files, cmd, reinterpret_cast<unsigned long>(range));
    }
    default:
      return device_->ioctl(*this, files, cmd, arg);
  }
}

}  // namespace loopcheck::inproc
