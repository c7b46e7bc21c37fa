// The guest's initramfs, written by loopcheck itself (libarchive, cpio "newc",
// uncompressed: the kernel unpacks it without any decompressor).
#pragma once

#include <string>
#include <vector>

namespace loopcheck::vm {

struct InitramfsFiles {
  std::string agent_path;
  std::string loop_ko_path;  // empty: the kernel's loop driver is built in
  std::string brd_ko_path;   // empty: the kernel's RAM disk driver is built in
  std::string disk_blocks;   // the backing filesystem (targets/vm/disk_blocks.h)
  // The virtio console chain (KernelFiles::channel_modules), each at the root
  // under its own file name; none: the agent uses the serial line.
  std::vector<std::string> channel_module_paths;
};

// Writes to `out_path` an initramfs holding the static agent as /init, the
// kernel's loop.ko as /loop.ko, brd.ko as /brd.ko (each left out when empty), the
// virtio channel's modules,
// the backing filesystem's blocks as /disk.blocks, the mount points the agent
// needs and /dev/console (so the agent's stdio reaches the serial console before
// devtmpfs is mounted).
bool write_initramfs(const std::string& out_path, const InitramfsFiles& files, std::string* why);

// The agent binary: $LOOPCHECK_AGENT, else the one this build made. Empty with
// `why` when neither exists.
std::string find_agent_binary(std::string* why);

}  // namespace loopcheck::vm
