// The Target adapter for the in-process driver: executes literal trace Ops on an
// inproc::Kernel whose sandbox objects are real files in a private directory
// under /var/tmp, and reports outcomes in the trace's terms.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "inproc/kernel.h"
#include "targets/io_buffer.h"
#include "targets/target.h"

namespace loopcheck::inproc {

class InprocTarget final : public Target {
 public:
  InprocTarget() = default;
  // A driver configured as `driver_profile` whatever profile the model runs
  // under (`--target inproc:NAME`): it then stands for that profile as a kernel
  // stands for its release, and `profile infer` can ask which profile it is.
  explicit InprocTarget(std::string driver_profile) : pinned_profile_(std::move(driver_profile)) {}
  ~InprocTarget() override;

  std::string_view name() const override { return "inproc"; }
  TargetError start(const Trace& trace, std::string_view profile, const Env& env) override;
  static DriverConfig driver_config(const Env& env);
  static HostFsFacts fs_facts(const Env& env);
  Outcome execute(const Op& op) override;
  std::span<const uint8_t> last_read() const override { return {buffer_.data(), last_read_len_}; }
  std::string summary() const override;
  // Closes, unbinds and stops everything; the sandbox's files stay (reset by the
  // next start(), removed by the destructor).
  void finish() override;
  bool runs_blocks() const override { return true; }
  BlockHistory run_block(std::span<const BlockThread> threads,
                         std::span<const int64_t> vars) override;

  // For tests: the driver underneath, and where the sandbox objects live.
  Kernel* kernel() { return kernel_.get(); }
  std::string object_path(uint8_t index) const;

 private:
  std::string pinned_profile_;
  IoBuffer& io_buffer();  // the calling block thread's, else buffer_
  Outcome open(const Op& op);
  Outcome ioctl(const Op& op);
  Outcome pread(const Op& op);
  Outcome pwrite(const Op& op);
  Outcome truncate(const Op& op);
  Outcome sysfs(const Op& op);
  struct Kept {
    std::string name;
    ObjectDecl::Kind kind;
    uint64_t size;  // as declared, and as start() left it
    uint8_t fill;
    // start() wrote a partition table over its first sector, which the write log
    // (the trace's changes) does not show: the next trace's file is written afresh.
    bool table;
  };
  void remove_object(const Kept& k);
  bool reset_file(const std::string& path, uint64_t size, uint8_t fill);
  // The declared MBR over the file's first sector (none: nothing); errno set on failure.
  static bool write_table(const std::string& path, const PartitionTable& mbr);
  bool restore_range(const std::string& path, uint64_t size, uint8_t fill, uint64_t lo,
                     uint64_t hi);
  bool fill_range(int fd, uint64_t from, uint64_t to, uint8_t fill);
  void remove_sandbox();
  // Distinct from the host target's "loopcheck-XXXXXX", which only its ledger
  // recovery may remove; then <pid>-XXXXXX (targets/sandbox_dir.h).
  static constexpr std::string_view kSandboxPrefix = "loopcheck-inproc-";

  HostWriteLog write_log_;  // declared before kernel_: outlives it
  std::unique_ptr<Kernel> kernel_;
  // Absolute, no trailing '/'. Created at the first start(), removed with the
  // target; between traces its objects stay for the next start() to reset.
  std::string sandbox_;
  std::vector<Kept> kept_;  // the objects in the sandbox now
  std::vector<std::string> object_names_;
  IoBuffer buffer_;
  std::vector<uint8_t> fill_chunk_;  // kept: object fills reuse it
  uint64_t last_read_len_ = 0;
};

}  // namespace loopcheck::inproc
