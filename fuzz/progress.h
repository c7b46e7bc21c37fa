// `loopcheck fuzz --progress`: a line on stderr every few seconds while a campaign
// runs — "fuzz progress: N execs, F findings" — that a supervising process
// (`loopcheck campaign`) reads from the child's log to show live throughput.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace loopcheck::fuzz {

struct ProgressSample {
  uint64_t execs = 0;
  uint64_t findings = 0;
};

inline constexpr std::string_view kProgressPrefix = "fuzz progress: ";

// Prints a sample every `interval` until destroyed.
class ProgressPrinter {
 public:
  ProgressPrinter(std::function<ProgressSample()> sample, std::chrono::milliseconds interval);
  ~ProgressPrinter();
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// What a libFuzzer run in `work_dir` has done so far: the last `#N` of each
// worker log (one per process started), summed, and the crash files saved.
ProgressSample libfuzzer_progress(const std::string& work_dir);

// The last progress line in `log_text`, if any.
bool parse_progress(std::string_view log_text, ProgressSample* sample);

}  // namespace loopcheck::fuzz
