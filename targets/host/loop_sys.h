// Where the kernel shows loop devices to userspace: the device nodes under /dev
// and the attributes under /sys/block/loopN. Small, policy-free helpers shared by
// the executor (which the VM agent reuses), the host sandbox and its recovery.
// Only libc: no exceptions are thrown on purpose, errors come back as errno values.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace loopcheck::host {

inline constexpr const char* kLoopControlPath = "/dev/loop-control";

// The largest index a loop device can have: minor numbers are 20 bits wide and
// part_shift is at least 0 (docs/semantics.md §3.10).
inline constexpr uint64_t kMaxLoopIndex = (1u << 20) - 1;

std::string loop_node_path(uint64_t index);   // "/dev/loopN"
std::string loop_sysfs_path(uint64_t index);  // "/sys/block/loopN"
// Partition `part` of loop device `index`: "/dev/loopNpK", "/sys/block/loopN/loopNpK".
std::string partition_node_path(uint64_t index, uint8_t part);
std::string partition_sysfs_path(uint64_t index, uint8_t part);

// Whether this kernel parses MBR partition tables (CONFIG_MSDOS_PARTITION):
// msdos_partition() is a symbol in /proc/kallsyms exactly then (the parsers are
// called through a table, so it is never inlined away). nullopt when kallsyms
// cannot be read. Read once per process.
std::optional<bool> kernel_reads_msdos_partitions();

// Reads a small file (sysfs, procfs, a ledger) whole into `out`, at most
// `max_bytes`. Returns 0 or the errno of the failing call.
int read_small_file(const std::string& path, std::string* out, size_t max_bytes = 64 * 1024);

// Whether the kernel has a device with this index (/sys/block/loopN exists).
bool loop_device_exists(uint64_t index);

// Whether the device has a backing file: /sys/block/loopN/loop/ exists from a
// successful bind until teardown completes (docs/semantics.md §8), including the deferred
// Rundown period of 6.11+.
bool loop_device_bound(uint64_t index);

// The device's dev_t from /sys/block/loopN/dev ("7:N"), if it exists.
std::optional<dev_t> loop_device_number(uint64_t index);

// /sys/block/loopN/loop/backing_file without the trailing newline; empty when
// unbound (or when the read races with teardown).
std::string loop_backing_file(uint64_t index);

// Whether /sys/block/loopN/holders is empty (no device-mapper or md stacked on it).
bool loop_has_no_holders(uint64_t index);

// What opening the node of a loop device that does not exist does.
enum class MissingDevice : uint8_t {
  Fail,      // ENOENT: opening never creates a device as a side effect (the host)
  Autoload,  // open a node of its number anyway: the kernel's loop_probe creates
             // the device (legacy autoload), as the model predicts (a guest)
};

// Opens /dev/loopN with `flags`. If the node is missing (no devtmpfs, or a
// container with a static /dev) but the device exists (or `missing` says to
// autoload it), creates the node as `node_dir`/loopN with mknod and opens that;
// `node_dir` empty disables this. Returns the fd, or -errno.
int open_loop_node(uint64_t index, int flags, std::string_view node_dir,
                   MissingDevice missing = MissingDevice::Fail);

// Whether any process holds an open fd on the block device `rdev`, other than
// this process's fds listed in `ignored_own_fds` (scans /proc/*/fd). A snapshot:
// it cannot see a later open, and it cannot see in-kernel holders (mounts,
// stacked loop devices: see loop_has_no_holders and loop_device_bound).
bool block_device_open_elsewhere(dev_t rdev, std::span<const int> ignored_own_fds);

// Whether `fd` is open in this process (fcntl F_GETFD succeeds).
bool fd_is_open(int fd);

// queue/rotational of the block device under the filesystem holding `dir` (the
// disk's, for a partition). false for a filesystem without one (tmpfs), as the
// loop driver sees it (no s_bdev: not rotational); nullopt if it cannot be read.
std::optional<bool> directory_disk_rotational(const std::string& dir);

}  // namespace loopcheck::host
