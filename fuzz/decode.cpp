#include "fuzz/decode.h"

#include <fmt/format.h>

#include <cassert>
#include <climits>
#include <string>
#include <vector>

#include "fuzz/boundary_values.h"
#include "trace/ops.h"
#include "trace/validate.h"

namespace loopcheck::fuzz {
namespace {

// ---- boundary tables ---------------------------------------------------------------
// Each argument byte indexes one of these (modulo its size). They hold the values
// the kernel compares against (sector and page multiples and their neighbours, the
// sandbox files' sizes, the sign bit, the type maxima) so that a one-byte mutation
// always lands on an interesting value rather than an arbitrary large number.
constexpr uint64_t kImgSize = 64 << 10;  // sandbox file 0
constexpr uint64_t kSmallSize = 1000;    // sandbox file 1: a ragged tail
constexpr uint64_t kU64Max = UINT64_MAX;
constexpr uint64_t kS64Max = static_cast<uint64_t>(INT64_MAX);

constexpr std::array<uint64_t, 16> kStructOffsets{
    0,          512,     4096,       1,       511,  kImgSize - 512, kImgSize,        1 << 20,
    1ull << 62, kS64Max, 1ull << 63, kU64Max, 4095, 8192,           kImgSize - 4096, kSmallSize};
constexpr std::array<uint64_t, 12> kSizelimits{
    0, 4096, 512, 1, 511, 60000, kImgSize, kImgSize + 1, 1 << 20, kU64Max, kS64Max, kSmallSize};
constexpr std::array<int64_t, 8> kLegacyOffsets{0, 512, 4096, 1, -1, -512, INT32_MAX, INT32_MIN};
constexpr std::array<uint64_t, 4> kDioArgs{0, 1, 2, kU64Max};
constexpr std::array<int64_t, 16> kIoOffsets{0,
                                             512,
                                             4096,
                                             1,
                                             511,
                                             kImgSize - 512,
                                             kImgSize,
                                             kImgSize - 4096,
                                             static_cast<int64_t>(kSmallSize),
                                             -1,
                                             -512,
                                             1ll << 40,
                                             INT64_MAX,
                                             1 << 20,
                                             8192,
                                             999};
constexpr std::array<uint64_t, 12> kIoLengths{512,  4096, 0,        1,    511,  513,
                                              1024, 8192, kImgSize, 4095, 2048, 1000};
constexpr std::array<uint64_t, 8> kTruncateSizes{0,        512,          kSmallSize, 4096,
                                                 kImgSize, kImgSize + 1, 1 << 20,    511};
// LOOP_CTL_ADD: -1 picks the lowest free index; precreated ones collide (EEXIST);
// 2^20 - 1 is the largest minor, 2^20 the first invalid one.
constexpr std::array<int64_t, 6> kAddArgs{-1, -1, 3, 9, (1 << 20) - 1, 1 << 20};
constexpr std::array<int64_t, 5> kRemoveArgs{-1, 0, 7, 1 << 20, INT64_MIN};
// Literal device numbers: low ones (precreated, or created by opening them: legacy
// autoload) and numbers past the minor range, which never create a device.
constexpr std::array<uint64_t, 4> kLiteralIndices{0, 7, 1 << 20, INT32_MAX};
constexpr std::array<int64_t, 4> kRoSetArgs{0, 1, -1, 2};
// The sandbox's partitioned "disk" (object 3, 128 sectors): partition 1 at
// sectors 8..39, slot 2 empty, partition 3 at 64 reaching past the end (cut to
// 64 sectors). Partition opens and sysfs name 1 or 3.
constexpr uint8_t kDiskObject = 3;
constexpr PartitionTable kDiskTable{3, {{{8, 32}, {0, 0}, {64, 200}, {0, 0}}}};
constexpr std::array<uint8_t, 2> kPartitions{1, 3};
// BLKDISCARD / BLKZEROOUT ranges: whole pages and sectors, a partial page, the
// device's last sector of a 64 KiB file, misaligned, zero, and wrapping ones.
constexpr std::array<uint64_t, 8> kRangeStarts{0, 4096, 512, 8192, 1, 65024, 61440, kU64Max - 511};
constexpr std::array<uint64_t, 8> kRangeLengths{4096, 512,   8192, 0,
                                                1024, 65536, 511,  kU64Max - 511};
// fallocate(2): the same starts (the last is negative as a loff_t); lengths up to
// INT64_MAX; the three modes a block device takes, and ones every file refuses.
constexpr std::array<uint64_t, 8> kFallocLengths{4096, 512,   8192, 0,
                                                 1024, 65536, 511,  uint64_t{INT64_MAX}};
constexpr std::array<uint8_t, 8> kFallocModes{
    kFallocZeroRange,
    kFallocZeroRange | kFallocKeepSize,
    kFallocPunchHole | kFallocKeepSize,
    kFallocPunchHole | kFallocKeepSize | kFallocNoHideStale,
    kFallocPunchHole | kFallocKeepSize,
    0,
    kFallocKeepSize,
    kFallocPunchHole,
};
// BLKSECDISCARD only ever fails on a loop device: a fifth of the picks.
constexpr std::array<Req, 5> kRangeTakers{Req::BlkDiscard, Req::BlkZeroout, Req::BlkDiscard,
                                          Req::BlkZeroout, Req::BlkSecDiscard};
// Request numbers the language does not name, none taking a pointer (the targets
// pass a number argument as is).
constexpr std::array<uint64_t, 6> kUnknownRequests{0x4C0B, 0x4C0C, 0x4C83, 0x4CFF, 0x4C7F, 0x1};
constexpr std::array<uint32_t, 4> kEncryptTypes{0, 0, 1 /* XOR */, 18 /* CRYPTOAPI */};
constexpr std::array<uint32_t, 4> kKeySizes{0, 0, 32, 33};
constexpr std::array<Req, 6> kGetters{Req::BlkGetSize64, Req::BlkGetSize, Req::BlkSszGet,
                                      Req::BlkBszGet,    Req::BlkPbszGet, Req::BlkRoGet};
constexpr std::array<Req, 6> kNullTakers{Req::LoopSetStatus64, Req::LoopGetStatus64,
                                         Req::LoopConfigure,   Req::LoopGetStatus,
                                         Req::BlkDiscard,      Req::BlkZeroout};
constexpr std::array<uint8_t, 8> kOpenFlagSets{
    0, 0, 0, kOpenExcl, kOpenDirect, kOpenSync, kOpenNonblock, kOpenExcl | kOpenDirect};

template <typename T, size_t N>
T pick(const std::array<T, N>& table, uint8_t byte) {
  return table[byte % N];
}

// What a record asks for. The order is part of the input format: seeds and
// findings stay meaningful only while it does not change.
enum class Choice : uint8_t {
  OpenControl,
  GetFree,
  CtlAdd,
  CtlRemove,
  OpenLoop,
  OpenFile,
  OpenDir,
  Close,
  SetFd,
  ClrFd,
  SetStatus64,
  SetStatus,
  GetStatus64,
  GetStatus,
  Configure,
  ChangeFd,
  SetCapacity,
  SetDirectIo,
  SetBlockSize,
  BlockGetter,
  BlkRoSet,
  BlkFlsBuf,
  DiscardOrZeroout,
  Pwrite,
  Pread,
  Fsync,
  Truncate,
  Fallocate,
  Sysfs,
  UnknownIoctl,
  NullPointer,
  Allocated,
  kCount,
};
constexpr int kChoiceCount = static_cast<int>(Choice::kCount);

// A record's operation and the slot kind it binds (None: it binds no slot).
struct DecodedOp {
  Op op;
  SlotKind binds = SlotKind::None;
};

class Decoder {
 public:
  Decoder(Program& out) : out_(out) {}

