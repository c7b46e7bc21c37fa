#include "fuzz/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/boundary_values.h"
#include "fuzz/prng.h"
#include "oracle/lockstep.h"
#include "trace/ops.h"
#include "trace/validate.h"

namespace loopcheck {
namespace {

constexpr uint64_t kLlongMax = static_cast<uint64_t>(LLONG_MAX);
constexpr uint64_t kSectorBytes = 512;
constexpr uint64_t kPageBytes = 4096;

// Sizes of backing files: sector multiples, a ragged tail, tiny, and room for a
// few 64 KiB blocks.
constexpr std::array<uint64_t, 6> kFileSizes{64 << 10, 1 << 20, (16 << 10) + 100,
                                             1000,     8 << 10, 256 << 10};
// Logical block sizes a real user picks: every power of two the releases accept
// (6.15+ with THP up to 64 KiB; older ones reject the sizes above a page).
constexpr std::array<uint64_t, 8> kRealBlockSizes{512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};

// Where a data-path operation lands relative to the block size: aligned to it,
// to a page, to a sector, anywhere, or at the end of the device or file.
enum class Placement : uint8_t { Block, Page, Sector, Unaligned, End };

struct Span {
  uint64_t offset_bytes = 0;
  uint64_t length_bytes = 0;
};

class TraceBuilder {
 public:
  TraceBuilder(const GenOptions& options, uint64_t index)
      : rng_(options.seed * 0x100000001B3ull ^ (index + 1) * 0x9E3779B97F4A7C15ull),
        ops_(options.ops),
        profile_(*options.profile) {
    trace_.profile = std::string(options.profile->name);
  }

  Trace build() {
    declare_objects();
    // The model runs beside the generator so that data-path operations can be
    // aimed at what the device holds now (capacity, block size, backing file):
    // a write past the end tests one error path; most writes should not.
    model_.emplace(profile_, trace_.env, trace_.objects, nullptr);
    setup();
    for (uint32_t i = 0; i < ops_; ++i) body_op();
    cleanup();
    return std::move(trace_);
  }

 private:
  struct Device {
    uint8_t index_var;
    bool added;                // by LOOP_CTL_ADD: remove at the end
    int64_t model_index = -1;  // what the model handed out (-1: the call failed)
  };
  struct DevFd {
    uint8_t var;
    size_t device;  // into devices_
    Access access;
    uint8_t flags;
  };
  struct FileFd {
    uint8_t var;
    uint8_t object;
    Access access;
    uint8_t flags;
  };

  uint8_t new_var(std::string_view prefix) {
    uint8_t slot = static_cast<uint8_t>(trace_.vars.size());
    trace_.vars.push_back(fmt::format("{}{}", prefix, slot));
    return slot;
  }

  // Appends the statement and runs it on the model; returns the model's outcome.
  Outcome emit(Op op, int bind = -1) {
    Statement s;
    s.op = op;
    s.bind = static_cast<int16_t>(bind);
    s.pos.line = static_cast<uint32_t>(trace_.stmts.size() + 1);
    s.pos.col = 1;
    trace_.stmts.push_back(s);
    return model_->step(s, false).model;
  }

  // Room left for variables: cleanup binds none, so stop binding near the bound.
  bool can_bind() const { return trace_.vars.size() + 2 < static_cast<size_t>(kMaxVars); }

  void declare_objects() {
    size_t files = 1 + rng_.below(3);
    for (size_t i = 0; i < files; ++i) {
      ObjectDecl d;
      d.kind = ObjectDecl::Kind::File;
      d.name = fmt::format("img{}", i);
      d.size = kFileSizes[rng_.below(kFileSizes.size())];
      d.fill = rng_.chance(1, 3) ? static_cast<uint8_t>(1 + rng_.below(255)) : 0;
      if (rng_.chance(1, 4)) d.mbr = partition_table_for(d.size);
      trace_.objects.push_back(d);
    }
    ObjectDecl dir;
    dir.kind = ObjectDecl::Kind::Dir;
    dir.name = "d";
    trace_.objects.push_back(dir);
    file_count_ = files;
  }

