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

// `text` as one /bin/sh word (for commands QEMU hands to a shell: exec: URIs).
std::string shell_quoted(const std::string& text);

// Where `program` is in PATH; empty when it is not.
std::string program_path(const std::string& program);

// Whether `program` is an executable in PATH.
bool program_in_path(const std::string& program);

}  // namespace loopcheck::vm
