// A `loopcheck` child the campaign waits for: its own process group (so a
// fuzzer's workers and a VM's QEMU stop with it), stdout and stderr to files, a
// progress tick every few seconds, and stopped past its budget (SIGTERM, then
// SIGKILL after a grace period).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace loopcheck::campaign {

struct ChildRun {
  bool started = false;
  std::string error;   // why it did not start
  int exit_code = -1;  // 128 + signal when killed
  bool timed_out = false;
  double seconds = 0;
};

// Called about every 10 s with the seconds elapsed.
using Tick = std::function<void(double elapsed_seconds)>;

// SIGINT, SIGTERM and SIGHUP stop the running child's whole group, then this
// process: a campaign stopped at the terminal leaves no task running.
void stop_children_on_signals();

ChildRun run_child(std::vector<std::string> argv, const std::filesystem::path& stdout_path,
                   const std::filesystem::path& stderr_path, double budget_seconds,
                   const Tick& tick = {});

}  // namespace loopcheck::campaign