  // An MBR for a file of `size` bytes: partition 1 over its second eighth,
  // slot 2 empty, partition 3 from its middle reaching past its end (cut there).
  static PartitionTable partition_table_for(uint64_t size) {
    const auto sectors = static_cast<uint32_t>(size / 512);
    return PartitionTable{3,
                          {{{sectors / 8, sectors / 8}, {0, 0}, {sectors / 2, sectors}, {0, 0}}}};
  }

  // A sysfs read of device `index_var`: a partition's attribute (1 or 3) now and
  // then, the disk's otherwise.
  void emit_sysfs(uint8_t index_var) {
    Op op = op_sysfs(Value::variable(index_var), static_cast<SysAttr>(rng_.below(kSysAttrCount)));
    if (!sysattr_of_disk(op.attr) || (sysattr_of_partition(op.attr) && rng_.chance(1, 4)))
      op.part = rng_.chance(1, 2) ? 1 : 3;
    emit(op);
  }

  // An opener of a partition, as udev's probe or a mount would be; it holds the
  // disk open (a LOOP_CLR_FD then defers) and stays open to the end. Never a
  // backing file: the model does not follow such a binding.
  void open_partition(size_t device) {
    if (!can_bind()) return;
    const uint8_t v = new_var("part");
    emit(op_open_partition(Value::variable(devices_[device].index_var), rng_.chance(1, 2) ? 1 : 3,
                           rng_.chance(1, 2) ? Access::Ro : Access::Rw),
         v);
    partition_fds_.push_back(v);
  }

  void setup() {
    ctl_ = new_var("ctl");
    emit(op_open_loop_control(Access::Rw), ctl_);
    // A quarter of the traces take a device from LOOP_CTL_GET_FREE (and may ask
    // again later); the rest only LOOP_CTL_ADD -1, which a host run can execute
    // beside other traces (oracle/parallel_run.h).
    uses_get_free_ = rng_.chance(1, 4);
    size_t devices = 1 + rng_.below(2);
    for (size_t i = 0; i < devices; ++i) add_device(i > 0 || !uses_get_free_);
    // The first fd of each kind is the one setup binds: mostly read-write, so
    // that the body's writes are not all refused by a read-only device.
    for (size_t i = 0; i < devices; ++i) open_device(i, rng_.chance(7, 8));
    for (size_t i = 0; i < file_count_; ++i) open_file(static_cast<uint8_t>(i), rng_.chance(7, 8));
    bind_setup(devices);
  }

  // Most traces start with a device bound the way a user binds one, so that the
  // body's reads and writes have something to reach; with two devices the second
  // is often stacked on the first.
  void bind_setup(size_t devices) {
    if (device_fds_.empty() || file_fds_.empty() || !rng_.chance(3, 4)) return;
    realistic_bind(device_fds_[0], Value::variable(backing_file_fd()));
    if (devices < 2 || device_fds_.size() < 2 || !rng_.chance(2, 3)) return;
    const bool stack = rng_.chance(1, 2);
    Value backing =
        stack ? Value::variable(device_fds_[0].var) : Value::variable(backing_file_fd());
    realistic_bind(device_fds_[1], backing);
  }

  // LOOP_CONFIGURE (a real block size, sometimes direct I/O) or LOOP_SET_FD.
  void realistic_bind(const DevFd& dev, Value backing) {
    const Value fd = Value::variable(dev.var);
    if (rng_.chance(1, 3)) {
      emit(op_ioctl(fd, Req::LoopSetFd, backing));
      return;
    }
    StructFields f;
    f.set(Field::Fd, backing);
    f.set(Field::BlockSize,
          Value::literal(rng_.chance(1, 3) ? 0 : real_block_size(backing_bytes(backing))));
    // No READ_ONLY: a read-only bind is the status fuzz's; this one should write.
    static constexpr std::array<uint32_t, 6> kFlags{
        0, 0, kLoDirectIo, kLoDirectIo, kLoAutoclear, kLoPartscan};
    f.set(Field::Flags, Value::literal(kFlags[rng_.below(kFlags.size())]));
    if (rng_.chance(1, 6)) f.set(Field::Offset, Value::literal(kPageBytes * (1 + rng_.below(2))));
    emit(op_ioctl_struct(fd, Req::LoopConfigure, f));
  }

