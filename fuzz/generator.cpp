#include "fuzz/generator.h"

#include <fmt/format.h>

#include <array>
#include <climits>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/boundary_values.h"
#include "fuzz/prng.h"
#include "trace/ops.h"
#include "trace/validate.h"

namespace loopcheck {
namespace {

constexpr uint64_t kLlongMax = static_cast<uint64_t>(LLONG_MAX);

// Sizes of backing files: sector multiples, a ragged tail, and tiny.
constexpr std::array<uint64_t, 5> kFileSizes{64 << 10, 1 << 20, (16 << 10) + 100, 1000, 8 << 10};
class TraceBuilder {
 public:
  TraceBuilder(const GenOptions& options, uint64_t index)
      : rng_(options.seed * 0x100000001B3ull ^ (index + 1) * 0x9E3779B97F4A7C15ull),
        ops_(options.ops) {
    trace_.profile = std::string(options.profile->name);
  }

  Trace build() {
    declare_objects();
    setup();
    for (uint32_t i = 0; i < ops_; ++i) body_op();
    cleanup();
    return std::move(trace_);
  }

 private:
  struct Device {
    uint8_t index_var;
    bool added;  // by LOOP_CTL_ADD: remove at the end
  };

  uint8_t new_var(std::string_view prefix) {
    uint8_t slot = static_cast<uint8_t>(trace_.vars.size());
    trace_.vars.push_back(fmt::format("{}{}", prefix, slot));
    return slot;
  }

  void emit(Op op, int bind = -1) {
    Statement s;
    s.op = op;
    s.bind = static_cast<int16_t>(bind);
    s.pos.line = static_cast<uint32_t>(trace_.stmts.size() + 1);
    s.pos.col = 1;
    trace_.stmts.push_back(s);
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
      trace_.objects.push_back(d);
    }
    ObjectDecl dir;
    dir.kind = ObjectDecl::Kind::Dir;
    dir.name = "d";
    trace_.objects.push_back(dir);
    file_count_ = files;
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
    for (size_t i = 0; i < devices; ++i) open_device(devices_[i]);
    for (size_t i = 0; i < file_count_; ++i) open_file(static_cast<uint8_t>(i));
  }

  void add_device(bool via_add) {
    uint8_t v = new_var("n");
    if (via_add) {
      emit(op_ioctl(Value::variable(ctl_), Req::LoopCtlAdd, Value::signed_literal(-1)), v);
    } else {
      emit(op_ioctl_noarg(Value::variable(ctl_), Req::LoopCtlGetFree), v);
    }
    devices_.push_back(Device{v, via_add});
  }

  void open_device(const Device& d) {
    if (!can_bind()) return;
    static constexpr std::array<Access, 3> kAccess{Access::Rw, Access::Rw, Access::Ro};
    uint8_t flags = 0;
    if (rng_.chance(1, 8)) flags |= kOpenExcl;
    if (rng_.chance(1, 8)) flags |= kOpenDirect;
    uint8_t v = new_var("dev");
    emit(op_open_loop(Value::variable(d.index_var), kAccess[rng_.below(3)], flags), v);
    device_fds_.push_back(v);
  }

  void open_file(uint8_t object) {
    if (!can_bind()) return;
    static constexpr std::array<Access, 4> kAccess{Access::Rw, Access::Rw, Access::Ro, Access::Wo};
    uint8_t flags = rng_.chance(1, 6) ? kOpenDirect : 0;
    uint8_t v = new_var("fd");
    emit(op_open_file(object, kAccess[rng_.below(4)], flags), v);
    file_fds_.push_back(v);
  }

  Value any_device_fd() { return Value::variable(device_fds_[rng_.below(device_fds_.size())]); }
  Value any_file_fd() { return Value::variable(file_fds_[rng_.below(file_fds_.size())]); }
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

