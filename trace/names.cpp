// The spelling tables. Request numbers come from the system headers' macros so a
// typo cannot make loopcheck issue a different ioctl than the one it names.
#include "trace/names.h"

#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/loop.h>

#include <cassert>
#include <cerrno>
#include <fmt/format.h>

namespace loopcheck {
namespace {

struct ReqEntry {
  Req req;
  std::string_view name;
  uint64_t number;
  ReqArg arg;
  StructKind st;
};

// Indexed by Req; checked by the static_assert below and the tests.
constexpr ReqEntry kReqs[] = {
    {Req::LoopSetFd, "LOOP_SET_FD", LOOP_SET_FD, ReqArg::Number, StructKind::None},
    {Req::LoopClrFd, "LOOP_CLR_FD", LOOP_CLR_FD, ReqArg::Ignored, StructKind::None},
    {Req::LoopSetStatus, "LOOP_SET_STATUS", LOOP_SET_STATUS, ReqArg::StructIn,
     StructKind::LoopInfo},
    {Req::LoopGetStatus, "LOOP_GET_STATUS", LOOP_GET_STATUS, ReqArg::StructOut,
     StructKind::LoopInfo},
    {Req::LoopSetStatus64, "LOOP_SET_STATUS64", LOOP_SET_STATUS64, ReqArg::StructIn,
     StructKind::LoopInfo64},
    {Req::LoopGetStatus64, "LOOP_GET_STATUS64", LOOP_GET_STATUS64, ReqArg::StructOut,
     StructKind::LoopInfo64},
    {Req::LoopChangeFd, "LOOP_CHANGE_FD", LOOP_CHANGE_FD, ReqArg::Number, StructKind::None},
    {Req::LoopSetCapacity, "LOOP_SET_CAPACITY", LOOP_SET_CAPACITY, ReqArg::Ignored,
     StructKind::None},
    {Req::LoopSetDirectIo, "LOOP_SET_DIRECT_IO", LOOP_SET_DIRECT_IO, ReqArg::Number,
     StructKind::None},
    {Req::LoopSetBlockSize, "LOOP_SET_BLOCK_SIZE", LOOP_SET_BLOCK_SIZE, ReqArg::Number,
     StructKind::None},
    {Req::LoopConfigure, "LOOP_CONFIGURE", LOOP_CONFIGURE, ReqArg::StructIn,
     StructKind::LoopConfig},
    {Req::LoopCtlAdd, "LOOP_CTL_ADD", LOOP_CTL_ADD, ReqArg::Number, StructKind::None},
    {Req::LoopCtlRemove, "LOOP_CTL_REMOVE", LOOP_CTL_REMOVE, ReqArg::Number, StructKind::None},
    {Req::LoopCtlGetFree, "LOOP_CTL_GET_FREE", LOOP_CTL_GET_FREE, ReqArg::Ignored,
     StructKind::None},
    {Req::BlkGetSize64, "BLKGETSIZE64", BLKGETSIZE64, ReqArg::Out, StructKind::None},
    {Req::BlkGetSize, "BLKGETSIZE", BLKGETSIZE, ReqArg::Out, StructKind::None},
    {Req::BlkSszGet, "BLKSSZGET", BLKSSZGET, ReqArg::Out, StructKind::None},
    {Req::BlkBszGet, "BLKBSZGET", BLKBSZGET, ReqArg::Out, StructKind::None},
    {Req::BlkPbszGet, "BLKPBSZGET", BLKPBSZGET, ReqArg::Out, StructKind::None},
    {Req::BlkRoGet, "BLKROGET", BLKROGET, ReqArg::Out, StructKind::None},
    {Req::BlkRoSet, "BLKROSET", BLKROSET, ReqArg::Int, StructKind::None},
    {Req::BlkFlsBuf, "BLKFLSBUF", BLKFLSBUF, ReqArg::Ignored, StructKind::None},
    {Req::BlkDiscard, "BLKDISCARD", BLKDISCARD, ReqArg::Range, StructKind::None},
    {Req::BlkZeroout, "BLKZEROOUT", BLKZEROOUT, ReqArg::Range, StructKind::None},
    {Req::BlkSecDiscard, "BLKSECDISCARD", BLKSECDISCARD, ReqArg::Range, StructKind::None},
    {Req::BlkRrPart, "BLKRRPART", BLKRRPART, ReqArg::Ignored, StructKind::None},
};
static_assert(std::size(kReqs) == kReqCount - 1, "one entry per named Req");

constexpr bool reqs_in_enum_order() {
  for (size_t i = 0; i < std::size(kReqs); ++i)
    if (static_cast<size_t>(kReqs[i].req) != i) return false;
  return true;
}
static_assert(reqs_in_enum_order(), "kReqs must be indexed by Req");

const ReqEntry* req_entry(Req req) {
  auto i = static_cast<size_t>(req);
  return i < std::size(kReqs) ? &kReqs[i] : nullptr;
}

struct ErrnoEntry {
  int err;
  std::string_view name;
};

#define LOOPCHECK_ERRNO(e) \
  ErrnoEntry {             \
    e, #e                  \
  }
constexpr ErrnoEntry kErrnos[] = {
    LOOPCHECK_ERRNO(EPERM),        LOOPCHECK_ERRNO(ENOENT),    LOOPCHECK_ERRNO(ESRCH),
    LOOPCHECK_ERRNO(EINTR),        LOOPCHECK_ERRNO(EIO),       LOOPCHECK_ERRNO(ENXIO),
    LOOPCHECK_ERRNO(E2BIG),        LOOPCHECK_ERRNO(EBADF),     LOOPCHECK_ERRNO(EAGAIN),
    LOOPCHECK_ERRNO(ENOMEM),       LOOPCHECK_ERRNO(EACCES),    LOOPCHECK_ERRNO(EFAULT),
    LOOPCHECK_ERRNO(ENOTBLK),      LOOPCHECK_ERRNO(EBUSY),     LOOPCHECK_ERRNO(EEXIST),
    LOOPCHECK_ERRNO(EXDEV),        LOOPCHECK_ERRNO(ENODEV),    LOOPCHECK_ERRNO(ENOTDIR),
    LOOPCHECK_ERRNO(EISDIR),       LOOPCHECK_ERRNO(EINVAL),    LOOPCHECK_ERRNO(ENFILE),
    LOOPCHECK_ERRNO(EMFILE),       LOOPCHECK_ERRNO(ENOTTY),    LOOPCHECK_ERRNO(ETXTBSY),
    LOOPCHECK_ERRNO(EFBIG),        LOOPCHECK_ERRNO(ENOSPC),    LOOPCHECK_ERRNO(ESPIPE),
    LOOPCHECK_ERRNO(EROFS),        LOOPCHECK_ERRNO(EMLINK),    LOOPCHECK_ERRNO(EPIPE),
    LOOPCHECK_ERRNO(EDOM),         LOOPCHECK_ERRNO(ERANGE),    LOOPCHECK_ERRNO(EDEADLK),
    LOOPCHECK_ERRNO(ENOSYS),       LOOPCHECK_ERRNO(ENOTEMPTY), LOOPCHECK_ERRNO(ELOOP),
    LOOPCHECK_ERRNO(ENODATA),      LOOPCHECK_ERRNO(EOVERFLOW), LOOPCHECK_ERRNO(EOPNOTSUPP),
    LOOPCHECK_ERRNO(ETIMEDOUT),    LOOPCHECK_ERRNO(ESTALE),    LOOPCHECK_ERRNO(ECANCELED),
    LOOPCHECK_ERRNO(ENAMETOOLONG),
};
#undef LOOPCHECK_ERRNO

constexpr std::string_view kFieldNames[] = {
    "fd",    "block_size", "offset", "sizelimit", "number", "encrypt_type", "encrypt_key_size",
    "flags", "device",     "inode",  "rdevice",   "name",
};
static_assert(std::size(kFieldNames) == kFieldCount);

struct FlagEntry {
  LoFlag flag;
  std::string_view name;
};
constexpr FlagEntry kLoFlags[] = {
    {kLoReadOnly, "READ_ONLY"},
    {kLoAutoclear, "AUTOCLEAR"},
    {kLoPartscan, "PARTSCAN"},
    {kLoDirectIo, "DIRECT_IO"},
};

constexpr std::string_view kSysAttrPaths[] = {
    "size",
    "ro",
    "loop/backing_file",
    "loop/offset",
    "loop/sizelimit",
    "loop/autoclear",
    "loop/partscan",
    "loop/dio",
    "queue/logical_block_size",
    "queue/physical_block_size",
    "queue/minimum_io_size",
    "queue/read_ahead_kb",
    "queue/rotational",
    "queue/discard_granularity",
    "queue/discard_max_bytes",
    "queue/write_zeroes_max_bytes",
    "start",
    "partition",
};
static_assert(std::size(kSysAttrPaths) == kSysAttrCount);

constexpr std::string_view kEnvKeys[] = {"precreated",      "cap_sys_admin", "dio_align",
                                         "bdev_block_size", "thp",           "max_part",
                                         "rotational",      "cgroup",        "msdos_partitions"};
static_assert(std::size(kEnvKeys) == kEnvKeyCount);

constexpr std::string_view kAccessNames[] = {"ro", "wo", "rw"};

}  // namespace

std::string_view req_name(Req req) {
  const ReqEntry* e = req_entry(req);
  return e ? e->name : std::string_view{};
}

uint64_t req_number(Req req) {
  const ReqEntry* e = req_entry(req);
  return e ? e->number : 0;
}

std::optional<Req> req_from_name(std::string_view name) {
  for (const ReqEntry& e : kReqs)
    if (e.name == name) return e.req;
  return std::nullopt;
}

Req req_from_number(uint64_t number) {
  for (const ReqEntry& e : kReqs)
    if (e.number == number) return e.req;
  return Req::Unknown;
}

ReqArg req_arg(Req req) {
  const ReqEntry* e = req_entry(req);
  return e ? e->arg : ReqArg::Number;  // an unknown request's argument is a plain number
}

StructKind req_struct(Req req) {
  const ReqEntry* e = req_entry(req);
  return e ? e->st : StructKind::None;
}

bool struct_has_field(StructKind kind, Field field) {
  switch (kind) {
    case StructKind::None:
      return false;
    case StructKind::LoopInfo:
      return field != Field::Fd && field != Field::BlockSize && field != Field::Sizelimit;
    case StructKind::LoopInfo64:
      return field != Field::Fd && field != Field::BlockSize;
    case StructKind::LoopConfig:
      return true;
  }
  return false;
}

std::string_view errno_name(int err) {
  for (const ErrnoEntry& e : kErrnos)
    if (e.err == err) return e.name;
  return {};
}

std::optional<int> errno_from_name(std::string_view name) {
  for (const ErrnoEntry& e : kErrnos)
    if (e.name == name) return e.err;
  return std::nullopt;
}

std::string_view field_name(Field field) {
  auto i = static_cast<size_t>(field);
  assert(i < std::size(kFieldNames));
  return kFieldNames[i];
}

std::optional<Field> field_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kFieldNames); ++i)
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  return std::nullopt;
}