  // A block size a user would pick for `room_bytes` of data: one that leaves
  // room for two blocks (a 64 KiB block on a 1000-byte file is an edge case, so
  // only one draw in eight ignores the room).
  uint64_t real_block_size(uint64_t room_bytes = UINT64_MAX) {
    size_t fitting = 1;
    while (fitting < kRealBlockSizes.size() && kRealBlockSizes[fitting] * 2 <= room_bytes)
      ++fitting;
    return kRealBlockSizes[rng_.below(rng_.chance(1, 8) ? kRealBlockSizes.size() : fitting)];
  }

  // The bytes behind a backing candidate as the model sees them now.
  uint64_t backing_bytes(const Value& backing) const {
    for (const FileFd& fd : file_fds_) {
      if (!backing.is_literal() && fd.var == backing.var)
        return model_->model_state().objects[fd.object].size;
    }
    for (const DevFd& fd : device_fds_) {
      const model::Device* d = model_device(fd);
      if (!backing.is_literal() && fd.var == backing.var && d) return d->capacity * kSectorBytes;
    }
    return 0;
  }

  void add_device(bool via_add) {
    uint8_t v = new_var("n");
    Outcome o =
        via_add
            ? emit(op_ioctl(Value::variable(ctl_), Req::LoopCtlAdd, Value::signed_literal(-1)), v)
            : emit(op_ioctl_noarg(Value::variable(ctl_), Req::LoopCtlGetFree), v);
    devices_.push_back(Device{v, via_add, o.kind == Outcome::Kind::Value ? o.value : -1});
  }

  void open_device(size_t device, bool read_write = false) {
    if (!can_bind()) return;
    static constexpr std::array<Access, 3> kAccess{Access::Rw, Access::Rw, Access::Ro};
    uint8_t flags = 0;
    if (rng_.chance(1, 8)) flags |= kOpenExcl;
    if (rng_.chance(1, 5)) flags |= kOpenDirect;
    if (rng_.chance(1, 6)) flags |= rng_.chance(1, 2) ? kOpenSync : kOpenDsync;
    const Access access = read_write ? Access::Rw : kAccess[rng_.below(3)];
    uint8_t v = new_var("dev");
    emit(op_open_loop(Value::variable(devices_[device].index_var), access, flags), v);
    device_fds_.push_back(DevFd{v, device, access, flags});
  }

  void open_file(uint8_t object, bool read_write = false) {
    if (!can_bind()) return;
    static constexpr std::array<Access, 5> kAccess{Access::Rw, Access::Rw, Access::Rw, Access::Ro,
                                                   Access::Wo};
    uint8_t flags = 0;
    if (rng_.chance(1, 5)) flags |= kOpenDirect;
    if (rng_.chance(1, 6)) flags |= kOpenSync;
    const Access access = read_write ? Access::Rw : kAccess[rng_.below(kAccess.size())];
    uint8_t v = new_var("fd");
    emit(op_open_file(object, access, flags), v);
    file_fds_.push_back(FileFd{v, object, access, flags});
  }

  Value any_device_fd() { return Value::variable(device_fds_[rng_.below(device_fds_.size())].var); }
  Value any_file_fd() { return Value::variable(file_fds_[rng_.below(file_fds_.size())].var); }
  // A backing candidate: usually a file, sometimes another loop device (stacking),
  // a directory fd, loop-control, or a bad number.
  Value any_backing_fd() {
    uint64_t r = rng_.below(20);
    if (r < 14 || device_fds_.empty()) return any_file_fd();
    if (r < 17) return any_device_fd();
    if (r < 18 && dir_fd_) return Value::variable(*dir_fd_);
    if (r < 19) return Value::variable(ctl_);
    return Value::signed_literal(-1);
  }

