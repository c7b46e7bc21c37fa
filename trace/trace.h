// The trace representation every part of loopcheck shares (parser, printer, model,
// targets, explorer, fuzzer, minimizer, reproducer writer).
//
// A Trace is plain data: header facts, sandbox objects, and a list of Statements,
// each an Op with an optional variable binding and an optional Expectation.
// Variables are resolved to slot numbers at parse time, so an Op never carries a
// name; targets only ever see Ops whose Values are all literals (see bind_op in
// trace/bind.h), which keeps every target ignorant of variables.
//
// Everything here is a value type with fixed-size members: an Op can be copied
// into a fuzzer buffer or a state-space queue without touching the heap.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trace/envelope.h"
#include "trace/uevent.h"

namespace loopcheck {

// ---- bounds (explicit, asserted by the validator) -------------------------------
inline constexpr int kMaxVars = 64;                    // distinct variables in one trace
inline constexpr int kMaxObjects = 16;                 // file/dir declarations in one trace
inline constexpr int kNameSize = 64;                   // LO_NAME_SIZE
inline constexpr int kMaxAlternatives = 4;             // `=> A | B | C | D`
inline constexpr int kMaxDataSegments = 8;             // segments in a data descriptor
inline constexpr uint64_t kMaxIoLength = 64ull << 20;  // one pread/pwrite
inline constexpr int kMaxTextSize = 128;               // a sysfs value
inline constexpr int kLanguageVersion = 2;             // the newest `@trace N` this build reads

// ---- values ----------------------------------------------------------------------
// A number written in the trace, or a reference to a variable bound earlier.
// Literals are stored as the 64-bit two's-complement pattern the ABI would see;
// `negative` records that the text had a minus sign so the printer round-trips.
struct Value {
  enum class Kind : uint8_t { Literal, Var };
  Kind kind = Kind::Literal;
  uint8_t var = 0;        // slot, when kind == Var
  bool negative = false;  // printed as -N
  uint64_t lit = 0;

