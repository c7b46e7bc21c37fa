// A trace's braced struct arguments as the kernel's own <linux/loop.h> structs,
// and returned structs back as the trace's StatusInfo: the one conversion every
// target that passes real structs uses (the host executor, the VM agent through
// it, and the in-process driver's adapter). Unset fields are zero, as the trace
// language says; names are copied byte for byte and not forced to end in NUL.
#pragma once

#include <linux/loop.h>

#include "trace/trace.h"

namespace loopcheck {

loop_info64 to_loop_info64(const StructFields& fields);
loop_info to_loop_info(const StructFields& fields);  // the legacy struct
loop_config to_loop_config(const StructFields& fields);

// GET_STATUS results. The legacy struct is widened: the kernel answers EOVERFLOW
// rather than truncate a value that does not fit, so widening loses nothing.
Outcome status_outcome(const loop_info64& info);
Outcome status_outcome(const loop_info& info);

// open(2) flags for an `open` Op: the access mode plus excl/direct/sync/nonblock.
int open_flags_of(const Op& op);

}  // namespace loopcheck
