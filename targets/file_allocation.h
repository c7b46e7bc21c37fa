// `allocated file NAME`: what a target answers, from the filesystem itself.
#pragma once

#include <cstdint>
#include <string>

#include "trace/trace.h"

namespace loopcheck {

// The bytes of `path`'s data blocks the filesystem has allocated: FS_IOC_FIEMAP
// with FIEMAP_FLAG_SYNC (dirty pages are written first, so delayed allocation is
// settled), every extent summed, unwritten ones included, extents past the EOF
// included; metadata blocks are not data and not counted. An errno when the file
// cannot be opened or mapped (EOPNOTSUPP: a filesystem without FIEMAP).
Outcome file_allocated_bytes(const std::string& path);

// The end of the last extent of the open file `fd` (preallocated blocks past the
// EOF included), or 0 when it has none or cannot be mapped.
uint64_t last_extent_end(int fd);

}  // namespace loopcheck