  void record(const uint8_t* r) {
    assert(out_.count < kMaxStatements);
    const Choice asked = static_cast<Choice>(r[0] % kChoiceCount);
    const DecodedOp decoded = decode_op(within_bounds(with_prerequisites(asked)), r);
    count_opens_and_creators(decoded.op);
    FuzzStatement st;
    st.op = decoded.op;
    if (decoded.binds != SlotKind::None) st.bind = bind_slot(decoded.binds);
    out_.stmts[out_.count++] = st;
  }

 private:
  // Prerequisites first: an operation whose operand kind nobody bound yet
  // becomes the statement that binds one (as the state-machine test does).
  Choice with_prerequisites(Choice choice) const {
    const bool needs_ctl =
        choice == Choice::GetFree || choice == Choice::CtlAdd || choice == Choice::CtlRemove;
    const bool needs_dev = choice >= Choice::SetFd && choice <= Choice::DiscardOrZeroout;
    if (needs_dev && count(SlotKind::DeviceFd) == 0) {
      choice = count(SlotKind::Index) > 0 || creators_ >= kMaxDeviceCreators ? Choice::OpenLoop
                                                                             : Choice::GetFree;
    }
    if ((needs_ctl || choice == Choice::GetFree) && count(SlotKind::Control) == 0)
      choice = Choice::OpenControl;
    return choice;
  }

