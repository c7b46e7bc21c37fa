// `--loop-ko FILE` and `--modules DIR`: the loop driver every `vm:` target of
// this run boots with instead of the kernel's own (docs/custom-kernels.md).
// The commands that take vm targets add them; the chosen action applies them
// before it makes any target.
#pragma once

#include <CLI/CLI.hpp>

#include "targets/vm/boot_spec.h"

namespace loopcheck::cli {

void add_loop_driver_options(CLI::App* cmd, vm::LoopDriverChoice* choice);

}  // namespace loopcheck::cli
