// Which Debian kernels a command boots: `--kernels` takes versions (comma-separated
// or repeated), "cached" (every verified kernel in the cache) or "all" (every
// cloud kernel `loopcheck kernels list` offers), or bzImage paths (anything with
// a '/'). Missing Debian kernels are fetched first; every kernel gets the
// process's --loop-ko/--modules choice, its vermagic checked here.
#pragma once

#include <string>
#include <vector>

#include "targets/vm/kernel_cache.h"

namespace loopcheck::cli {

// In version order, without duplicates. False after printing what went wrong
// (an unknown version, a failed fetch, nothing chosen) and how to fix it.
bool resolve_kernels(const std::vector<std::string>& requested,
                     std::vector<vm::KernelFiles>* kernels);

// The `vm:` target name that boots `kernel` again: its version, or its image path.
std::string vm_target_name(const vm::KernelFiles& kernel);

}  // namespace loopcheck::cli
