// Bytes -> a valid loop-device program, for the fuzzers (libFuzzer targets in
// fuzz/, `loopcheck fuzz`, `loopcheck minimize`).
//
// Every byte string decodes to a program: no input is ever rejected, so no
// fuzzing time is spent on inputs the system under test never sees. The format
// is one header byte (the profile) followed by fixed-size records, one per
// statement, so the custom mutator (fuzz/mutate.h) can insert, delete,
// duplicate and swap whole operations without re-deriving any structure.
//
// A record names what it does and picks its operands from typed variable slots
// (loop-control fds, device indices, device fds, file fds), exactly like the
// RapidCheck state-machine test: an operation that needs an operand kind nobody
// has bound yet decodes as the statement that binds one instead. Argument bytes
// index tables of boundary values, so every byte mutation moves an argument to a
// value the kernel checks against. The decoded program prints as a runnable trace.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck::fuzz {

inline constexpr size_t kHeaderBytes = 1;
inline constexpr size_t kRecordBytes = 8;
// Bounded by the trace's variable slots: every statement may bind a fresh one.
inline constexpr size_t kMaxStatements = kMaxVars;
inline constexpr size_t kMaxInputBytes = kHeaderBytes + kMaxStatements * kRecordBytes;

// The model tracks 16 devices and 32 open descriptions (model/state.h); a program
// stays under both, or it would test the model's bounds instead of loop semantics.
inline constexpr int kMaxDeviceCreators = 6;  // 8 precreated + 6 < 16
inline constexpr int kMaxOpens = 28;          // < 32 descriptions

// PartitionFd: an open /dev/loopNpK, kept apart from DeviceFd so it is never a
// backing file (the model does not follow that binding).
enum class SlotKind : uint8_t { None, Control, Index, DeviceFd, FileFd, PartitionFd };
inline constexpr int kSlotKindCount = static_cast<int>(SlotKind::PartitionFd) + 1;

struct FuzzStatement {
  Op op;
  int16_t bind = -1;  // the slot this statement binds, or -1
};

// A decoded program: plain data, no heap, so decoding in the fuzzing hot loop
// allocates nothing.
// The environment fuzz programs assume by default: no precreated devices. Every
// device a program uses is one it created, and a driver's fresh device costs its
// queue's memory, so programs that create none run fastest.
Env default_fuzz_env();

struct Program {
  const model::Profile* profile = &model::kDefaultProfile;
  Env env = default_fuzz_env();
  uint8_t count = 0;
  std::array<FuzzStatement, kMaxStatements> stmts{};
  std::array<SlotKind, kMaxVars> slot_kind{};  // what each bound slot holds
};

struct DecodeOptions {
  // A real kernel is one release: its profile, whatever the header byte says.
  const model::Profile* forced_profile = nullptr;
  // The environment the programs run in (a real kernel has its own precreated devices).
  Env env = default_fuzz_env();
};

// Total: every byte string gives a program of min(records, kMaxStatements) statements.
void decode(std::span<const uint8_t> bytes, Program& out, const DecodeOptions& options = {});

// The sandbox every fuzz program runs in: two files and a directory.
std::span<const ObjectDecl> sandbox_objects();

// The program as a trace (objects, profile, variable names by kind: ctl3, n4,
// dev5, file6), ready to print, run or minimize.
Trace to_trace(const Program& program);

}  // namespace loopcheck::fuzz
