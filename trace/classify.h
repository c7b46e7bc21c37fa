// One classification of operations and outcomes for everything that groups them:
// the fuzzer's model coverage and finding signatures (fuzz/exec.cpp) and the
// explorer's coverage, lifecycle graph and suite (explore/). Classes are enums;
// the dense indices (for bitsets and tables) and the names are derived from them,
// so a coarse grouping and a fine one can never disagree on what an operation is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "trace/trace.h"

namespace loopcheck {

// ---- operations ------------------------------------------------------------------
// What an operation is before any argument. The opens come first, in Node order.
enum class OpClass : uint8_t {
  OpenLoopControl,
  OpenLoop,
  OpenFile,
  OpenDir,
  Close,
  Pread,
  Pwrite,
  Fsync,
  Truncate,
  Sysfs,
  Fallocate,
  Allocated,
  Uevents,
  Ioctl,
};
inline constexpr int kOpClassCount = static_cast<int>(OpClass::Ioctl) + 1;

OpClass op_class(const Op& op);
std::string_view op_class_name(OpClass cls);  // "open loop-control", "pread", "ioctl"

// The class, and the request of an ioctl: what the fuzzer's model coverage counts.
// Dense in [0, kOpKeyCount).
inline constexpr int kOpKeyCount = static_cast<int>(OpClass::Ioctl) + kReqCount;
int op_key(const Op& op);

// How a finding signature names an operation: the class, an ioctl by its request
// (`LOOP_SET_FD`, `ioctl 0x4c0b` when unnamed), sysfs with its attribute.
std::string op_signature_name(const Op& op);

// The explorer's labels: the op key refined by the access mode and the excl/direct
// flags of an open, which decide its outcome (blkdev_open's exclusive claim, lo_open's
// read-only checks). Dense in [0, kMaxOpLabels); `open dir` shares `open file`'s labels
// (the explorer never opens a directory).
inline constexpr int kMaxOpLabels = 64;
int op_label(const Op& op);
std::string op_label_name(int label);  // "open loop ro excl", "LOOP_SET_FD", "pread"

// ---- outcomes --------------------------------------------------------------------------
// What kind of result: Outcome::Kind, with a returned value read as success.
enum class OutcomeClass : uint8_t { Ok, Errno, Status, Data, Text, Uevents, Skipped };
OutcomeClass outcome_class(const Outcome& outcome);

// The class, and the errno of an error: what the fuzzer's model coverage counts.
// Dense in [0, kOutcomeKeyCount); errnos past the table share the key of errno 0.
inline constexpr int kOutcomeKeyCount = 160;
int outcome_key(const Outcome& outcome);

// How a finding signature names an outcome: `0`, `fd`, `index`, `EBUSY`, `errno:N`,
// `status`, `data 4096`, `text`, `SKIPPED`.
std::string outcome_signature_name(const Outcome& outcome);

// The explorer's outcome classes: 0 for success of any kind, else the errno (errnos
// past the table share the last class). Dense in [0, kErrnoClassCount).
inline constexpr int kErrnoClassCount = 256;
int errno_class(const Outcome& outcome);
std::string errno_class_name(int cls);  // "ok", "EBUSY", "errno:N"

}  // namespace loopcheck