  uint64_t boundary_offset() {
    uint64_t size = trace_.objects[rng_.below(file_count_)].size;
    std::array<uint64_t, 12> values{0,          0,    512,        1,        511,       4096,
                                    size - 512, size, size + 512, 1u << 31, kLlongMax, 1ull << 63};
    return values[rng_.below(values.size())];
  }

  uint64_t boundary_sizelimit() {
    uint64_t size = trace_.objects[rng_.below(file_count_)].size;
    std::array<uint64_t, 9> values{0,          0,          511,       512,       4096,
                                   size - 512, size + 512, kLlongMax, 1ull << 63};
    return values[rng_.below(values.size())];
  }

  StructFields status_fields(bool legacy) {
    StructFields f;
    if (legacy) {
      // lo_offset is a signed int in struct loop_info.
      static constexpr std::array<int64_t, 5> kLegacyOffsets{0, 512, 4096, -512, INT_MAX};
      f.set(Field::Offset,
            Value::signed_literal(kLegacyOffsets[rng_.below(kLegacyOffsets.size())]));
    } else {
      f.set(Field::Offset, Value::literal(boundary_offset()));
    }
    if (!legacy && rng_.chance(1, 2)) f.set(Field::Sizelimit, Value::literal(boundary_sizelimit()));
    const uint32_t flags = kFlagSets[rng_.below(kFlagSets.size())];
    // The legacy struct's lo_flags is a signed int: all bits set is -1 there.
    f.set(Field::Flags,
          legacy ? Value::signed_literal(static_cast<int32_t>(flags)) : Value::literal(flags));
    if (rng_.chance(1, 10)) f.set(Field::EncryptType, Value::literal(rng_.below(3)));
    if (rng_.chance(1, 10))
      f.set(Field::EncryptKeySize, Value::literal(rng_.chance(1, 2) ? 32 : 33));
    if (rng_.chance(1, 3)) {
      std::string name = fmt::format("gen{}", rng_.below(1000));
      for (size_t i = 0; i < name.size(); ++i) f.name.bytes[i] = name[i];
      f.name.len = static_cast<uint8_t>(name.size());
      f.present |= field_bit(Field::Name);
    }
    return f;
  }

  // One operation of the body. The roll's 32 outcomes weight the families:
  // 0-12 device ioctls, 13-25 the data path, 26-28 sysfs and more opens,
  // 29 loop-control, 30-31 a realistic bind of a device that has no backing.
  void body_op() {
    Value dev = any_device_fd();
    const uint64_t roll = rng_.below(32);
    if (roll <= 12) {
      device_ioctl_op(dev, roll);
    } else if (roll <= 25) {
      data_op(roll);
    } else if (roll <= 28) {
      sysfs_or_open_op(dev, roll);
    } else if (roll == 29) {
      control_op();
    } else {
      rebind_op();
    }
  }

  // Rolls 0-12: the loop and block ioctls on a device fd.
  void device_ioctl_op(const Value& dev, uint64_t roll) {
    switch (roll) {
      case 0:
      case 1:
        emit(op_ioctl(dev, Req::LoopSetFd, any_backing_fd()));
        break;
      case 2:
        configure_op(dev);
        break;
      case 3:
        // Half as often as the others: a detached device stays in rundown while
        // it is open, and the rest of the trace could not reach the data path.
        emit(op_ioctl_noarg(dev, rng_.chance(1, 2) ? Req::LoopClrFd : Req::LoopGetStatus64));
        break;
      case 4:
        emit(op_ioctl_struct(dev, Req::LoopSetStatus64, status_fields(false)));
        break;
      case 5:
        emit(op_ioctl_struct(dev, Req::LoopSetStatus, status_fields(true)));
        break;
      case 6:
        emit(op_ioctl_noarg(dev, rng_.chance(1, 2) ? Req::LoopGetStatus64 : Req::LoopGetStatus));
        break;
      case 7:
        emit(op_ioctl(dev, Req::LoopChangeFd, any_backing_fd()));
        break;
      case 8:
        emit(op_ioctl_noarg(dev, Req::LoopSetCapacity));
        break;
      case 9:
        emit(op_ioctl(dev, Req::LoopSetDirectIo, Value::literal(rng_.below(3))));
        break;
      case 10:
        emit(op_ioctl(
            dev, Req::LoopSetBlockSize,
            Value::literal(rng_.chance(1, 2) ? real_block_size()
                                             : kBlockSizes[rng_.below(kBlockSizes.size())])));
        break;
      case 11: {
        static constexpr std::array<Req, 7> kBlk{Req::BlkGetSize64, Req::BlkGetSize, Req::BlkSszGet,
                                                 Req::BlkBszGet,    Req::BlkPbszGet, Req::BlkRoGet,
                                                 Req::BlkFlsBuf};
        emit(op_ioctl_noarg(dev, kBlk[rng_.below(kBlk.size())]));
        break;
      }
      default:  // 12
        // Read-only is sticky until BLKROSET 0: set it rarely, or no write succeeds.
        emit(op_ioctl(dev, Req::BlkRoSet, Value::literal(rng_.chance(1, 4) ? 1 : 0)));
        break;
    }
  }

