// Saving a booted guest and restoring it (targets/vm/vm_snapshot.h): the Vm
// methods that speak QMP to QEMU.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "targets/subprocess.h"
#include "targets/vm/kernel_identity.h"
#include "targets/vm/qemu_vm.h"
#include "targets/vm/qmp.h"

namespace loopcheck::vm {
namespace fs = std::filesystem;
namespace {

constexpr int kMonitorTimeoutMs = 10000;
// Writing or loading the state (~100 MB, mostly the kernel and its caches) takes
// well under a second here; a loaded machine may take many times that.
constexpr int kStateTransferTimeoutMs = 60000;
constexpr int kPollMs = 5;
constexpr size_t kMaxReadyBytes = 4096;  // a Ready payload is a few dozen bytes
constexpr size_t kMaxQemuLogBytes = 64 << 10;

// Polls `query` until its "status" is one of `done` (true) or `failed`, or the
// deadline passes (false with `why`).
bool wait_for_status(QmpClient& qmp, const std::string& query, std::string_view done,
                     std::string_view failed, std::string* why) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kStateTransferTimeoutMs);
  for (;;) {
    std::optional<nlohmann::json> r = qmp.execute(query, nullptr, kMonitorTimeoutMs, why);
    if (!r) return false;
    const std::string status = r->value("status", std::string());
    if (status == done) return true;
    if (status == failed) {
      *why = fmt::format("{}: {} ({})", query, status, r->value("error-desc", std::string("?")));
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      *why = fmt::format("{} still says '{}' after {} ms", query, status, kStateTransferTimeoutMs);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

bool write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out.flush());
}

}  // namespace

SnapshotSlot guest_snapshot_slot(const KernelFiles& kernel, const VmOptions& options,
                                 const std::string& agent) {
  const std::string settings =
      fmt::format("protocol={} disk_mb={} machine={}", kProtocolVersion, options.disk_mb,
                  fmt::join(guest_machine_args(options, kernel.virtio_channel), " "));
  std::vector<std::string> inputs = {kernel.vmlinuz, kernel.loop_ko, kernel.brd_ko, agent,
                                     program_path(kQemuProgram)};
  inputs.insert(inputs.end(), kernel.channel_modules.begin(), kernel.channel_modules.end());
  const std::string root =
      options.snapshot_dir.empty() ? default_snapshot_dir() : options.snapshot_dir;
  std::string why;
  return snapshot_slot(root, inputs, settings, &why);
}

// The guest was saved right after its Ready: QEMU loads the state paused (the
// source was stopped), `cont` runs it, and the agent, blocked reading its
// channel, takes the next frame as if it had just booted.
bool Vm::restore(const KernelFiles& kernel, const VmOptions& options, const SnapshotSlot& slot,
                 std::string* why) {
  std::string ready;
  if (!read_small_file(slot.ready_path(), kMaxReadyBytes, &ready, why) ||
      !take_ready({ready.begin(), ready.end()}, why))
    return false;
  if (!start_qemu(kernel, options, slot.initramfs_path(), slot.state_path(), why)) return false;
  QmpClient qmp;
  if (!qmp.connect(qmp_socket_path(), kMonitorTimeoutMs, why) ||
      !wait_for_status(qmp, "query-status", "paused", "shutdown", why) ||
      !qmp.execute("cont", nullptr, kMonitorTimeoutMs, why)) {
    std::string qemu_said, unread;
    read_small_file(work_dir_ + "/qemu.log", kMaxQemuLogBytes, &qemu_said, &unread);
    *why = fmt::format("restoring {}: {}; QEMU said: {}", slot.dir, *why, qemu_said);
    kill_and_reap();
    return false;
  }
  restored_ = true;
  touch_snapshot(slot);
  boot_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return true;
}

// Stops the guest, streams its state into a staging directory beside the
// initramfs it booted and its Ready payload, publishes that, and lets it go on.
bool Vm::save_snapshot(const SnapshotSlot& slot, std::string* why) {
  const std::string staging = make_snapshot_staging(fs::path(slot.dir).parent_path(), why);
  if (staging.empty()) return false;
  QmpClient qmp;
  bool ok = qmp.connect(qmp_socket_path(), kMonitorTimeoutMs, why) &&
            qmp.execute("stop", nullptr, kMonitorTimeoutMs, why) &&
            qmp.execute("migrate", {{"uri", "exec:cat > " + shell_quoted(staging + "/state")}},
                        kMonitorTimeoutMs, why) &&
            wait_for_status(qmp, "query-migrate", "completed", "failed", why);
  // The guest runs on whatever became of the save.
  const bool resumed = qmp.execute("cont", nullptr, kMonitorTimeoutMs, why).has_value();
  std::error_code ec;
  ok = ok && resumed && write_bytes(staging + "/ready", ready_payload_);
  if (ok) fs::copy_file(work_dir_ + "/initramfs.cpio", staging + "/initramfs.cpio", ec);
  if (!ok || ec) {
    if (ec) *why = fmt::format("cannot copy the initramfs into {}: {}", staging, ec.message());
    fs::remove_all(staging, ec);
    if (!resumed) kill_and_reap();
    return false;
  }
  return publish_snapshot(staging, slot, why);
}

}  // namespace loopcheck::vm