  // The model's bounds: past them, an operation that would open or create
  // decodes as a harmless read of state instead.
  Choice within_bounds(Choice choice) const {
    const bool opens = choice == Choice::OpenControl || choice == Choice::OpenLoop ||
                       choice == Choice::OpenFile || choice == Choice::OpenDir;
    const bool creates = choice == Choice::GetFree || choice == Choice::CtlAdd;
    if ((opens && opens_ >= kMaxOpens) || (creates && creators_ >= kMaxDeviceCreators))
      return Choice::Sysfs;
    return choice;
  }

  // One helper per operation family; the switch names every choice, so a new
  // one cannot be left undecoded.
  DecodedOp decode_op(Choice choice, const uint8_t* r) const {
    switch (choice) {
      case Choice::OpenControl:
      case Choice::GetFree:
      case Choice::CtlAdd:
      case Choice::CtlRemove:
        return control_op(choice, r);
      case Choice::OpenLoop:
      case Choice::OpenFile:
      case Choice::OpenDir:
      case Choice::Close:
        return open_or_close_op(choice, r);
      case Choice::SetFd:
      case Choice::ClrFd:
      case Choice::GetStatus64:
      case Choice::GetStatus:
      case Choice::ChangeFd:
      case Choice::SetCapacity:
      case Choice::SetDirectIo:
      case Choice::SetBlockSize:
      case Choice::BlockGetter:
      case Choice::BlkRoSet:
      case Choice::BlkFlsBuf:
      case Choice::DiscardOrZeroout:
        return device_ioctl_op(choice, r);
      case Choice::SetStatus64:
      case Choice::SetStatus:
      case Choice::Configure:
        return status_struct_op(choice, r);
      case Choice::Pwrite:
      case Choice::Pread:
      case Choice::Fsync:
      case Choice::Truncate:
      case Choice::Fallocate:
      case Choice::Sysfs:
      case Choice::Allocated:
        return io_or_sysfs_op(choice, r);
      case Choice::UnknownIoctl:
      case Choice::NullPointer:
        return malformed_ioctl_op(choice, r);
      case Choice::kCount:
        break;
    }
    assert(false && "choice is reduced modulo kChoiceCount");
    return {};
  }

  // Loop-control: open it, and the requests that create or remove devices.
  DecodedOp control_op(Choice choice, const uint8_t* r) const {
    switch (choice) {
      case Choice::OpenControl:
        return {op_open_loop_control(access(r[5])), SlotKind::Control};
      case Choice::GetFree:
        return {op_ioctl_noarg(var(SlotKind::Control, r[1]), Req::LoopCtlGetFree), SlotKind::Index};
      case Choice::CtlAdd:
        return {op_ioctl(var(SlotKind::Control, r[1]), Req::LoopCtlAdd,
                         Value::signed_literal(pick(kAddArgs, r[3]))),
                SlotKind::Index};
      case Choice::CtlRemove: {
        Value index = count(SlotKind::Index) > 0 && r[3] % 4 != 0
                          ? var(SlotKind::Index, r[2])
                          : Value::signed_literal(pick(kRemoveArgs, r[4]));
        return {op_ioctl(var(SlotKind::Control, r[1]), Req::LoopCtlRemove, index)};
      }
      default:
        assert(false && "not a loop-control choice");
        return {};
    }
  }

