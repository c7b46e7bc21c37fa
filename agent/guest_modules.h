// Loading the kernel modules the initramfs carries, and waiting for the device
// nodes they make (devtmpfs), for the loop driver, the RAM disk and the channel.
#pragma once

#include <string>

namespace loopcheck::vm::agent {

// finit_module of `path` with `params`; false with `why` naming the module.
bool load_module(const std::string& path, const std::string& params, std::string* why);

// Whether `path` exists within `timeout_ms` (polled every 10 ms).
bool wait_for_path(const char* path, int timeout_ms);

}  // namespace loopcheck::vm::agent
