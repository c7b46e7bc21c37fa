// What makes a Trace well formed, checked on the Trace itself: the rules the
// parser enforces while reading text, stated once for traces that never were
// text (decoded fuzz inputs, generated programs, explorer suites, minimizer
// candidates). A trace that validates is safe to hand to any target.
//
// Debug builds check every transformation's output (LOOPCHECK_VALIDATE), as
// syzkaller's prog/ validates after generate, mutate and minimize: a producer
// that breaks a rule stops at the producer, not three layers later in a target.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trace/names.h"
#include "trace/trace.h"

namespace loopcheck {

// ---- the rules the parser shares -------------------------------------------------------
// Ranges are those of the ABI type a number ends up in.
struct ValueRange {
  const char* type;  // shown in messages
  bool allow_negative;
  uint64_t neg_max;  // largest magnitude allowed with a minus sign
  uint64_t pos_max;
};
namespace range {
inline constexpr uint64_t kU64Max = ~uint64_t{0};
inline constexpr ValueRange kU8{"a byte (0..255)", false, 0, 0xff};
inline constexpr ValueRange kU32{"a u32", false, 0, 0xffffffffull};
inline constexpr ValueRange kI32{"an int", true, 0x80000000ull, 0x7fffffffull};
inline constexpr ValueRange kU64{"a u64", false, 0, kU64Max};
inline constexpr ValueRange kI64{"an int64 (loff_t)", true, 0x8000000000000000ull,
                                 0x7fffffffffffffffull};
inline constexpr ValueRange kULong{"an unsigned long (negative numbers are two's complement)", true,
                                   0x8000000000000000ull, kU64Max};
inline constexpr ValueRange kIndex{"a loop device index (0..2147483647)", false, 0, 0x7fffffffull};
inline constexpr ValueRange kPartNumber{"a partition number (1..4)", false, 1, kMaxPartitions};
inline constexpr ValueRange kSize{"a size (0..2^63-1)", false, 0, 0x7fffffffffffffffull};
inline constexpr ValueRange kIoLen{"an I/O length (at most 64M)", false, 0, kMaxIoLength};
inline constexpr ValueRange kRunLen{"a run length (1..64M)", false, 0, kMaxIoLength};
inline constexpr ValueRange kErrno{"an errno number (1..4095)", false, 0, 4095};
inline constexpr ValueRange kRepeat{"a repeat count (1..1000000)", false, 0, kMaxRepeat};
inline constexpr ValueRange kRequest{"an ioctl request number (u32)", false, 0, 0xffffffffull};
}  // namespace range

// Whether a literal (with its sign as written) fits the range.
bool fits(bool negative, uint64_t magnitude, const ValueRange& r);
bool fits(const Value& literal, const ValueRange& r);

// The range of a struct field; expectations use the widened StatusInfo types.
ValueRange field_range(StructKind st, Field f);
// The range of an ioctl's number argument.
ValueRange ioctl_arg_range(Req req);

// Variable and object names: [a-z_][a-z0-9_]*, and not a word that starts a
// statement or names a path (a variable spelled like one would make lines ambiguous).
bool is_identifier(std::string_view s);
bool is_reserved(std::string_view s);

// Whether the op returns a struct an expectation may describe (LOOP_GET_STATUS*).
bool returns_status(const Op& op);

// Whether an ioctl's argument kind fits its request's shape (ReqArg).
bool arg_fits(Req req, ArgKind kind);

// Why a data descriptor does not describe exactly `count` bytes, or "" when it does.
std::string data_desc_problem(uint64_t count, const DataDesc& desc);

// ---- the validator ---------------------------------------------------------------------
struct TraceProblem {
  int statement = -1;  // index into Trace::stmts, or -1 for the header and objects
  int object = -1;     // index into Trace::objects, when the problem is a declaration
  SourcePos pos;       // the statement's or declaration's position, when it has one
  std::string message;
  std::string format(const Trace& trace) const;  // "SOURCE:LINE:COL: statement N: message"
};

// Every rule broken, in trace order; empty for a valid trace.
std::vector<TraceProblem> validate(const Trace& trace);

// The rules of concurrent blocks alone (trace/validate_block.cpp): their shape,
// their statements' threads, their `allow` tuples. Part of validate().
std::vector<TraceProblem> validate_blocks(const Trace& trace);

// Prints every problem and `where` to stderr and aborts when the trace is invalid.
void assert_valid(const Trace& trace, std::string_view where);

}  // namespace loopcheck

// Debug builds check a transformation's output; release builds skip it (the
// fuzzing hot loop would pay for a Trace per input).
#ifndef NDEBUG
#define LOOPCHECK_VALIDATE(trace, where) ::loopcheck::assert_valid((trace), (where))
#else
#define LOOPCHECK_VALIDATE(trace, where) ((void)0)
#endif
