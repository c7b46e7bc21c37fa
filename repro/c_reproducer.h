// The C reproducer writer: a trace as a standalone C program (libc and kernel
// uapi headers only) that performs every step on the kernel it runs on, prints
// each step's outcome, and exits 1 where the kernel disagrees with the trace's
// written expectations (0 when it agrees everywhere, 2 when it cannot set up).
//
// It lives with the VM code because its main use is triage: attach it to a bug
// report next to `loopcheck triage`'s table. It is literal: it binds, detaches
// and removes loop devices exactly as the trace says, so run it as root on a
// test machine or in a VM. Its own files go to a mkdtemp directory under
// /var/tmp (a disk filesystem: O_DIRECT behaves as for users) that it removes.
#pragma once

#include <string>

#include "trace/trace.h"

namespace loopcheck::vm {

std::string write_c_reproducer(const Trace& trace);

}  // namespace loopcheck::vm