std::string_view lo_flag_name(LoFlag flag) {
  for (const FlagEntry& e : kLoFlags)
    if (e.flag == flag) return e.name;
  return {};
}

std::optional<LoFlag> lo_flag_from_name(std::string_view name) {
  for (const FlagEntry& e : kLoFlags)
    if (e.name == name) return e.flag;
  return std::nullopt;
}

std::string format_lo_flags(uint32_t flags) {
  if (flags == 0) return "0";
  std::string out;
  uint32_t rest = flags;
  for (const FlagEntry& e : kLoFlags) {
    if ((rest & e.flag) == 0) continue;
    if (!out.empty()) out += '|';
    out += e.name;
    rest &= ~static_cast<uint32_t>(e.flag);
  }
  if (rest != 0) {
    if (!out.empty()) out += '|';
    out += fmt::format("{:#x}", rest);
  }
  return out;
}

std::string_view sysattr_path(SysAttr attr) {
  auto i = static_cast<size_t>(attr);
  assert(i < std::size(kSysAttrPaths));
  return kSysAttrPaths[i];
}

std::optional<SysAttr> sysattr_from_path(std::string_view path) {
  for (size_t i = 0; i < std::size(kSysAttrPaths); ++i)
    if (kSysAttrPaths[i] == path) return static_cast<SysAttr>(i);
  return std::nullopt;
}