  // LOOP_CONFIGURE: a status struct (drawn first), then a backing fd and a block size.
  void configure_op(const Value& dev) {
    StructFields f = status_fields(false);
    Value backing = any_backing_fd();
    // loop_config.fd is a u32: the bad fd -1 is written as its u32 pattern.
    if (backing.is_literal() && backing.negative) backing = Value::literal(0xffffffffu);
    f.set(Field::Fd, backing);
    // loop_config.block_size is a u32: larger table values arrive truncated.
    f.set(Field::BlockSize,
          Value::literal(
              rng_.chance(1, 2) ? 0 : kBlockSizes[rng_.below(kBlockSizes.size())] & 0xffffffffu));
    emit(op_ioctl_struct(dev, Req::LoopConfigure, f));
  }

  // The model's record of the device an fd was opened on (null: none exists).
  const model::Device* model_device(const DevFd& fd) const {
    const int64_t index = devices_[fd.device].model_index;
    const model::State& s = model_->model_state();
    for (uint8_t i = 0; i < s.device_count; ++i) {
      if (s.devices[i].exists && static_cast<int64_t>(s.devices[i].index) == index)
        return &s.devices[i];
    }
    return nullptr;
  }

  // The file object a bound device reads and writes, if it is a file.
  std::optional<uint8_t> backing_object(const model::Device& d) const {
    if (d.state != model::DevState::Bound || d.backing_desc == model::kNoDesc) return std::nullopt;
    const model::Desc& desc = model_->model_state().descs[d.backing_desc];
    if (desc.kind != model::DescKind::File) return std::nullopt;
    return desc.object;
  }

  // Writes go mostly through fds that may write (a read-only fd's EBADF is one
  // outcome, not the common case); reads through any.
  template <typename Fd>
  const Fd& pick_fd(const std::vector<Fd>& fds, bool for_write) {
    const Fd& first = fds[rng_.below(fds.size())];
    if (!for_write || first.access != Access::Ro || rng_.chance(1, 8)) return first;
    for (const Fd& fd : fds) {
      if (fd.access != Access::Ro) return fd;
    }
    return first;
  }

  // Rolls 13-25: reads and writes through a device or a backing file, fsync,
  // truncation, direct I/O switched on and off.
  void data_op(uint64_t roll) {
    switch (roll) {
      case 13:
      case 14:
      case 15:
        device_io(true);
        break;
      case 16:
      case 17:
      case 18:
        device_io(false);
        break;
      case 19:
      case 20:
        file_io(rng_.chance(2, 3));
        break;
      case 21:
        emit(op_fsync(rng_.chance(2, 3) ? any_device_fd() : any_file_fd()));
        break;
      case 22:
      case 23:
        truncate_op();
        break;
      case 24:
        if (rng_.chance(1, 2))
          emit(op_ioctl(any_device_fd(), Req::LoopSetDirectIo, Value::literal(rng_.below(2))));
        else
          discard_op();
        break;
      default:  // 25
        block_size_op();
        break;
    }
  }

