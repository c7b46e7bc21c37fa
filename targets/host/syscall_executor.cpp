#include "targets/host/syscall_executor.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "targets/host/loop_sys.h"
#include "targets/file_allocation.h"
#include "targets/user_pointer.h"
#include "trace/data.h"
#include "trace/names.h"
#include "trace/pattern.h"
#include "trace/uapi_structs.h"

namespace loopcheck::host {
namespace {

// Kernel structs are filled only through these, so each field's width and
// signedness conversion is written once.
// Close-on-exec is invisible to loop semantics and keeps fds out of children
// (losetup in tests, reproducer compilers).
int open_flags(const Op& op) {
  return open_flags_of(op) | O_CLOEXEC;
}

Outcome result_of(long rc, ValueRole role = ValueRole::Plain) {
  return rc < 0 ? Outcome::error(errno) : Outcome::ok(rc, role);
}

// A BLK* getter: the kernel writes a `T` through the pointer we pass.
template <typename T>
Outcome get_value(int fd, unsigned long request, bool null_pointer) {
  T value{};
  if (::ioctl(fd, request, null_pointer ? nullptr : &value) < 0) return Outcome::error(errno);
  return Outcome::ok(static_cast<int64_t>(value));
}

}  // namespace

SyscallExecutor::SyscallExecutor(SyscallExecutorConfig config) : config_(std::move(config)) {
  buffer_.reserve(IoBuffer::kAlignment);
  if (config_.listen_uevents) uevents_ = std::make_unique<UeventListener>();
}

UeventList SyscallExecutor::read_uevents() {
  if (!uevents_) {
    UeventList none;
    none.lost = 1;  // nothing was listened to: nothing can be claimed
    return none;
  }
  return uevents_->read_all();
}

std::string SyscallExecutor::uevent_listener_error() const {
  return uevents_ ? uevents_->error() : std::string();
}

SyscallExecutor::~SyscallExecutor() = default;

std::string SyscallExecutor::object_path(uint8_t index) const {
  assert(index < config_.object_names.size());
  if (index >= config_.object_names.size()) return config_.object_dir + "/.no-such-object";
  return config_.object_dir + "/" + config_.object_names[index];
}

std::string SyscallExecutor::backing_file_in_trace_terms(std::string_view path) const {
  std::string_view prefix = config_.object_dir;
  if (prefix.empty() || path.size() <= prefix.size() || !path.starts_with(prefix) ||
      path[prefix.size()] != '/') {
    return std::string(path);
  }
  return std::string(path.substr(prefix.size() + 1));
}

Outcome SyscallExecutor::execute(const Op& op) {
  last_read_len_ = 0;
  switch (op.kind) {
    case OpKind::Open:
      return open(op);
    case OpKind::Close:
      return result_of(::close(static_cast<int>(op.subject.lit)));
    case OpKind::Ioctl:
      return ioctl(op);
    case OpKind::Pread:
      return pread(op);
    case OpKind::Pwrite:
      return pwrite(op);
    case OpKind::Fsync:
      return result_of(::fsync(static_cast<int>(op.subject.lit)));
    case OpKind::Truncate:
      return truncate(op);
    case OpKind::Sysfs:
      return sysfs(op);
    case OpKind::Fallocate:
      return result_of(
          ::fallocate(static_cast<int>(op.subject.lit), falloc_mode_bits(op.falloc_mode),
                      static_cast<off_t>(op.offset.lit), static_cast<off_t>(op.length)));
    case OpKind::Allocated:
      return file_allocated_bytes(object_path(op.object));
    case OpKind::Uevents:
      if (!uevents_ || !uevents_->error().empty()) return Outcome::skipped();
      return Outcome::events(uevents_->read_all());
  }
  return Outcome::error(EINVAL);
}

Outcome SyscallExecutor::open(const Op& op) {
  int flags = open_flags(op);
  int fd = -1;
  switch (op.node) {
    case Node::LoopControl:
      fd = ::open(kLoopControlPath, flags);
      break;
    case Node::Loop: {
      // A partition's node comes and goes with the partition (devtmpfs): a
      // missing one is ENOENT, as the language says.
      if (op.part != 0 && op.subject.lit <= kMaxLoopIndex) {
        fd = ::open(partition_node_path(op.subject.lit, op.part).c_str(), flags | O_CLOEXEC);
        break;
      }
      fd = op.subject.lit > kMaxLoopIndex
               ? -ENXIO
               : open_loop_node(op.subject.lit, flags, config_.node_dir, config_.missing_device);
      if (fd < 0) return Outcome::error(-fd);
      return Outcome::ok(fd, ValueRole::Fd);
    }
    case Node::File:
    case Node::Dir:
      fd = ::open(object_path(op.object).c_str(), flags);
      break;
  }
  return result_of(fd, ValueRole::Fd);
}

Outcome SyscallExecutor::ioctl(const Op& op) {
  const int fd = static_cast<int>(op.subject.lit);
  const bool null_arg = op.arg_kind == ArgKind::Null;
  auto ptr = [&](void* valid) { return ioctl_pointer(op.arg_kind, valid); };
  const unsigned long request = op.req == Req::Unknown ? op.raw_req : req_number(op.req);
  const unsigned long number = op.arg_kind == ArgKind::Number ? op.arg.lit : 0;

  if (op.req == Req::Unknown) {
    // The kernel decides what the argument means; a struct argument is passed
    // as a zeroed buffer large enough for any loop struct.
    alignas(8) uint8_t scratch[sizeof(loop_config)] = {};
    if (op.arg_kind == ArgKind::Struct) return result_of(::ioctl(fd, request, scratch));
    return result_of(::ioctl(fd, request, number));
  }

  switch (req_arg(op.req)) {
    case ReqArg::Ignored:
    case ReqArg::Number: {
      ValueRole role = op.req == Req::LoopCtlAdd || op.req == Req::LoopCtlGetFree
                           ? ValueRole::DevIndex
                           : ValueRole::Plain;
      return result_of(::ioctl(fd, request, number), role);
    }
    case ReqArg::Int: {
      int value = static_cast<int>(op.arg.lit);
      return result_of(::ioctl(fd, request, ptr(&value)));
    }
    case ReqArg::Range: {
      uint64_t range[2] = {op.offset.lit, op.arg.lit};
      return result_of(::ioctl(fd, request, ptr(range)));
    }
    case ReqArg::Out:
      switch (op.req) {
        case Req::BlkGetSize64:
          return get_value<uint64_t>(fd, request, null_arg);
        case Req::BlkGetSize:
          return get_value<unsigned long>(fd, request, null_arg);
        case Req::BlkPbszGet:
          return get_value<unsigned int>(fd, request, null_arg);
        default:  // BLKSSZGET, BLKBSZGET, BLKROGET write an int
          return get_value<int>(fd, request, null_arg);
      }
    case ReqArg::StructIn:
      switch (req_struct(op.req)) {
        case StructKind::LoopInfo: {
          loop_info info = to_loop_info(op.fields);
          return result_of(::ioctl(fd, request, ptr(&info)));
        }
        case StructKind::LoopConfig: {
          loop_config config = to_loop_config(op.fields);
          return result_of(::ioctl(fd, request, ptr(&config)));
        }
        default: {
          loop_info64 info = to_loop_info64(op.fields);
          return result_of(::ioctl(fd, request, ptr(&info)));
        }
      }
    case ReqArg::StructOut:
      if (req_struct(op.req) == StructKind::LoopInfo) {
        loop_info info{};
        if (::ioctl(fd, request, ptr(&info)) < 0) return Outcome::error(errno);
        return status_outcome(info);
      } else {
        loop_info64 info{};
        if (::ioctl(fd, request, ptr(&info)) < 0) return Outcome::error(errno);
        return status_outcome(info);
      }
  }
  return Outcome::error(EINVAL);
}

Outcome SyscallExecutor::pread(const Op& op) {
  assert(op.length <= kMaxIoLength);
  if (op.length > kMaxIoLength || !buffer_.reserve(op.length)) return Outcome::error(ENOMEM);
  buffer_.poison(op.length);
  ssize_t n = ::pread(static_cast<int>(op.subject.lit), buffer_.data(), op.length,
                      static_cast<off_t>(op.offset.lit));
  if (n < 0) return Outcome::error(errno);
  last_read_len_ = static_cast<size_t>(n);
  Outcome o;
  o.kind = Outcome::Kind::Data;
  o.value = n;
  o.digest = digest_bytes(last_read());
  return o;
}

Outcome SyscallExecutor::pwrite(const Op& op) {
  assert(op.length <= kMaxIoLength);
  if (op.length > kMaxIoLength || !buffer_.reserve(op.length)) return Outcome::error(ENOMEM);
  pattern_fill(op.seed, 0, buffer_.data(), op.length);
  return result_of(::pwrite(static_cast<int>(op.subject.lit), buffer_.data(), op.length,
                            static_cast<off_t>(op.offset.lit)));
}

Outcome SyscallExecutor::truncate(const Op& op) {
  return result_of(::truncate(object_path(op.object).c_str(), static_cast<off_t>(op.offset.lit)));
}

Outcome SyscallExecutor::sysfs(const Op& op) {
  if (op.subject.lit > kMaxLoopIndex) return Outcome::error(ENOENT);
  std::string path =
      op.part ? partition_sysfs_path(op.subject.lit, op.part) : loop_sysfs_path(op.subject.lit);
  path += '/';
  path += sysattr_path(op.attr);
  std::string text;
  if (int err = read_small_file(path, &text, 8192)) return Outcome::error(err);
  std::string_view value = text;
  if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
  Outcome o;
  o.kind = Outcome::Kind::Text;
  if (op.attr == SysAttr::LoopBackingFile) {
    o.set_text(backing_file_in_trace_terms(value));
  } else {
    o.set_text(value);
  }
  return o;
}

}  // namespace loopcheck::host
