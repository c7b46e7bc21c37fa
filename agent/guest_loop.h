// The guest's loop devices as the agent sees them between programs: listing,
// detaching, putting back the devices a program touched, and checking that the
// guest is clean. Only libc (the agent is static and links nothing else).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace loopcheck::vm::agent {

// loop.ko's CONFIG_BLK_DEV_LOOP_MIN_COUNT: the devices module init creates.
inline constexpr uint64_t kPrecreatedDevices = 8;

void sleep_ms(int ms);

// The indices under /sys/block (loopN), unordered.
std::vector<uint64_t> existing_loop_devices();

// Detaches every bound device. Stacked devices need several passes: a lower
// device stays bound until the upper one lets go of it. False after 10 s.
bool detach_all(std::string* why);

// What a device shows in sysfs that a program could leave behind (ro, size,
// queue limits), as texts; compared against a device module init just made.
std::vector<std::string> device_attributes(uint64_t index);

// After detach_all: removes every device a program added, adds back precreated
// ones it removed, and removes and adds again every precreated device in
// `touched` whose attributes differ from `pristine` — a read-only bind leaves
// the disk's ro bit set after the unbind
// (corpus/conformance/common/ro_bit_sticky_after_unbind.trace), which only a
// fresh device forgets. A device add costs milliseconds under TCG, so devices
// that look fresh are kept. False with `why` when the kernel refuses.
bool restore_devices(const std::set<uint64_t>& touched, const std::vector<std::string>& pristine,
                     std::string* why);

// Whether the guest is as a freshly loaded loop.ko leaves it: exactly the
// precreated devices, none bound, every touched one showing `pristine`
// attributes, and loop.ko's reference count 0 (no open device, no binding
// left). `why` names what leaked.
bool loop_state_clean(const std::set<uint64_t>& touched, const std::vector<std::string>& pristine,
                      std::string* why);

// /proc/sys/kernel/tainted: a WARNING, an oops or a BUG sets a flag here, so a
// change between two steps says which step the kernel complained during.
uint64_t kernel_taint();

}  // namespace loopcheck::vm::agent