  // BLKDISCARD, BLKZEROOUT or fallocate: mostly whole logical blocks inside the device; now
  // and then a sector-aligned range (refused after the cache truncation on some
  // releases), a zero length, or one running past the end.
  void discard_op() {
    const DevFd& fd = device_fds_[rng_.below(device_fds_.size())];
    const model::Device* d = model_device(fd);
    const uint64_t capacity_bytes = d ? d->capacity * kSectorBytes : 0;
    const uint64_t unit = rng_.chance(3, 4) && d ? d->block_size : kSectorBytes;
    const uint64_t units = std::max<uint64_t>(1, capacity_bytes / unit);
    const uint64_t start = rng_.below(units) * unit;
    uint64_t len = (1 + rng_.below(std::min<uint64_t>(units, 16))) * unit;
    if (rng_.chance(1, 10)) len = 0;
    if (rng_.chance(1, 10)) len = capacity_bytes - std::min(start, capacity_bytes) + unit;
    if (rng_.chance(1, 4)) {  // fallocate(2) on the device: the two zeroing modes
      constexpr uint8_t kModes[2] = {kFallocZeroRange | kFallocKeepSize,
                                     kFallocPunchHole | kFallocKeepSize};
      emit(op_fallocate(Value::variable(fd.var), static_cast<int64_t>(start), len,
                        kModes[rng_.below(2)]));
      return;
    }
    emit(op_ioctl_range(Value::variable(fd.var),
                        rng_.chance(1, 2) ? Req::BlkDiscard : Req::BlkZeroout, start, len));
  }

  // LOOP_SET_BLOCK_SIZE to a size that fits the device's capacity.
  void block_size_op() {
    const DevFd& fd = device_fds_[rng_.below(device_fds_.size())];
    const model::Device* d = model_device(fd);
    const uint64_t capacity_bytes = d ? d->capacity * kSectorBytes : 0;
    emit(op_ioctl(Value::variable(fd.var), Req::LoopSetBlockSize,
                  Value::literal(real_block_size(capacity_bytes))));
  }

  // A span inside [0, limit_bytes) placed as drawn; `unit_bytes` is the
  // alignment an O_DIRECT fd needs (0: none, buffered I/O takes any offset).
  // The end placement of buffered I/O is byte-granular: two bytes straddling
  // the last one, at the end, one past it.
  Span place(uint64_t limit_bytes, uint64_t block_bytes, uint64_t unit_bytes) {
    static constexpr std::array<Placement, 8> kPlacements{
        Placement::Block,  Placement::Block,     Placement::Block,     Placement::Page,
        Placement::Sector, Placement::Unaligned, Placement::Unaligned, Placement::End};
    const Placement p = kPlacements[rng_.below(kPlacements.size())];
    uint64_t align = p == Placement::Block    ? block_bytes
                     : p == Placement::Page   ? kPageBytes
                     : p == Placement::Sector ? kSectorBytes
                                              : 1;
    if (p != Placement::Unaligned) align = std::max(align, unit_bytes);
    Span s;
    if (p == Placement::End) {
      // Crossing the end, at the end, or one alignment unit past it.
      const uint64_t end = limit_bytes / align * align;
      const uint64_t r = rng_.below(3);
      s.offset_bytes = r == 0 ? (end >= align ? end - align : 0) : r == 1 ? end : end + align;
      s.length_bytes = 2 * align;
      return s;
    }
    const uint64_t slots = std::max<uint64_t>(limit_bytes / align, 1);
    s.offset_bytes = align * rng_.below(slots);
    if (p == Placement::Unaligned) s.offset_bytes += rng_.below(kSectorBytes);
    const uint64_t room = limit_bytes > s.offset_bytes ? limit_bytes - s.offset_bytes : align;
    const uint64_t max_units = std::clamp<uint64_t>(room / align, 1, 4);
    s.length_bytes = p == Placement::Unaligned ? 1 + rng_.below(std::min<uint64_t>(room, 5000))
                                               : align * (1 + rng_.below(max_units));
    return s;
  }

