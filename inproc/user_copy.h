// copy_from_user / copy_to_user for the in-process driver: the caller's pointer
// may be NULL or an unmapped page (the language's `null` and `fault`), and the
// copy must fail on it as the kernel's does instead of crashing the process.
#pragma once

#include <cstddef>

namespace loopcheck::inproc {

// Both return false (the ioctl answers EFAULT) when any byte cannot be copied.
// The copy goes through process_vm_readv / process_vm_writev on this process,
// which report an unmapped or unwritable page as EFAULT.
bool copy_from_user(void* to, const void* user, size_t bytes);
bool copy_to_user(void* user, const void* from, size_t bytes);

}  // namespace loopcheck::inproc
