// Every spelling the trace language uses, in one place: ioctl names and numbers,
// errno names, struct field names, LO_FLAGS names, sysfs attribute paths, @env
// keys and open flags. The parser, the printer, reports and the C reproducer
// writer all go through these tables, so a name can never be spelled two ways.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "trace/trace.h"

namespace loopcheck {

// ---- ioctl requests -----------------------------------------------------------------
std::string_view req_name(Req req);  // "LOOP_SET_FD"; "" for Req::Unknown
uint64_t req_number(Req req);        // from <linux/loop.h>/<linux/fs.h>; 0 for Unknown
std::optional<Req> req_from_name(std::string_view name);
Req req_from_number(uint64_t number);  // Req::Unknown if the number is not named

// What argument a request takes in the language (and so what the targets pass).
enum class ReqArg : uint8_t {
  Ignored,    // the kernel ignores the argument: none, or any number (LOOP_CLR_FD)
  Number,     // a number or variable is required (LOOP_SET_FD f, LOOP_CTL_ADD 3)
  Int,        // a number passed through a pointer to int (BLKROSET 1)
  Out,        // the kernel writes a value through a pointer the target supplies (BLKGETSIZE64)
  StructIn,   // a {struct} or `null` is required (LOOP_SET_STATUS64, LOOP_CONFIGURE)
  StructOut,  // nothing (the target supplies a buffer) or `null` (LOOP_GET_STATUS64)
  Range,      // two numbers, a uint64_t[2] {start, len} (BLKDISCARD 0 4096), or `null`
};
ReqArg req_arg(Req req);

// The struct a request reads or writes.
enum class StructKind : uint8_t { None, LoopInfo, LoopInfo64, LoopConfig };
StructKind req_struct(Req req);

// Whether `field` exists in `kind` (loop_info has no sizelimit; only loop_config
// has fd and block_size).
bool struct_has_field(StructKind kind, Field field);

// ---- errno --------------------------------------------------------------------------------
std::string_view errno_name(int err);  // "EBUSY"; "" when the number has no name here
std::optional<int> errno_from_name(std::string_view name);

// ---- struct fields ---------------------------------------------------------------------
std::string_view field_name(Field field);
std::optional<Field> field_from_name(std::string_view name);

// ---- LO_FLAGS -----------------------------------------------------------------------------
std::string_view lo_flag_name(LoFlag flag);  // "AUTOCLEAR"
std::optional<LoFlag> lo_flag_from_name(std::string_view name);
// "READ_ONLY|AUTOCLEAR", unknown bits as hex ("AUTOCLEAR|0x2"), "0" for no flags.
std::string format_lo_flags(uint32_t flags);

// ---- sysfs attributes ----------------------------------------------------------------
std::string_view sysattr_path(SysAttr attr);  // relative to /sys/block/loopN
std::optional<SysAttr> sysattr_from_path(std::string_view path);

// ---- @env keys -----------------------------------------------------------------------------
std::string_view env_key_name(EnvKey key);
std::optional<EnvKey> env_key_from_name(std::string_view name);

// ---- open modes -----------------------------------------------------------------------------
std::string_view access_name(Access access);  // "ro" "wo" "rw"
std::optional<Access> access_from_name(std::string_view name);
inline constexpr OpenFlag kOpenFlags[] = {kOpenExcl, kOpenDirect, kOpenSync, kOpenNonblock,
                                          kOpenDsync};
std::string_view open_flag_name(OpenFlag flag);  // "excl" "direct" "sync" "nonblock"
std::optional<OpenFlag> open_flag_from_name(std::string_view name);

// ---- fallocate modes ------------------------------------------------------------------------
inline constexpr FallocFlag kFallocFlags[] = {kFallocKeepSize, kFallocPunchHole, kFallocZeroRange,
                                              kFallocNoHideStale};
// "keep_size" "punch_hole" "zero_range" "no_hide_stale"
std::string_view falloc_flag_name(FallocFlag flag);
std::optional<FallocFlag> falloc_flag_from_name(std::string_view name);
// The FALLOC_FL_* bits of a FallocFlag set: what the targets pass to fallocate(2).
int falloc_mode_bits(uint8_t flags);

}  // namespace loopcheck
