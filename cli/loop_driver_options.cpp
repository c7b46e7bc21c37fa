#include "cli/loop_driver_options.h"

namespace loopcheck::cli {

void add_loop_driver_options(CLI::App* cmd, vm::LoopDriverChoice* choice) {
  cmd->add_option("--loop-ko", choice->loop_ko,
                  "vm targets load this loop.ko instead of the kernel's own (its vermagic must "
                  "name the kernel; `loopcheck loop-ko build` makes one)");
  cmd->add_option("--modules", choice->modules_dir,
                  "vm targets load drivers/block/loop.ko from this modules tree (e.g. a "
                  "kernel build's INSTALL_MOD_PATH/lib/modules/RELEASE)");
}

}  // namespace loopcheck::cli