  // Opening a loop device, a sandbox file or the directory; closing any fd.
  DecodedOp open_or_close_op(Choice choice, const uint8_t* r) const {
    switch (choice) {
      case Choice::OpenLoop:
        // One in four of r[7]: a partition of the device (1 or 3, as the
        // sandbox's "disk" has them) instead of the whole disk.
        if (r[7] % 4 == 3)
          return {op_open_partition(index_operand(r[1], r[3]), kPartitions[(r[7] >> 2) % 2],
                                    access(r[5]), pick(kOpenFlagSets, r[6])),
                  SlotKind::PartitionFd};
        return {op_open_loop(index_operand(r[1], r[3]), access(r[5]), pick(kOpenFlagSets, r[6])),
                SlotKind::DeviceFd};
      case Choice::OpenFile:
        // One in four of r[7]: the partitioned "disk" (object 3).
        return {op_open_file(r[7] % 4 == 3 ? kDiskObject : r[2] % 2, access(r[5]),
                             pick(kOpenFlagSets, r[6])),
                SlotKind::FileFd};
      case Choice::OpenDir:
        return {op_open_dir(2, r[5] % 4 == 0 ? Access::Rw : Access::Ro), SlotKind::FileFd};
      case Choice::Close:
        if (r[7] % 4 == 3 && count(SlotKind::PartitionFd) > 0)
          return {op_close(var(SlotKind::PartitionFd, r[1]))};
        return {op_close(any_fd(r[1], r[2]))};
      default:
        assert(false && "not an open or close choice");
        return {};
    }
  }

  // The loop and block ioctls that take no status struct.
  DecodedOp device_ioctl_op(Choice choice, const uint8_t* r) const {
    // The geometry getters and BLKFLSBUF / BLKRRPART go to a partition one time
    // in four when one is open.
    const bool to_partition = (choice == Choice::BlockGetter || choice == Choice::BlkFlsBuf) &&
                              r[7] % 4 == 3 && count(SlotKind::PartitionFd) > 0;
    const Value dev = to_partition ? var(SlotKind::PartitionFd, r[1]) : device_operand(r[1], r[5]);
    switch (choice) {
      case Choice::SetFd:
        return {op_ioctl(dev, Req::LoopSetFd, backing(r[2], r[3]))};
      case Choice::ClrFd:
        return {op_ioctl_noarg(dev, Req::LoopClrFd)};
      case Choice::GetStatus64:
        return {op_ioctl_noarg(dev, Req::LoopGetStatus64)};
      case Choice::GetStatus:
        return {op_ioctl_noarg(dev, Req::LoopGetStatus)};
      case Choice::ChangeFd:
        return {op_ioctl(dev, Req::LoopChangeFd, backing(r[2], r[3]))};
      case Choice::SetCapacity:
        return {op_ioctl_noarg(dev, Req::LoopSetCapacity)};
      case Choice::SetDirectIo:
        return {op_ioctl(dev, Req::LoopSetDirectIo, Value::literal(pick(kDioArgs, r[3])))};
      case Choice::SetBlockSize:
        return {op_ioctl(dev, Req::LoopSetBlockSize, Value::literal(pick(kBlockSizes, r[3])))};
      case Choice::BlockGetter:
        return {op_ioctl_noarg(dev, pick(kGetters, r[3]))};
      case Choice::BlkRoSet:
        return {op_ioctl(dev, Req::BlkRoSet, Value::signed_literal(pick(kRoSetArgs, r[3])))};
      case Choice::BlkFlsBuf:  // r[7] bit 2: the partition rescan instead
        return {op_ioctl_noarg(dev, (r[7] & 4) ? Req::BlkRrPart : Req::BlkFlsBuf)};
      case Choice::DiscardOrZeroout:
        return {op_ioctl_range(dev, pick(kRangeTakers, r[2]), pick(kRangeStarts, r[3]),
                               pick(kRangeLengths, r[4]))};
      default:
        assert(false && "not a device ioctl choice");
        return {};
    }
  }

