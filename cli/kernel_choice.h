// Which Debian kernels a command boots: `--kernels` takes versions (comma-separated
// or repeated), "cached" (every verified kernel in the cache) or "all" (every
// cloud kernel `loopcheck kernels list` offers). Missing ones are fetched first.
#pragma once

#include <string>
#include <vector>

#include "targets/vm/kernel_cache.h"

namespace loopcheck::cli {

// In version order, without duplicates. False after printing what went wrong
// (an unknown version, a failed fetch, nothing chosen) and how to fix it.
bool resolve_kernels(const std::vector<std::string>& requested,
                     std::vector<vm::KernelFiles>* kernels);

}  // namespace loopcheck::cli
