// Putting a loop device back: detach it, wait for the deferred teardown, remove
// it. Shared by HostTarget::finish and the recovery of killed runs, which must
// both prove a device is theirs before touching it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace loopcheck::host {

// Who a device's binding belongs to, judged from /sys/block/loopN/loop/backing_file.
enum class BindingOwner : uint8_t {
  Unbound,  // no loop/ directory
  Ours,     // a file inside `sandbox`, or /dev/loopM for M in `own_devices`
  Foreign,  // anything else: someone else's device, hands off
};
BindingOwner binding_owner(uint64_t index, std::string_view sandbox,
                           std::span<const uint64_t> own_devices);

// Opens /dev/loopN read-only, checks with LOOP_GET_STATUS64 that the backing
// file is (dev, ino) when `expect_dev_ino` is set, issues LOOP_CLR_FD, closes.
// Returns 0, ESTALE if the backing file is a different one (then nothing was
// done), or the errno of the failing call (ENXIO: not bound, or already in
// the deferred Rundown state).
int detach_loop_device(uint64_t index, bool expect_dev_ino = false, uint64_t dev = 0,
                       uint64_t ino = 0);

// On 6.11+ LOOP_CLR_FD only marks the device; teardown runs at the last close,
// possibly some time after ours (a stacked upper device releasing it). Polls
// until loop/ is gone. True if it went within `timeout_ms`.
bool wait_until_unbound(uint64_t index, int timeout_ms);

// LOOP_CTL_REMOVE, retried on EBUSY (a transient opener: udev, our own
// teardown finishing) until `timeout_ms`. Returns 0 or the last errno.
int remove_loop_device(uint64_t index, int timeout_ms);

// The block layer's read-only state of an unbound device (/sys/block/loopN/ro).
// nullopt when it cannot be read.
std::optional<bool> loop_read_only(uint64_t index);

// Sets the sticky read-only bit of an UNBOUND device we hold by binding it to a
// scratch file in `scratch_dir` (read-only or read-write, which is what sets the
// bit) and detaching again, after clearing the BLKROSET policy bit. The kernel
// offers no other way to clear a bit a read-only bind left behind. Returns 0 or
// an errno; the device ends unbound either way.
int set_unbound_read_only(uint64_t index, bool read_only, const std::string& scratch_dir);

// queue/read_ahead_kb and queue/rotational of /sys/block/loopN, as the kernel
// shows them (without the newline). A bind to a file on a rotational disk raises
// read_ahead_kb for good (6.18), so a device's past users decide how far a new
// user's reads read ahead unless they are put back as a new device has them.
struct QueueTuning {
  std::string read_ahead_kb;
  std::string rotational;
};
std::optional<QueueTuning> loop_queue_tuning(uint64_t index);
// Writes both attributes (root). Returns 0 or the errno of the failing write.
int set_loop_queue_tuning(uint64_t index, const QueueTuning& tuning);

}  // namespace loopcheck::host