  // The ioctls that write a status struct: SET_STATUS64, legacy SET_STATUS, CONFIGURE.
  DecodedOp status_struct_op(Choice choice, const uint8_t* r) const {
    const Value dev = device_operand(r[1], r[5]);
    StructFields f = status_fields(r);
    switch (choice) {
      case Choice::SetStatus64:
        f.set(Field::Sizelimit, Value::literal(pick(kSizelimits, r[4])));
        return {op_ioctl_struct(dev, Req::LoopSetStatus64, f)};
      case Choice::SetStatus:
        f.set(Field::Offset, Value::signed_literal(pick(kLegacyOffsets, r[3])));
        // The legacy struct's flags are an int: the same bits, written signed.
        f.set(Field::Flags, Value::signed_literal(static_cast<int32_t>(f.get(Field::Flags))));
        return {op_ioctl_struct(dev, Req::LoopSetStatus, f)};
      case Choice::Configure: {
        Value fd = backing(r[2], r[7]);
        // loop_config.fd is a u32: "no fd" is written as its bit pattern.
        if (fd.is_literal()) fd = Value::literal(0xffffffffu);
        f.set(Field::Fd, fd);
        f.set(Field::BlockSize, Value::literal(pick(kBlockSizes, r[4]) & 0xffffffffu));
        return {op_ioctl_struct(dev, Req::LoopConfigure, f)};
      }
      default:
        assert(false && "not a status struct choice");
        return {};
    }
  }

  // Reads, writes and syncs through an fd; truncating a sandbox file; a sysfs read.
  DecodedOp io_or_sysfs_op(Choice choice, const uint8_t* r) const {
    switch (choice) {
      case Choice::Pwrite:
        return {op_pwrite(io_fd(r[1], r[5]), pick(kIoOffsets, r[3]), pick(kIoLengths, r[4]),
                          r[6] % 8 + 1)};
      case Choice::Pread:
        return {op_pread(io_fd(r[1], r[5]), pick(kIoOffsets, r[3]), pick(kIoLengths, r[4]))};
      case Choice::Fsync:
        return {op_fsync(any_fd(r[1], r[2]))};
      case Choice::Truncate:
        return {op_truncate(r[2] % 2, pick(kTruncateSizes, r[3]))};
      case Choice::Fallocate:
        return {op_fallocate(io_fd(r[1], r[5]), static_cast<int64_t>(pick(kRangeStarts, r[3])),
                             pick(kFallocLengths, r[4]), pick(kFallocModes, r[6]))};
      case Choice::Sysfs: {
        // Bit 7 of byte 7: the other read of state, the uevents so far.
        if (r[7] & 0x80) return {op_uevents()};
        Op op = op_sysfs(index_operand(r[1], r[3]), static_cast<SysAttr>(r[4] % kSysAttrCount));
        // A partition's attributes name one; size and ro do one time in four.
        if (!sysattr_of_disk(op.attr) || (sysattr_of_partition(op.attr) && r[7] % 4 == 3))
          op.part = kPartitions[(r[7] >> 2) % 2];
        return {op};
      }
      case Choice::Allocated:
        return {op_allocated(r[2] % 2)};  // the file objects, as Truncate picks them
      default:
        assert(false && "not an I/O or sysfs choice");
        return {};
    }
  }

  // Requests the language does not name, and named ones given a NULL or unmapped pointer.
  DecodedOp malformed_ioctl_op(Choice choice, const uint8_t* r) const {
    const Value dev = device_operand(r[1], r[5]);
    if (choice == Choice::UnknownIoctl) {
      return {op_ioctl_raw(r[5] & 0x40 ? any_fd(r[1], r[2]) : dev, pick(kUnknownRequests, r[3]),
                           Value::literal(r[4]))};
    }
    assert(choice == Choice::NullPointer);
    Op op = op_ioctl_null(dev, pick(kNullTakers, r[3]));
    if (r[4] & 1) op.arg_kind = ArgKind::Fault;  // an unmapped page instead of NULL
    return {op};
  }