  static constexpr Value literal(uint64_t v) { return Value{Kind::Literal, 0, false, v}; }
  static constexpr Value signed_literal(int64_t v) {
    return Value{Kind::Literal, 0, v < 0, static_cast<uint64_t>(v)};
  }
  static constexpr Value variable(uint8_t slot) { return Value{Kind::Var, slot, false, 0}; }
  bool is_literal() const { return kind == Kind::Literal; }
  int64_t as_signed() const { return static_cast<int64_t>(lit); }
  friend bool operator==(const Value&, const Value&) = default;
};

// ---- operations -----------------------------------------------------------------
enum class OpKind : uint8_t {
  Open,
  Close,
  Ioctl,
  Pread,
  Pwrite,
  Fsync,
  Truncate,
  Sysfs,
  Fallocate,
  Allocated,  // `allocated file NAME`: the bytes of the file's data blocks (FIEMAP)
  // `uevents`: the uevents of the trace's loop devices since the previous
  // `uevents` (or the trace's start), trace/uevent.h.
  Uevents,
};

// What `open` opens.
enum class Node : uint8_t { LoopControl, Loop, File, Dir };

enum class Access : uint8_t { Ro, Wo, Rw };

// Open flags beyond the access mode; a bit set.
enum OpenFlag : uint8_t {
  kOpenExcl = 1 << 0,
  kOpenDirect = 1 << 1,
  kOpenSync = 1 << 2,
  kOpenNonblock = 1 << 3,
  kOpenDsync = 1 << 4,
};

// fallocate(2) modes the language names; a bit set (the targets map each to its
// FALLOC_FL_* value, trace/names.h falloc_mode_bits).
enum FallocFlag : uint8_t {
  kFallocKeepSize = 1 << 0,
  kFallocPunchHole = 1 << 1,
  kFallocZeroRange = 1 << 2,
  kFallocNoHideStale = 1 << 3,
};
inline constexpr uint8_t kFallocFlagsAll =
    kFallocKeepSize | kFallocPunchHole | kFallocZeroRange | kFallocNoHideStale;

// Ioctl requests the language names. Numbers are in trace/names.cpp.
enum class Req : uint8_t {
  LoopSetFd,
  LoopClrFd,
  LoopSetStatus,
  LoopGetStatus,
  LoopSetStatus64,
  LoopGetStatus64,
  LoopChangeFd,
  LoopSetCapacity,
  LoopSetDirectIo,
  LoopSetBlockSize,
  LoopConfigure,
  LoopCtlAdd,
  LoopCtlRemove,
  LoopCtlGetFree,
  BlkGetSize64,
  BlkGetSize,
  BlkSszGet,
  BlkBszGet,
  BlkPbszGet,
  BlkRoGet,
  BlkRoSet,
  BlkFlsBuf,
  BlkDiscard,
  BlkZeroout,
  BlkSecDiscard,
  BlkRrPart,
  Unknown,  // any other request number, kept in Op::raw_req
};
inline constexpr int kReqCount = static_cast<int>(Req::Unknown) + 1;

// Fields of struct loop_info64 / loop_info / loop_config a trace may set or expect.
// `Fd` and `BlockSize` exist only in loop_config; `Name` is lo_file_name (lo_name).
enum class Field : uint8_t {
  Fd,
  BlockSize,
  Offset,
  Sizelimit,
  Number,
  EncryptType,
  EncryptKeySize,
  Flags,
  Device,
  Inode,
  Rdevice,
  Name,
};
inline constexpr int kFieldCount = static_cast<int>(Field::Name) + 1;
inline constexpr uint16_t field_bit(Field f) {
  return uint16_t(1u << static_cast<int>(f));
}

// LO_FLAGS_* values (uapi).
enum LoFlag : uint32_t {
  kLoReadOnly = 1,
  kLoAutoclear = 4,
  kLoPartscan = 8,
  kLoDirectIo = 16,
};

// A fixed-size, NUL-padded byte string (lo_file_name and friends).
struct Name64 {
  std::array<char, kNameSize> bytes{};
  uint8_t len = 0;  // bytes used (may be 64: then not NUL-terminated in the struct)
  std::string_view view() const { return {bytes.data(), len}; }
  friend bool operator==(const Name64&, const Name64&) = default;
};

// A braced struct argument or a struct expectation: which fields are present and
// their values. Unset fields of an argument are zero (as the contract says).
struct StructFields {
  uint16_t present = 0;  // field_bit() set
  std::array<Value, kFieldCount> value{};
  Name64 name;
  bool has(Field f) const { return (present & field_bit(f)) != 0; }
  uint64_t get(Field f) const { return has(f) ? value[static_cast<int>(f)].lit : 0; }
  void set(Field f, Value v) {
    present |= field_bit(f);
    value[static_cast<int>(f)] = v;
  }
  friend bool operator==(const StructFields&, const StructFields&) = default;
};

// Range: a {start, len} pair of u64 (BLKDISCARD, BLKZEROOUT), start in Op::offset
// and len in Op::arg. Null and Fault are pointers the kernel cannot copy through:
// NULL, and the address of a page mapped PROT_NONE (`fault`), which some ioctls
// tell apart (LOOP_GET_STATUS64: NULL is EINVAL before the lock, a fault EFAULT
// after the status was gathered).
enum class ArgKind : uint8_t { None, Number, Struct, Null, Range, Fault };

// Whether copy_from_user / copy_to_user through the ioctl's pointer fails.
inline bool pointer_faults(ArgKind kind) {
  return kind == ArgKind::Null || kind == ArgKind::Fault;
}

// sysfs attributes of /sys/block/loopN the language can read.
enum class SysAttr : uint8_t {
  Size,
  Ro,
  LoopBackingFile,
  LoopOffset,
  LoopSizelimit,
  LoopAutoclear,
  LoopPartscan,
  LoopDio,
  QueueLogicalBlockSize,
  QueuePhysicalBlockSize,
  QueueMinimumIoSize,
  QueueReadAheadKb,
  QueueRotational,
  QueueDiscardGranularity,
  QueueDiscardMaxBytes,
  QueueWriteZeroesMaxBytes,
  // A partition's own (`sysfs N part K ATTR`, /sys/block/loopN/loopNpK/ATTR):
  // its first sector and its number; `size` and `ro` apply to a partition too.
  PartStart,
  PartPartition,
};
inline constexpr int kSysAttrCount = static_cast<int>(SysAttr::PartPartition) + 1;

// Whether a sysfs attribute is one of the whole disk, of a partition, or both.
inline bool sysattr_of_disk(SysAttr a) {
  return a != SysAttr::PartStart && a != SysAttr::PartPartition;
}
inline bool sysattr_of_partition(SysAttr a) {
  return a == SysAttr::Size || a == SysAttr::Ro || !sysattr_of_disk(a);
}

// Partition numbers a trace can name (`open loop N part K`): an MBR's four
// primary entries.
inline constexpr uint8_t kMaxPartitions = 4;

// One operation. A flat struct (not a variant) so that it is trivially copyable,
// comparable and cheap to mutate field by field in the fuzzer.
struct Op {
  OpKind kind = OpKind::Close;

