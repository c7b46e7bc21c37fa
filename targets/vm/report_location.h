// The kernel function a console report blames, for a crash finding's signature:
// "loop_configure" from a WARNING's "at drivers/block/loop.c:1021
// loop_configure+0x1a/0x5d0 [loop]" or an oops's "RIP: 0010:lo_rw_aio+0x..".
// Without the offset, so the same bug signs the same on every build of a kernel.
#pragma once

#include <string>
#include <string_view>

namespace loopcheck::vm {

// Empty when the excerpt names no function (a hang, a dead guest).
std::string report_location(std::string_view excerpt);

}  // namespace loopcheck::vm