std::string_view env_key_name(EnvKey key) {
  auto i = static_cast<size_t>(key);
  assert(i < std::size(kEnvKeys));
  return kEnvKeys[i];
}

std::optional<EnvKey> env_key_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kEnvKeys); ++i)
    if (kEnvKeys[i] == name) return static_cast<EnvKey>(i);
  return std::nullopt;
}

std::string_view access_name(Access access) {
  auto i = static_cast<size_t>(access);
  assert(i < std::size(kAccessNames));
  return kAccessNames[i];
}

std::optional<Access> access_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kAccessNames); ++i)
    if (kAccessNames[i] == name) return static_cast<Access>(i);
  return std::nullopt;
}

std::string_view open_flag_name(OpenFlag flag) {
  switch (flag) {
    case kOpenExcl:
      return "excl";
    case kOpenDirect:
      return "direct";
    case kOpenSync:
      return "sync";
    case kOpenNonblock:
      return "nonblock";
    case kOpenDsync:
      return "dsync";
  }
  return {};
}

std::optional<OpenFlag> open_flag_from_name(std::string_view name) {
  for (OpenFlag f : kOpenFlags)
    if (open_flag_name(f) == name) return f;
  return std::nullopt;
}

std::string_view falloc_flag_name(FallocFlag flag) {
  switch (flag) {
    case kFallocKeepSize:
      return "keep_size";
    case kFallocPunchHole:
      return "punch_hole";
    case kFallocZeroRange:
      return "zero_range";
    case kFallocNoHideStale:
      return "no_hide_stale";
  }
  return {};
}

std::optional<FallocFlag> falloc_flag_from_name(std::string_view name) {
  for (FallocFlag f : kFallocFlags)
    if (falloc_flag_name(f) == name) return f;
  return std::nullopt;
}

int falloc_mode_bits(uint8_t flags) {
  int bits = 0;
  if (flags & kFallocKeepSize) bits |= FALLOC_FL_KEEP_SIZE;
  if (flags & kFallocPunchHole) bits |= FALLOC_FL_PUNCH_HOLE;
  if (flags & kFallocZeroRange) bits |= FALLOC_FL_ZERO_RANGE;
  if (flags & kFallocNoHideStale) bits |= FALLOC_FL_NO_HIDE_STALE;
  return bits;
}

}  // namespace loopcheck