  // What the model's bounds count: open descriptions and device creators.
  void count_opens_and_creators(const Op& op) {
    if (op.kind == OpKind::Open) ++opens_;
    // Opening a missing device by number creates it (legacy autoload).
    if (op.kind == OpKind::Open && op.node == Node::Loop && op.subject.is_literal()) ++creators_;
    if (op.kind == OpKind::Ioctl && (op.req == Req::LoopCtlAdd || op.req == Req::LoopCtlGetFree)) {
      ++creators_;
    }
  }

  uint8_t bind_slot(SlotKind kind) {
    const uint8_t slot = out_.count;  // one fresh slot per statement: never more than kMaxVars
    out_.slot_kind[slot] = kind;
    slots_[static_cast<int>(kind)][count(kind)] = slot;
    ++counts_[static_cast<int>(kind)];
    return slot;
  }
  int count(SlotKind k) const { return counts_[static_cast<int>(k)]; }

  Value var(SlotKind k, uint8_t byte) const {
    assert(count(k) > 0);
    return Value::variable(slots_[static_cast<int>(k)][byte % count(k)]);
  }

  static Access access(uint8_t byte) {
    constexpr std::array<Access, 4> kAccess{Access::Rw, Access::Rw, Access::Ro, Access::Wo};
    return pick(kAccess, byte);
  }

  // The fd a loop ioctl goes to: usually a device fd, sometimes any other fd
  // (ENOTTY paths) or -1 (EBADF).
  Value device_operand(uint8_t pick_byte, uint8_t mode) const {
    if ((mode & 0x80) == 0 && count(SlotKind::DeviceFd) > 0)
      return var(SlotKind::DeviceFd, pick_byte);
    if ((mode & 0xc0) == 0xc0) return Value::signed_literal(-1);
    return any_fd(pick_byte, mode);
  }

  Value index_operand(uint8_t pick_byte, uint8_t literal_byte) const {
    if (count(SlotKind::Index) > 0 && literal_byte % 8 != 0) return var(SlotKind::Index, pick_byte);
    // Past the device bound only numbers that cannot create a device.
    const uint8_t i = creators_ < kMaxDeviceCreators ? literal_byte / 8 : 2 + literal_byte / 8 % 2;
    return Value::literal(pick(kLiteralIndices, i));
  }

  // Any bound fd (control, device, file), or -1 when there is none.
  Value any_fd(uint8_t pick_byte, uint8_t kind_byte) const {
    constexpr std::array<SlotKind, 3> kFdKinds{SlotKind::DeviceFd, SlotKind::FileFd,
                                               SlotKind::Control};
    for (size_t i = 0; i < kFdKinds.size(); ++i) {
      SlotKind k = kFdKinds[(kind_byte + i) % kFdKinds.size()];
      if (count(k) > 0) return var(k, pick_byte);
    }
    return Value::signed_literal(-1);
  }

  // Reads and writes go to a device fd mostly, to a file fd sometimes (so the
  // backing file changes under a bound device).
  Value io_fd(uint8_t pick_byte, uint8_t mode) const {
    if (mode % 4 == 3 && count(SlotKind::FileFd) > 0) return var(SlotKind::FileFd, pick_byte);
    return device_operand(pick_byte, mode);
  }

  // A backing fd: a file (mostly), another device (stacking), or -1.
  Value backing(uint8_t pick_byte, uint8_t kind_byte) const {
    const int r = kind_byte % 10;
    if (r < 7 && count(SlotKind::FileFd) > 0) return var(SlotKind::FileFd, pick_byte);
    if (r < 9 && count(SlotKind::DeviceFd) > 0) return var(SlotKind::DeviceFd, pick_byte);
    return Value::signed_literal(-1);
  }

