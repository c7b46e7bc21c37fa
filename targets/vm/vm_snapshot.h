// Booted guests kept on disk, so that a VM starts by restoring one instead of
// booting (QEMU migration to a file, then `-incoming`): boot-to-ready goes from
// seconds under TCG to a fraction of one.
//
// A snapshot is taken right after the agent's Ready, before any trace, and is
// keyed by the XXH3-128 of everything that shapes that moment: the kernel image,
// loop.ko, brd.ko, the agent binary, the QEMU binary and the settings (memory,
// disk size, accelerator, kernel command line). A changed input is another key,
// so a stale snapshot is never restored. Each lives in
// `<cache>/snapshots/KEY/`: `state` (the migration stream), `initramfs.cpio`
// (QEMU must be given the same one), `ready` (the agent's Ready payload, which
// a restored guest has already sent) and `SNAPSHOT`, written last. It is built in
// a staging directory and renamed into place, so an interrupted save leaves
// nothing half-done and two processes saving the same key do not collide.
#pragma once

#include <string>
#include <vector>

namespace loopcheck::vm {

struct SnapshotSlot {
  std::string dir;  // empty: no snapshot for this guest (an input could not be read)
  std::string state_path() const { return dir + "/state"; }
  std::string initramfs_path() const { return dir + "/initramfs.cpio"; }
  std::string ready_path() const { return dir + "/ready"; }
  bool present() const;
};

// At most this many snapshots are kept (~100 MB each): saving one more removes
// the least recently used (a restore counts as a use).
inline constexpr size_t kMaxSnapshots = 24;
// A save needs this much free space where the snapshots live, or is skipped.
inline constexpr uint64_t kSnapshotFreeBytes = 1ull << 30;

// `<cache>/snapshots`, beside the kernel cache (kernel_cache.h).
std::string default_snapshot_dir();

// The slot in `root` of a guest booted from `input_files` (contents hashed, in
// order) with `settings`. An empty `dir` with `why` when an input cannot be read.
SnapshotSlot snapshot_slot(const std::string& root, const std::vector<std::string>& input_files,
                           const std::string& settings, std::string* why);

// A fresh staging directory in `root`; empty with `why` (also when the disk is
// too full to hold a snapshot: nothing is written then).
std::string make_snapshot_staging(const std::string& root, std::string* why);

// Writes the mark into `staging` and renames it to the slot, then keeps at most
// kMaxSnapshots. A slot another process filled first wins; `staging` is removed
// either way.
bool publish_snapshot(const std::string& staging, const SnapshotSlot& slot, std::string* why);

// Marks the slot used now (least recently used snapshots go first).
void touch_snapshot(const SnapshotSlot& slot);

// Removes a slot that failed to restore, so the next boot saves it anew.
void discard_snapshot(const SnapshotSlot& slot);

}  // namespace loopcheck::vm
