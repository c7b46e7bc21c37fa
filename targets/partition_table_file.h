// Writing a declared MBR partition table into a sandbox file, the same way on
// every target that creates files (host, VM agent, in-process driver).
#pragma once

#include "trace/trace.h"

namespace loopcheck {

// Writes the table's sector (trace/partition_table.h) at the file's offset 0,
// after its fill: 0, or the errno of the failed write. No table, no write.
int write_partition_table(int fd, const PartitionTable& table);

}  // namespace loopcheck