  // One operation of the body. The roll's 24 outcomes weight the families:
  // 0-12 device ioctls, 13-19 I/O and truncation, 20-22 sysfs and more opens,
  // 23 loop-control. The draws (device fd, then roll) keep their order.
  void body_op() {
    Value dev = any_device_fd();
    const uint64_t roll = rng_.below(24);
    if (roll <= 12) {
      device_ioctl_op(dev, roll);
    } else if (roll <= 19) {
      io_op(dev, roll);
    } else if (roll <= 22) {
      sysfs_or_open_op(dev, roll);
    } else {
      control_op();
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
        emit(op_ioctl_noarg(dev, Req::LoopClrFd));
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
        emit(op_ioctl(dev, Req::LoopSetBlockSize,
                      Value::literal(kBlockSizes[rng_.below(kBlockSizes.size())])));
        break;
      case 11: {
        static constexpr std::array<Req, 7> kBlk{Req::BlkGetSize64, Req::BlkGetSize, Req::BlkSszGet,
                                                 Req::BlkBszGet,    Req::BlkPbszGet, Req::BlkRoGet,
                                                 Req::BlkFlsBuf};
        emit(op_ioctl_noarg(dev, kBlk[rng_.below(kBlk.size())]));
        break;
      }
      default:  // 12
        emit(op_ioctl(dev, Req::BlkRoSet, Value::literal(rng_.below(2))));
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

  // Rolls 13-19: reads and writes through the device or a file fd, fsync, truncate.
  void io_op(const Value& dev, uint64_t roll) {
    switch (roll) {
      case 13:
      case 14:
        emit(op_pwrite(dev, static_cast<int64_t>(io_offset()), io_length(),
                       static_cast<uint32_t>(rng_.below(100))));
        break;
      case 15:
      case 16:
        emit(op_pread(dev, static_cast<int64_t>(io_offset()), io_length()));
        break;
      case 17:
        if (rng_.chance(1, 2)) {
          emit(op_pread(any_file_fd(), static_cast<int64_t>(io_offset()), io_length()));
        } else {
          emit(op_pwrite(any_file_fd(), static_cast<int64_t>(io_offset()), io_length(),
                         static_cast<uint32_t>(rng_.below(100))));
        }
        break;
      case 18:
        emit(op_fsync(rng_.chance(2, 3) ? dev : any_file_fd()));
        break;
      default: {  // 19
        uint8_t object = static_cast<uint8_t>(rng_.below(file_count_));
        uint64_t size = trace_.objects[object].size;
        std::array<uint64_t, 4> sizes{0, size / 2, size * 2, size + 100};
        emit(op_truncate(object, sizes[rng_.below(sizes.size())]));
        break;
      }
    }
  }

  // Rolls 20-22: a sysfs read, another opener of a device, the directory's fd.
  void sysfs_or_open_op(const Value& dev, uint64_t roll) {
    switch (roll) {
      case 20: {
        static constexpr std::array<SysAttr, 8> kAttrs{SysAttr::Size,
                                                       SysAttr::Ro,
                                                       SysAttr::LoopOffset,
                                                       SysAttr::LoopSizelimit,
                                                       SysAttr::LoopAutoclear,
                                                       SysAttr::LoopDio,
                                                       SysAttr::QueueLogicalBlockSize,
                                                       SysAttr::LoopBackingFile};
        const Device& d = devices_[rng_.below(devices_.size())];
        emit(op_sysfs(Value::variable(d.index_var), kAttrs[rng_.below(kAttrs.size())]));
        break;
      }
      case 21:
        // Another opener of a device: changes CLR_FD's sole-opener decision.
        open_device(devices_[rng_.below(devices_.size())]);
        break;
      default:  // 22
        if (!dir_fd_ && can_bind()) {
          dir_fd_ = new_var("dirfd");
          emit(op_open_dir(static_cast<uint8_t>(file_count_), Access::Ro), *dir_fd_);
        } else {
          emit(op_ioctl_raw(dev, 0x4C0B, Value::literal(0)));
        }
        break;
    }
  }

  // Roll 23: control device: the lowest free index, a removal attempt of one of ours.
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

  uint64_t io_offset() {
    std::array<uint64_t, 7> values{0, 0, 512, 4096, 8192, 60 << 10, 1 << 20};
    return values[rng_.below(values.size())];
  }
  uint64_t io_length() {
    std::array<uint64_t, 5> values{512, 4096, 4096, 8192, 100};
    return values[rng_.below(values.size())];
  }

  void cleanup() {
    for (uint8_t fd : device_fds_) emit(op_ioctl_noarg(Value::variable(fd), Req::LoopClrFd));
    for (uint8_t fd : device_fds_) emit(op_close(Value::variable(fd)));
    for (uint8_t fd : file_fds_) emit(op_close(Value::variable(fd)));
    if (dir_fd_) emit(op_close(Value::variable(*dir_fd_)));
    for (const Device& d : devices_) {
      if (d.added)
        emit(op_ioctl(Value::variable(ctl_), Req::LoopCtlRemove, Value::variable(d.index_var)));
    }
    emit(op_close(Value::variable(ctl_)));
  }

  Prng rng_;
  uint32_t ops_;
  Trace trace_;
  size_t file_count_ = 0;
  uint8_t ctl_ = 0;
  bool uses_get_free_ = false;
  std::vector<Device> devices_;
  std::vector<uint8_t> device_fds_, file_fds_;
  std::optional<uint8_t> dir_fd_;
};

}  // namespace

Trace generate_trace(const GenOptions& options, uint64_t index) {
  Trace trace = TraceBuilder(options, index).build();
  LOOPCHECK_VALIDATE(trace, "the trace generator");
  return trace;
}

}  // namespace loopcheck
