// Facts about the guest's backing filesystem that the model's Env must match.
#pragma once

#include <cstdint>
#include <string>

namespace loopcheck::vm::agent {

// statx(STATX_DIOALIGN) dio_offset_align of `path` (0: the kernel did not say).
uint32_t dio_offset_align(const std::string& path);

// BLKSSZGET of the block device node `device` (0 on failure).
uint32_t logical_block_size(const std::string& device);

}  // namespace loopcheck::vm::agent