  static StructFields status_fields(const uint8_t* r) {
    StructFields f;
    f.set(Field::Offset, Value::literal(pick(kStructOffsets, r[3])));
    f.set(Field::Flags, Value::literal(pick(kFlagSets, r[6])));
    if (uint32_t t = pick(kEncryptTypes, r[7] >> 2)) f.set(Field::EncryptType, Value::literal(t));
    if (uint32_t k = pick(kKeySizes, r[7] >> 4)) f.set(Field::EncryptKeySize, Value::literal(k));
    if ((r[7] & 3) == 3) {
      // A full 64-byte name: the kernel copies it without a terminator.
      f.present |= field_bit(Field::Name);
      f.name.len = (r[7] & 0x40) ? kNameSize : 3;
      for (int i = 0; i < f.name.len; ++i) f.name.bytes[i] = static_cast<char>('a' + i % 26);
    }
    return f;
  }

  Program& out_;
  std::array<std::array<uint8_t, kMaxVars>, kSlotKindCount> slots_{};
  std::array<int, kSlotKindCount> counts_{};
  int opens_ = 0;
  int creators_ = 0;
};

std::vector<ObjectDecl> make_sandbox() {
  return {
      ObjectDecl{ObjectDecl::Kind::File, "img", kImgSize, 0, {}, {}},
      ObjectDecl{ObjectDecl::Kind::File, "small", kSmallSize, 0xcd, {}, {}},
      ObjectDecl{ObjectDecl::Kind::Dir, "d", 0, 0, {}, {}},
      ObjectDecl{ObjectDecl::Kind::File, "disk", kImgSize, 0, kDiskTable, {}},
  };
}

}  // namespace

Env default_fuzz_env() {
  Env env;
  env.precreated = 0;
  return env;
}

std::span<const ObjectDecl> sandbox_objects() {
  static const std::vector<ObjectDecl> objects = make_sandbox();
  return objects;
}

void decode(std::span<const uint8_t> bytes, Program& out, const DecodeOptions& options) {
  out.count = 0;
  out.slot_kind.fill(SlotKind::None);
  out.env = options.env;
  if (options.forced_profile) {
    out.profile = options.forced_profile;
  } else {
    const uint8_t header = bytes.empty() ? 0 : bytes[0];
    // The default profile for the common header byte 0; the others follow.
    constexpr std::array<const model::Profile*, 3> kByHeader{&model::kLinux618, &model::kLinux612,
                                                             &model::kLinux61};
    out.profile = kByHeader[header % kByHeader.size()];
  }
  if (bytes.size() <= kHeaderBytes) return;
  std::span<const uint8_t> body = bytes.subspan(kHeaderBytes);
  Decoder decoder(out);
  for (size_t at = 0; at + kRecordBytes <= body.size() && out.count < kMaxStatements;
       at += kRecordBytes) {
    decoder.record(body.data() + at);
  }
#ifndef NDEBUG
  // The decoder's promise: every byte string is a valid program.
  LOOPCHECK_VALIDATE(to_trace(out), "the fuzz decoder");
#endif
}

Trace to_trace(const Program& program) {
  Trace t;
  t.source = "fuzz";
  t.profile = std::string(program.profile->name);
  t.env = program.env;
  if (program.env.precreated != Env{}.precreated)
    t.env_given |= 1u << static_cast<int>(EnvKey::Precreated);
  auto objects = sandbox_objects();
  t.objects.assign(objects.begin(), objects.end());
  uint8_t slots = 0;
  for (uint8_t i = 0; i < program.count; ++i) {
    if (program.stmts[i].bind >= 0) slots = static_cast<uint8_t>(program.stmts[i].bind + 1);
  }
  for (uint8_t s = 0; s < slots; ++s) {
    constexpr std::array<const char*, kSlotKindCount> kPrefix{"v",   "ctl",  "n",
                                                              "dev", "file", "part"};
    t.vars.push_back(fmt::format("{}{}", kPrefix[static_cast<int>(program.slot_kind[s])], s));
  }
  for (uint8_t i = 0; i < program.count; ++i) {
    Statement st;
    st.op = program.stmts[i].op;
    st.bind = program.stmts[i].bind;
    st.pos = SourcePos{static_cast<uint32_t>(i + 1), 1};
    t.stmts.push_back(st);
  }
  return t;
}

}  // namespace loopcheck::fuzz
