#include "targets/vm/vm_snapshot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "targets/vm/kernel_cache.h"

namespace loopcheck::vm {
namespace fs = std::filesystem;
namespace {

constexpr const char* kSnapshotMark = "SNAPSHOT";

bool hash_file(const std::string& path, XXH3_state_t* state) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[1 << 16];
  ssize_t n = 0;
  while ((n = read(fd, buffer, sizeof buffer)) > 0)
    XXH3_128bits_update(state, buffer, static_cast<size_t>(n));
  close(fd);
  return n == 0;
}

// Removes the least recently used snapshots beyond kMaxSnapshots.
void keep_recent_snapshots(const fs::path& root) {
  std::vector<std::pair<fs::file_time_type, fs::path>> slots;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    const fs::path mark = e.path() / kSnapshotMark;
    if (fs::exists(mark, ec)) slots.emplace_back(fs::last_write_time(mark, ec), e.path());
  }
  if (slots.size() <= kMaxSnapshots) return;
  std::sort(slots.begin(), slots.end());
  for (size_t i = 0; i + kMaxSnapshots < slots.size(); ++i) fs::remove_all(slots[i].second, ec);
}

}  // namespace

bool SnapshotSlot::present() const {
  std::error_code ec;
  return !dir.empty() && fs::exists(fs::path(dir) / kSnapshotMark, ec);
}

std::string default_snapshot_dir() {
  return (fs::path(kernel_cache_dir()).parent_path() / "snapshots").string();
}

SnapshotSlot snapshot_slot(const std::string& root, const std::vector<std::string>& input_files,
                           const std::string& settings, std::string* why) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  bool ok = true;
  for (const std::string& path : input_files) {
    XXH3_128bits_update(state, path.empty() ? "-" : "+", 1);  // a built-in driver differs
    if (!path.empty() && !hash_file(path, state)) {
      *why = fmt::format("cannot read {} to key its snapshot: {}", path, std::strerror(errno));
      ok = false;
      break;
    }
  }
  XXH3_128bits_update(state, settings.data(), settings.size());
  const XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  if (!ok) return {};
  return {fmt::format("{}/{:016x}{:016x}", root, h.high64, h.low64)};
}

std::string make_snapshot_staging(const std::string& root, std::string* why) {
  std::error_code ec;
  fs::create_directories(root, ec);
  struct statvfs sv {};
  if (!ec && statvfs(root.c_str(), &sv) == 0 &&
      uint64_t{sv.f_bavail} * sv.f_frsize < kSnapshotFreeBytes) {
    *why = fmt::format(
        "only {} MiB free in {}, a snapshot needs {} MiB: free some space, set "
        "LOOPCHECK_CACHE elsewhere, or LOOPCHECK_VM_SNAPSHOT=0",
        uint64_t{sv.f_bavail} * sv.f_frsize >> 20, root, kSnapshotFreeBytes >> 20);
    return {};
  }
  std::string tmpl = root + "/.save-XXXXXX";
  if (ec || !mkdtemp(tmpl.data())) {
    *why = fmt::format(
        "cannot create a directory in {}: {} (set LOOPCHECK_CACHE elsewhere, or "
        "LOOPCHECK_VM_SNAPSHOT=0)",
        root, ec ? ec.message() : std::strerror(errno));
    return {};
  }
  return tmpl;
}

void touch_snapshot(const SnapshotSlot& slot) {
  std::error_code ec;
  fs::last_write_time(fs::path(slot.dir) / kSnapshotMark, fs::file_time_type::clock::now(), ec);
}

bool publish_snapshot(const std::string& staging, const SnapshotSlot& slot, std::string* why) {
  std::error_code ec;
  std::ofstream(fs::path(staging) / kSnapshotMark) << "loopcheck guest snapshot\n";
  fs::rename(staging, slot.dir, ec);
  if (!ec) {
    keep_recent_snapshots(fs::path(slot.dir).parent_path());
    return true;
  }
  fs::remove_all(staging, ec);
  if (slot.present()) return true;  // another process saved it first
  *why = fmt::format("cannot move the snapshot into {}", slot.dir);
  return false;
}

void discard_snapshot(const SnapshotSlot& slot) {
  std::error_code ec;
  if (!slot.dir.empty()) fs::remove_all(slot.dir, ec);
}

}  // namespace loopcheck::vm
