// Finding signatures: what deduplication, minimization and the findings store
// compare. A signature must tell two bugs apart (so a stored finding does not hide
// a different one of the same operation) yet stay the same on every machine and
// every run (so dedupe works): it names the profile, the operation, and each
// side's outcome in machine-independent terms — errno names, byte counts, the
// shape of the bytes read, the status field that differs with both values, the
// sysfs attribute with both texts — never an fd, a device index or an inode.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "trace/trace.h"

namespace loopcheck::fuzz {

// The signature of a divergence at `op` under `profile` (a profile name such as
// "linux-6.1.192"). `target_bytes` are the bytes the target read (empty when it
// kept only a digest).
std::string divergence_signature(std::string_view profile, const Op& op, const Outcome& model,
                                 const Outcome& target, std::span<const uint8_t> target_bytes);

// The signature of a model invariant violated at `op`; `invariant` is its name
// without the device it names (one bug, one signature).
std::string invariant_signature(std::string_view profile, const Op& op, std::string_view invariant);

// The signature of a kernel crash, warning, hang or leak seen on a real target
// while a program ran: "PROFILE guest KIND in FUNCTION" ("linux-6.1.192 guest
// WARNING in loop_configure"), without the function when the report names none.
// No operation: a guest that died mid-program cannot say which step killed it.
std::string crash_signature(std::string_view profile, std::string_view kind,
                            std::string_view where);

// The shape of a buffer: its runs (trace/data.h describe_bytes) by kind, repeats
// merged: "zero", "fill", "bytes", "bytes+zero"; "empty" for no bytes.
std::string data_shape(std::span<const uint8_t> bytes);

}  // namespace loopcheck::fuzz
