#include "targets/partition_table_file.h"

#include <unistd.h>

#include <cerrno>

#include "trace/partition_table.h"

namespace loopcheck {

int write_partition_table(int fd, const PartitionTable& table) {
  if (table.count == 0) return 0;
  const std::array<uint8_t, kMbrBytes> sector = mbr_sector(table);
  const ssize_t n = ::pwrite(fd, sector.data(), sector.size(), 0);
  if (n < 0) return errno;
  return n == static_cast<ssize_t>(sector.size()) ? 0 : EIO;
}

}  // namespace loopcheck
