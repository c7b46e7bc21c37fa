// An open file description of /dev/loopNpK. It holds the whole disk open (a
// partition's open is blkdev_get_part → blkdev_get_whole) and moves its bytes
// through the disk at the partition's start, cut at its size. Unlike the kernel,
// whose partition has a page cache of its own, it shares the disk's: the model
// does not predict partition I/O (its `partition_fd` envelope), so this view is
// only what the driver needs to serve the calls.
#pragma once

#include <memory>
#include <string>

#include "inproc/loop_device.h"

namespace loopcheck::inproc {

class PartitionFile final : public LoopBlockFile {
 public:
  PartitionFile(std::shared_ptr<LoopDevice> device, int part, int flags)
      : LoopBlockFile(FileKind::Partition, std::move(device), flags), part_(part) {}
  ~PartitionFile() override {
    if (opened_) device_->release_partition(this, part_);
  }
  // blkdev_open of the partition: 0, or -errno (the file is then dead).
  int open();

  int part() const { return part_; }
  // The block layer's answers for a partition; the rest goes to lo_ioctl.
  long ioctl(const FileTable& files, unsigned long cmd, unsigned long arg) const;

  int64_t read_at(void* buf, uint64_t len, int64_t pos) override;
  int64_t write_at(const void* buf, uint64_t len, int64_t pos) override;
  int fsync() override;
  int getattr(FileAttr& out) const override;
  std::string sysfs_path() const override {
    return "/dev/loop" + std::to_string(device_->number()) + "p" + std::to_string(part_);
  }
  int64_t backing_io(ReqOp op, const iovec* iov, int iovcnt, int64_t pos, IoMode mode) override;

 private:
  // Bytes [pos, pos + len) of the partition as disk bytes: the disk position, and
  // the length cut at the partition's end (0 at or past it).
  struct Span {
    int64_t disk_pos = 0;
    uint64_t len = 0;
    bool past_end = false;
  };
  Span span(uint64_t len, int64_t pos) const;
  int64_t transfer(ReqOp op, void* buf, uint64_t len, int64_t pos, bool direct);

  int part_;
};

}  // namespace loopcheck::inproc
