// The guest's backing filesystem on a RAM disk: brd loaded with the size the
// host's image names, the image's blocks (/disk.blocks, targets/vm/disk_blocks.h)
// written onto /dev/ram0. A disk in guest memory is part of a snapshot of the
// guest (targets/vm/vm_snapshot.h); QEMU cannot migrate an emulated NVMe disk.
#pragma once

#include <string>

namespace loopcheck::vm::agent {

inline constexpr const char* kRamDiskDevice = "/dev/ram0";

// Loads /brd.ko if the initramfs has one (else the driver is built in, sized by
// the brd.* kernel parameters), waits for /dev/ram0 and writes the image onto it.
// False with `why`.
bool prepare_ram_disk(int device_wait_ms, std::string* why);

}  // namespace loopcheck::vm::agent