  // Open: what to open. `subject` is the loop index for Node::Loop, unused else.
  Node node = Node::LoopControl;
  // Open of Node::Loop, Sysfs: 0 for the whole disk, K (1..kMaxPartitions) for
  // its partition K (/dev/loopNpK, /sys/block/loopN/loopNpK).
  uint8_t part = 0;
  uint8_t object = 0;  // file/dir declaration index for Node::File / Node::Dir, Truncate
  Access access = Access::Rw;
  uint8_t open_flags = 0;  // OpenFlag bits

  // The fd operated on (Close, Ioctl, Pread, Pwrite, Fsync, Fallocate) or the loop index
  // (Open of Node::Loop, Sysfs).
  Value subject{};

  // Ioctl.
  Req req = Req::Unknown;
  uint64_t raw_req = 0;  // the request number when req == Req::Unknown
  ArgKind arg_kind = ArgKind::None;
  Value arg{};          // ArgKind::Number
  StructFields fields;  // ArgKind::Struct

  // Pread / Pwrite / Truncate / Fallocate.
  Value offset{};           // I/O offset, new size for Truncate, start for Fallocate
  uint64_t length = 0;      // I/O length, Fallocate's len (at most INT64_MAX)
  uint32_t seed = 0;        // Pwrite pattern seed
  uint8_t falloc_mode = 0;  // Fallocate: FallocFlag bits

  // Sysfs.
  SysAttr attr = SysAttr::Size;

  friend bool operator==(const Op&, const Op&) = default;
};

// ---- outcomes ---------------------------------------------------------------------
// What bytes a read returned, described rather than stored: runs of zeros, of a
// fill byte, or of a pwrite pattern starting at a given index. A target that
// returns real bytes is compared by materialising this description (trace/data.h).
// Kind::Bytes is a run that is none of the others (what describe_bytes gives for
// arbitrary content): only its XXH3-64 digest is kept, so it can be compared but
// not reproduced (materialize writes zeros for it).
struct DataSegment {
  enum class Kind : uint8_t { Zero, Fill, Pattern, Bytes };
  Kind kind = Kind::Zero;
  uint8_t fill = 0;
  uint32_t seed = 0;
  uint64_t index = 0;   // first pattern index of this run
  uint64_t length = 0;  // bytes; the last segment of an expectation may be 0 = "the rest"
  uint64_t digest = 0;  // Kind::Bytes: XXH3-64 of the run's bytes
  friend bool operator==(const DataSegment&, const DataSegment&) = default;
};

struct DataDesc {
  uint8_t count = 0;
  std::array<DataSegment, kMaxDataSegments> seg{};
  friend bool operator==(const DataDesc&, const DataDesc&) = default;
};

// What a GET_STATUS returned (loop_info64 or the legacy loop_info, widened).
struct StatusInfo {
  uint64_t device = 0, inode = 0, rdevice = 0;
  uint64_t offset = 0, sizelimit = 0;
  uint32_t number = 0, encrypt_type = 0, encrypt_key_size = 0, flags = 0;
  Name64 name;
  friend bool operator==(const StatusInfo&, const StatusInfo&) = default;
};

// How a returned number must be compared across targets. Fds, device indices,
// dev_t and inode numbers differ between machines and are compared up to a
// consistent renaming (trace-format.md, "Results that cannot be compared literally").
enum class ValueRole : uint8_t { Plain, Fd, DevIndex };

struct Outcome {
  enum class Kind : uint8_t { Value, Error, Status, Data, Text, Uevents, Skipped };
  Kind kind = Kind::Value;
  ValueRole role = ValueRole::Plain;
  int32_t err = 0;         // errno for Kind::Error
  int64_t value = 0;       // return value (Value, Data: bytes transferred, Status: 0)
  StatusInfo status;       // Kind::Status
  DataDesc data;           // Kind::Data (model only; real targets fill `digest`)
  bool data_known = true;  // false: the model cannot predict the bytes (stale cache)
  // The model's envelope: where the kernel's result depends on things a trace does
  // not control (readahead, writeback timing), the model may also accept this errno
  // in place of its main outcome. 0 = no alternative.
  int32_t also_err = 0;
  // The model's envelope for a byte count readahead decides (Data, or a pwrite's
  // Value): any count
  // in [min_value, value] is accepted too, the bytes then unchecked. 0 = none.
  int64_t min_value = 0;
  // Which model rule set also_err, min_value and data_known = false (None when unset).
  EnvelopeRule err_rule = EnvelopeRule::None;
  EnvelopeRule count_rule = EnvelopeRule::None;
  EnvelopeRule data_rule = EnvelopeRule::None;
  // The model does not predict this step at all (data_rule says why): any
  // outcome the target shows passes, counted as unchecked.
  bool any = false;
  uint64_t digest = 0;  // digest_bytes() (XXH3-64) of the bytes read, when a target read real bytes
  std::array<char, kMaxTextSize> text{};  // Kind::Text (sysfs), NUL-terminated
  uint8_t text_len = 0;
  UeventList uevents;  // Kind::Uevents

