// Which kernel and which loop driver a `vm:` target boots.
//
// `vm:VERSION` is a cached Debian kernel (kernel_cache.h) with its own loop.ko;
// `vm:PATH` (anything with a '/') is a bzImage someone built, whose release is
// read from its setup header. Either can take another loop driver: `--loop-ko
// FILE`, or `--modules DIR` (a modules tree holding drivers/block/loop.ko). A
// bzImage with neither boots with the loop driver built in. The module's
// vermagic must name the kernel's release: that is checked here, before any
// boot, so a mismatch is a clear error rather than a guest that cannot load it.
// The guest's RAM disk driver comes from the same place: a Debian kernel's own
// brd.ko, a modules tree's, or built in.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "targets/vm/kernel_cache.h"

namespace loopcheck::vm {

struct LoopDriverChoice {
  std::string loop_ko;      // --loop-ko FILE
  std::string modules_dir;  // --modules DIR
  bool empty() const { return loop_ko.empty() && modules_dir.empty(); }
};

// The CLI sets this once, after parsing and before any target is made; every
// `vm:` target of the process (also those parallel workers make) then boots
// with it. A process-wide setting because targets are made from their names.
void set_loop_driver_choice(LoopDriverChoice choice);
const LoopDriverChoice& loop_driver_choice();

// Whether a `vm:` spec names a kernel image file rather than a cached version.
bool is_kernel_image_path(std::string_view spec);

struct ResolvedKernel {
  bool ok = false;
  KernelFiles files;  // files.loop_ko empty: the kernel's loop driver is built in
  std::string error;  // names the problem and the fix
};
ResolvedKernel resolve_vm_kernel(std::string_view spec, const LoopDriverChoice& choice);

// The loop.ko inside a modules directory: DIR/loop.ko, DIR/drivers/block/loop.ko,
// DIR/kernel/drivers/block/loop.ko or DIR/lib/modules/RELEASE/kernel/drivers/
// block/loop.ko. Empty with `why` when there is none (or only a compressed one).
std::string find_loop_module(const std::string& dir, std::string_view release, std::string* why);

// Where a modules tree may hold the module at `tree_path` in a kernel tree
// ("drivers/block/loop.ko"): DIR/loop.ko, DIR/drivers/block/loop.ko,
// DIR/kernel/drivers/block/loop.ko, DIR/lib/modules/RELEASE/kernel/…, in order.
std::vector<std::filesystem::path> module_candidates(const std::filesystem::path& root,
                                                     std::string_view release,
                                                     std::string_view tree_path);

}  // namespace loopcheck::vm
