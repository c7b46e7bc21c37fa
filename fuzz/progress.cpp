#include "fuzz/progress.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace loopcheck::fuzz {

ProgressPrinter::ProgressPrinter(std::function<ProgressSample()> sample,
                                 std::chrono::milliseconds interval)
    : thread_([this, sample = std::move(sample), interval] {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
          const ProgressSample s = sample();
          fmt::print(stderr, "{}{} execs, {} findings\n", kProgressPrefix, s.execs, s.findings);
          std::fflush(stderr);
        }
      }) {}

ProgressPrinter::~ProgressPrinter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

namespace {

// The count of the last `#N` progress line libFuzzer wrote.
uint64_t last_count(const std::string& text) {
  for (size_t at = text.rfind("\n#"); at != std::string::npos;
       at = at == 0 ? std::string::npos : text.rfind("\n#", at - 1)) {
    const uint64_t n = std::strtoull(text.c_str() + at + 2, nullptr, 10);
    if (n > 0) return n;
  }
  return 0;
}

}  // namespace

ProgressSample libfuzzer_progress(const std::string& work_dir) {
  namespace fs = std::filesystem;
  ProgressSample s;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(work_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("crash-") || name.starts_with("timeout-") || name.starts_with("oom-"))
      ++s.findings;
    if (!name.starts_with("worker-") || !name.ends_with(".log")) continue;
    std::ifstream in(e.path(), std::ios::binary);
    s.execs += last_count({std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()});
  }
  return s;
}

bool parse_progress(std::string_view log_text, ProgressSample* sample) {
  const size_t at = log_text.rfind(kProgressPrefix);
  if (at == std::string_view::npos) return false;
  const std::string rest(log_text.substr(at + kProgressPrefix.size(), 64));
  unsigned long long execs = 0, findings = 0;
  if (std::sscanf(rest.c_str(), "%llu execs, %llu findings", &execs, &findings) != 2) return false;
  *sample = ProgressSample{execs, findings};
  return true;
}

}  // namespace loopcheck::fuzz
