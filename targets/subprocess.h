// Running a helper program (apt-get, apt-cache, mkfs.ext4) and capturing its
// output, without a shell: arguments are passed as they are.
#pragma once

#include <string>
#include <vector>

namespace loopcheck::vm {

struct ProcessResult {
  bool started = false;  // false: the program could not be executed (not installed)
  int exit_code = -1;    // -1 when killed by a signal
  std::string output;    // stdout and stderr together, at most 1 MiB
};

// Runs `argv` (argv[0] searched in PATH) in `cwd` (empty: the current one).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd = {});

// Whether `program` is an executable in PATH.
bool program_in_path(const std::string& program);

}  // namespace loopcheck::vm