  // An fd whose device is bound with a non-empty capacity (for a write: an fd
  // that may write to a device that is not read-only), if the trace has one.
  const DevFd* live_device_fd(bool write) {
    std::vector<const DevFd*> live;
    for (const DevFd& fd : device_fds_) {
      const model::Device* d = model_device(fd);
      if (d && d->state == model::DevState::Bound && d->capacity > 0 &&
          (!write || (fd.access != Access::Ro && !d->disk_ro && !d->bdev_ro_policy &&
                      !(d->flags & kLoReadOnly))))
        live.push_back(&fd);
    }
    return live.empty() ? nullptr : live[rng_.below(live.size())];
  }

  // A read or write through a device fd, aimed inside the device's capacity.
  // Mostly through a device that has data to reach; with none, usually bind one
  // first (the I/O of an empty device is one error path, not the data path).
  void device_io(bool write) {
    const DevFd* live = rng_.chance(7, 8) ? live_device_fd(write) : nullptr;
    if (!live && rng_.chance(2, 3) && rebind_op(true)) return;
    const DevFd& fd = live ? *live : pick_fd(device_fds_, write);
    const model::Device* d = model_device(fd);
    const bool bound = d && d->state == model::DevState::Bound;
    const uint64_t capacity_bytes = bound ? d->capacity * kSectorBytes : 64 << 10;
    const uint64_t block_bytes = bound ? d->block_size : kSectorBytes;
    const uint64_t unit_bytes = (fd.flags & kOpenDirect) ? block_bytes : 0;
    const Span s = place(capacity_bytes, block_bytes, unit_bytes);
    emit_io(Value::variable(fd.var), s, write);
  }

  // pread or pwrite (with a fresh pattern seed) of span `s` on fd `v`.
  void emit_io(const Value& v, const Span& s, bool write) {
    const auto offset = static_cast<int64_t>(s.offset_bytes);
    if (write) {
      emit(op_pwrite(v, offset, s.length_bytes, static_cast<uint32_t>(rng_.below(100))));
    } else {
      emit(op_pread(v, offset, s.length_bytes));
    }
  }

  // A read or write on a file fd beside the device that may be reading it: in
  // the file, at its end (a write there extends it), or past it.
  void file_io(bool write) {
    const FileFd& fd = pick_fd(file_fds_, write);
    const uint64_t size_bytes = model_->model_state().objects[fd.object].size;
    const uint64_t unit_bytes = (fd.flags & kOpenDirect) ? trace_.env.dio_align : 0;
    const Span s = place(std::max<uint64_t>(size_bytes, kPageBytes), kPageBytes, unit_bytes);
    emit_io(Value::variable(fd.var), s, write);
  }

  // Shrinks or extends a file, mostly one a device is bound to, to aligned and
  // ragged sizes; often followed by LOOP_SET_CAPACITY, as a user resizing would.
  void truncate_op() {
    const DevFd& fd = device_fds_[rng_.below(device_fds_.size())];
    const model::Device* d = model_device(fd);
    std::optional<uint8_t> object = d ? backing_object(*d) : std::nullopt;
    if (!object || rng_.chance(1, 4)) object = static_cast<uint8_t>(rng_.below(file_count_));
    const uint64_t size = model_->model_state().objects[*object].size;
    const uint64_t page_floor = size / kPageBytes * kPageBytes;
    const std::array<uint64_t, 8> sizes{size / 2 / kPageBytes * kPageBytes,
                                        size * 2,
                                        page_floor + kPageBytes,
                                        size + 100,
                                        size > kSectorBytes ? size - kSectorBytes : size + 512,
                                        page_floor + (256 << 10),
                                        size / 3,
                                        0};
    emit(op_truncate(*object, sizes[rng_.below(rng_.chance(1, 8) ? sizes.size() : 7)]));
    if (rng_.chance(1, 2)) emit(op_ioctl_noarg(Value::variable(fd.var), Req::LoopSetCapacity));
  }

