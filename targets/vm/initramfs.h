// The guest's initramfs, written by loopcheck itself (libarchive, cpio "newc",
// uncompressed: the kernel unpacks it without any decompressor).
#pragma once

#include <string>

namespace loopcheck::vm {

// Writes to `out_path` an initramfs holding the static agent as /init, the
// kernel's loop.ko as /loop.ko, the mount points it needs and /dev/console (so
// the agent's stdio reaches the serial console before devtmpfs is mounted).
// An empty `loop_ko_path` leaves /loop.ko out: the kernel's driver is built in.
bool write_initramfs(const std::string& out_path, const std::string& agent_path,
                     const std::string& loop_ko_path, std::string* why);

// The agent binary: $LOOPCHECK_AGENT, else the one this build made. Empty with
// `why` when neither exists.
std::string find_agent_binary(std::string* why);

}  // namespace loopcheck::vm