  static Outcome ok(int64_t v, ValueRole r = ValueRole::Plain) {
    Outcome o;
    o.kind = Kind::Value;
    o.value = v;
    o.role = r;
    return o;
  }
  static Outcome error(int e) {
    Outcome o;
    o.kind = Kind::Error;
    o.err = e;
    return o;
  }
  static Outcome events(const UeventList& list) {
    Outcome o;
    o.kind = Kind::Uevents;
    o.uevents = list;
    return o;
  }
  static Outcome skipped() {
    Outcome o;
    o.kind = Kind::Skipped;
    return o;
  }
  std::string_view text_view() const { return {text.data(), text_len}; }
  void set_text(std::string_view s);
};

// ---- expectations ------------------------------------------------------------------
struct ExpectAlt {
  enum class Kind : uint8_t { Value, Errno, Status, Data, Text, Uevents };
  Kind kind = Kind::Value;
  int64_t value = 0;      // Value, Data (byte count)
  int32_t err = 0;        // Errno
  StructFields fields;    // Status: only listed fields are checked
  bool has_data = false;  // Data: `data=` given
  // Value: `MIN..MAX` accepts any count in [range_min, value] (the model's count
  // envelope, as `record` writes it); never with data=.
  bool ranged = false;
  int64_t range_min = 0;
  DataDesc data;
  std::string text;    // Text
  UeventList uevents;  // Uevents
  friend bool operator==(const ExpectAlt&, const ExpectAlt&) = default;
};

struct Expectation {
  uint8_t count = 0;  // 0 = no written expectation
  std::array<ExpectAlt, kMaxAlternatives> alt{};
  friend bool operator==(const Expectation&, const Expectation&) = default;
};

// ---- statements and traces -------------------------------------------------------------
struct SourcePos {
  uint32_t line = 0, col = 0;
  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

struct Statement {
  SourcePos pos;
  int16_t bind = -1;  // variable slot bound by this statement, or -1
  // 0: a sequential statement; k >= 1: a statement of thread k-1 of the trace's
  // concurrent block (ConcurrentBlock::threads).
  uint8_t thread = 0;
  Op op;
  Expectation expect;
};

// ---- concurrent blocks (language version 2) ---------------------------------------------
inline constexpr int kMaxThreads = 4;              // threads in a concurrent block
inline constexpr int kMaxThreadStatements = 8;     // statements of one thread
inline constexpr int kMaxBlockStatements = 16;     // statements of a whole block
inline constexpr int kMaxAllowedTuples = 64;       // `allow` lines of a block
inline constexpr uint32_t kMaxRepeat = 1'000'000;  // `repeat=N`
inline constexpr int kMaxBlocks = 1;               // concurrent blocks in a trace

// One statement's outcome as an `allow` line names it: coarse enough to be the
// same on every machine (an fd is `fd`, a device index `dev`), fine enough to
// tell the orders of a race apart (an errno, a byte count).
struct TupleOutcome {
  enum class Kind : uint8_t { Any, Value, Fd, Dev, Errno, Status, Text };
  Kind kind = Kind::Any;
  int32_t err = 0;    // Errno
  int64_t value = 0;  // Value
  friend bool operator==(const TupleOutcome&, const TupleOutcome&) = default;
  friend auto operator<=>(const TupleOutcome&, const TupleOutcome&) = default;
};

// One outcome per statement of the block, in Trace::stmts order.
struct OutcomeTuple {
  uint8_t count = 0;
  std::array<TupleOutcome, kMaxBlockStatements> at{};
  friend bool operator==(const OutcomeTuple&, const OutcomeTuple&) = default;
  friend auto operator<=>(const OutcomeTuple&, const OutcomeTuple&) = default;
};

// How a block thread runs on a real target. A thread of the checker's process
// shares its fd table; a `process` thread (`thread udev process`) is a process of
// its own, with its own fd table, as udev probing a new device is: opens and
// closes in it never contend for the checker's fd table lock, and its fds are
// nobody else's. The model does not tell them apart (the loop driver counts
// openers, not processes); validate_block.cpp keeps a process's fds its own.
enum class ThreadKind : uint8_t { Thread, Process };

// Statements [first, end) of Trace::stmts run as threads started together after a
// common barrier; each thread's statements are contiguous and in order (thread 1's
// first). `allowed`: the outcome tuples a run may show (empty: no written
// expectation, the model's set is the oracle). `repeat`: how many times a real
// target runs the whole trace, to expose rare orders.
struct ConcurrentBlock {
  uint32_t first = 0;
  uint32_t end = 0;
  uint32_t repeat = 1;
  std::vector<std::string> threads;
  std::vector<ThreadKind> kinds;  // one per thread
  std::vector<OutcomeTuple> allowed;
  SourcePos pos;
  SourcePos end_pos;
  friend bool operator==(const ConcurrentBlock&, const ConcurrentBlock&) = default;
};

// An MBR partition table a file is created with (`mbr=START+SIZE,...`): up to
// four primary entries, numbered by their slot (an entry with START and SIZE
// both 0 is an empty slot). START and SIZE are in the table's sectors, which a
// kernel reads as 512-byte units on a disk of 512-byte logical blocks
// (trace/partition_table.h writes the bytes).
struct PartitionEntry {
  uint32_t start = 0;
  uint32_t size = 0;
  friend bool operator==(const PartitionEntry&, const PartitionEntry&) = default;
};
struct PartitionTable {
  uint8_t count = 0;  // slots written: 0 = no table
  std::array<PartitionEntry, kMaxPartitions> entry{};
  friend bool operator==(const PartitionTable&, const PartitionTable&) = default;
};

struct ObjectDecl {
  enum class Kind : uint8_t { File, Dir };
  Kind kind = Kind::File;
  std::string name;
  uint64_t size = 0;
  uint8_t fill = 0;
  PartitionTable mbr;  // written over the file's first 512 bytes after the fill
  SourcePos pos;
  friend bool operator==(const ObjectDecl&, const ObjectDecl&) = default;
};

enum class EnvKey : uint8_t {
  Precreated,
  CapSysAdmin,
  DioAlign,
  BdevBlockSize,
  Thp,
  MaxPart,
  Rotational,
  Cgroup,
  MsdosPartitions,
};
inline constexpr int kEnvKeyCount = static_cast<int>(EnvKey::MsdosPartitions) + 1;

// Environment facts (`@env`). Never guessed by the model: a target reports what
// it has, and a trace may pin them.
struct Env {
  uint32_t precreated = 8;    // loop devices that exist at start (max_loop)
  bool cap_sys_admin = true;  // the caller has CAP_SYS_ADMIN
  // The backing filesystem's direct-I/O facts: minimum DIO offset alignment
  // (statx dio_offset_align; 0 = the filesystem cannot do O_DIRECT) and the
  // logical block size of the filesystem's block device (0 = it has none, tmpfs).
  uint32_t dio_align = 512;
  uint32_t bdev_block_size = 512;
  bool thp = true;  // CONFIG_TRANSPARENT_HUGEPAGE: 6.15+ allows block sizes to 64 KiB
  uint32_t max_part = 0;
  // The backing filesystem's block device is rotational (queue/rotational): a bind
  // copies it into the loop queue, which on 6.18 raises read-ahead (model/profile.h
  // rotational_bind_raises_readahead). A target fills it in when the trace does not
  // pin it (Target::describe_env): the host from its sandbox's disk, a VM guest's
  // NVMe disk says 0. 1 is this project's hosts' virtio disk.
  bool rotational = true;
  // The trace's steps run from a cgroup below the root with the io and memory
  // controllers on (6.1+: the loop driver queues their requests on a worker of
  // that cgroup, loop_queue_work). No outcome depends on it; a target that cannot
  // place its steps so refuses the trace (only vm: targets can).
  bool cgroup = false;
  // The kernel reads MBR partition tables (CONFIG_MSDOS_PARTITION): a partition
  // scan finds a table's partitions only then. Debian's kernels do; a kernel
  // built without it (this project's hosts) scans and finds none. A target fills
  // it in when the trace does not pin it.
  bool msdos_partitions = true;
  friend bool operator==(const Env&, const Env&) = default;
};

struct Trace {
  std::string source;  // file name for messages
  int version = 1;
  std::string profile;  // empty: not given
  Env env;
  uint16_t env_given = 0;  // bit (1 << EnvKey) per @env key written (for printing)
  std::vector<ObjectDecl> objects;
  std::vector<std::string> vars;  // slot -> name
  std::vector<Statement> stmts;
  std::vector<ConcurrentBlock> blocks;  // at most kMaxBlocks; needs version 2
  bool concurrent() const { return !blocks.empty(); }
};

}  // namespace loopcheck
