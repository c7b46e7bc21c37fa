// The user pointer an ioctl receives for its argument.
#pragma once

#include "trace/trace.h"

namespace loopcheck {

// What the kernel is passed in place of the target's own buffer `valid`: NULL for
// `null`, the address of a page mapped PROT_NONE for `fault` (copy_from_user and
// copy_to_user fail on it), `valid` for any other argument.
void* ioctl_pointer(ArgKind kind, void* valid);

// The PROT_NONE page, mapped once per process and never unmapped.
void* unmapped_page();

}  // namespace loopcheck