  // Rolls 26-28: a sysfs read (and the uevents so far), another opener of a
  // device, the directory's fd.
  void sysfs_or_open_op(const Value& dev, uint64_t roll) {
    switch (roll) {
      case 26: {
        const Device& d = devices_[rng_.below(devices_.size())];
        emit_sysfs(d.index_var);
        if (rng_.chance(1, 8)) emit(op_ioctl_noarg(dev, Req::BlkRrPart));
        if (rng_.chance(1, 4)) emit(op_uevents());
        break;
      }
      case 27:
        // Another opener of a device (or of a partition of it): changes CLR_FD's
        // sole-opener decision.
        if (rng_.chance(1, 4))
          open_partition(rng_.below(devices_.size()));
        else
          open_device(rng_.below(devices_.size()));
        break;
      default:  // 28
        if (!dir_fd_ && can_bind()) {
          dir_fd_ = new_var("dirfd");
          emit(op_open_dir(static_cast<uint8_t>(file_count_), Access::Ro), *dir_fd_);
        } else {
          emit(op_ioctl_raw(dev, 0x4C0B, Value::literal(0)));
        }
        break;
    }
  }

  // Roll 29: control device: the lowest free index, a removal attempt of one of ours.
  void control_op() {
    const Device& d = devices_[rng_.below(devices_.size())];
    if (uses_get_free_ && rng_.chance(1, 2)) {
      emit(op_ioctl_noarg(Value::variable(ctl_), Req::LoopCtlGetFree));
    } else if (d.added) {
      emit(op_ioctl(Value::variable(ctl_), Req::LoopCtlRemove, Value::variable(d.index_var)));
    } else {
      emit(op_ioctl(Value::variable(ctl_), Req::LoopCtlAdd, Value::variable(d.index_var)));
    }
  }

  // Rolls 30-31: binds a device that has no backing (as the model sees it) to a
  // file or, sometimes, to another of the trace's devices; otherwise a sysfs read.
  // Returns whether it bound (or tried to bind) one; `bind_only`: emit nothing else.
  bool rebind_op(bool bind_only = false) {
    const DevFd& fd = device_fds_[rng_.below(device_fds_.size())];
    const model::Device* d = model_device(fd);
    if (!d || d->state != model::DevState::Unbound) {
      if (!bind_only) emit_sysfs(devices_[fd.device].index_var);
      return false;
    }
    realistic_bind(fd, rng_.chance(1, 4) ? any_device_fd() : Value::variable(backing_file_fd()));
    return true;
  }

  // A file fd to bind: mostly one opened read-write, so the device is writable.
  uint8_t backing_file_fd() { return pick_fd(file_fds_, rng_.chance(7, 8)).var; }

  void cleanup() {
    // Partitions first: an open one holds its disk (the detach would wait for it).
    for (uint8_t v : partition_fds_) emit(op_close(Value::variable(v)));
    // Upper devices first: a device stacked on another holds it open.
    for (auto it = device_fds_.rbegin(); it != device_fds_.rend(); ++it)
      emit(op_ioctl_noarg(Value::variable(it->var), Req::LoopClrFd));
    for (const DevFd& fd : device_fds_) emit(op_close(Value::variable(fd.var)));
    for (const FileFd& fd : file_fds_) emit(op_close(Value::variable(fd.var)));
    if (dir_fd_) emit(op_close(Value::variable(*dir_fd_)));
    for (const Device& d : devices_) {
      if (d.added)
        emit(op_ioctl(Value::variable(ctl_), Req::LoopCtlRemove, Value::variable(d.index_var)));
    }
    emit(op_close(Value::variable(ctl_)));
    emit(op_uevents());  // the detaches' and removals' events
  }

  Prng rng_;
  uint32_t ops_;
  const model::Profile& profile_;
  Trace trace_;
  std::optional<Lockstep> model_;
  size_t file_count_ = 0;
  uint8_t ctl_ = 0;
  bool uses_get_free_ = false;
  std::vector<Device> devices_;
  std::vector<DevFd> device_fds_;
  std::vector<uint8_t> partition_fds_;  // variables of partition opens (closed first)
  std::vector<FileFd> file_fds_;
  std::optional<uint8_t> dir_fd_;
};

}  // namespace

Trace generate_trace(const GenOptions& options, uint64_t index) {
  Trace trace = TraceBuilder(options, index).build();
  LOOPCHECK_VALIDATE(trace, "the trace generator");
  return trace;
}

}  // namespace loopcheck
