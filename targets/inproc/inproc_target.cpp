#include "targets/inproc/inproc_target.h"

#include "targets/partition_table_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <memory>

#include "inproc/uapi.h"
#include "targets/block_threads.h"
#include "targets/file_allocation.h"
#include "targets/sandbox_dir.h"
#include "targets/user_pointer.h"
#include "trace/data.h"
#include "trace/names.h"
#include "trace/pattern.h"
#include "trace/uapi_structs.h"

namespace loopcheck::inproc {
namespace {

// A concurrent block's thread reads and writes through a buffer of its own.
thread_local IoBuffer* tl_block_buffer = nullptr;

constexpr uint64_t kFillChunk = 1 << 20;

Outcome result_of(int64_t rc, ValueRole role = ValueRole::Plain) {
  return rc < 0 ? Outcome::error(static_cast<int>(-rc)) : Outcome::ok(rc, role);
}

// An fd operand: values that are no int cannot name an open file.
int fd_of(const Value& v) {
  return v.lit > static_cast<uint64_t>(INT32_MAX) ? -1 : static_cast<int>(v.lit);
}

// What a getter ioctl wrote to `out`, read as the C type it writes.
int64_t getter_value(Req req, const uint8_t* out) {
  switch (req) {
    case Req::BlkGetSize64: {
      uint64_t x;
      std::memcpy(&x, out, sizeof x);
      return static_cast<int64_t>(x);
    }
    case Req::BlkGetSize: {
      unsigned long x;
      std::memcpy(&x, out, sizeof x);
      return static_cast<int64_t>(x);
    }
    case Req::BlkPbszGet: {
      unsigned int x;
      std::memcpy(&x, out, sizeof x);
      return x;
    }
    default: {  // BLKSSZGET, BLKBSZGET, BLKROGET write an int
      int x;
      std::memcpy(&x, out, sizeof x);
      return x;
    }
  }
}

}  // namespace

// Writes `fill` over bytes [from, to) of the open file.
bool InprocTarget::fill_range(int fd, uint64_t from, uint64_t to, uint8_t fill) {
  if (from >= to) return true;
  fill_chunk_.assign(std::min<uint64_t>(kFillChunk, to - from), fill);
  for (uint64_t off = from; off < to; off += fill_chunk_.size()) {
    uint64_t n = std::min<uint64_t>(fill_chunk_.size(), to - off);
    if (::pwrite(fd, fill_chunk_.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n))
      return false;
  }
  return true;
}

// Puts back what a trace changed in [lo, hi) of a filled file the last start()
// made: the declared size (undoing growth, extending after shrinking), then the
// fill over the changed range (the file was, and stays, fully allocated).
bool InprocTarget::write_table(const std::string& path, const PartitionTable& mbr) {
  if (mbr.count == 0) return true;
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  const int err = write_partition_table(fd, mbr);
  ::close(fd);
  errno = err;
  return err == 0;
}

bool InprocTarget::restore_range(const std::string& path, uint64_t size, uint8_t fill, uint64_t lo,
                                 uint64_t hi) {
  // A zero file must come back all hole, not only all zeros: whether the block at
  // a backing EOF holds data decides loop DIO outcomes (docs/semantics.md §11.7), and a
  // hole punched over part of a block leaves it allocated. Punching the whole
  // file costs no more than its extents.
  if (fill == 0) return reset_file(path, size, 0);
  int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return reset_file(path, size, fill);  // gone (a trace cannot, but be safe)
  // Growing by a byte and cutting back frees blocks a fallocate(KEEP_SIZE)
  // preallocated past the EOF, which `allocated file` would still count.
  bool ok = ::ftruncate(fd, static_cast<off_t>(size + 1)) == 0 &&
            ::ftruncate(fd, static_cast<off_t>(size)) == 0 &&
            fill_range(fd, std::min(lo, size), std::min(hi, size), fill);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

// Makes `path` a regular file of `size` bytes of `fill`, creating it or resetting
// whatever an earlier trace left. Blocks are freed with a punched hole rather than
// truncation to zero, which would make ext4 flush the file at close (its
// replace-by-truncate heuristic).
bool InprocTarget::reset_file(const std::string& path, uint64_t size, uint8_t fill) {
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  // Punch whole blocks: ext4 only zeroes a block the hole covers in part, so a
  // punch ending at an EOF inside a block left that block allocated, and the next
  // trace's loop DIO retry at a cut EOF met data instead of a hole (EIO instead
  // of success, §11.7: finding-9973b18cf8add7c8 after finding-9bb9c69a1285ded7,
  // whose write at byte 1 allocated block 0 of a file cut to 768 bytes).
  const auto blk = static_cast<uint64_t>(ok && st.st_blksize > 0 ? st.st_blksize : 4096);
  // Blocks a KEEP_SIZE fallocate preallocated past the EOF are out of reach of a
  // hole ending there, and a later growth would bring them back inside the file
  // (`allocated file` would count them): the hole reaches the last extent.
  const uint64_t past_eof = ok ? last_extent_end(fd) : 0;
  const uint64_t whole =
      (std::max(static_cast<uint64_t>(ok ? st.st_size : 0), past_eof) + blk - 1) / blk * blk;
  if (ok && whole > 0 &&
      (::ftruncate(fd, static_cast<off_t>(whole)) != 0 ||
       ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(whole)) !=
           0))
    ok = ::ftruncate(fd, 0) == 0;  // no hole punching here (EOPNOTSUPP)
  ok = ok && ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  if (ok && fill != 0) ok = fill_range(fd, 0, size, fill);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

InprocTarget::~InprocTarget() {
  finish();
  remove_sandbox();
}

std::string InprocTarget::object_path(uint8_t index) const {
  if (index >= object_names_.size()) return sandbox_ + "/.no-such-object";
  return sandbox_ + "/" + object_names_[index];
}

TargetError InprocTarget::start(const Trace& trace, std::string_view profile_name, const Env& env) {
  finish();
  if (!pinned_profile_.empty()) profile_name = pinned_profile_;
  const DriverProfile* profile = find_profile(profile_name);
  if (profile == nullptr)
    return {true, "inproc: unknown profile '" + std::string(profile_name) +
                      "'; the driver implements linux-6.1, linux-6.12 and linux-6.18"};
  if (sandbox_.empty()) {
    // A sandbox lives as long as its target, so a process killed mid-run leaves
    // one behind; the next target to start removes those whose owner is gone.
    host::remove_orphaned_sandbox_dirs(host::kDefaultSandboxParent, kSandboxPrefix);
    if (int err =
            host::make_owned_sandbox_dir(host::kDefaultSandboxParent, kSandboxPrefix, &sandbox_))
      return {true,
              std::string("inproc: cannot create a sandbox under /var/tmp: ") + std::strerror(err)};
  }
  // Objects are reset in place when an earlier trace left one of the same name
  // and kind: on ext4, creating and deleting inodes and directories cost more
  // than the rest of a short trace. A file is rewritten only if the write log
  // says the last trace changed it, or its declaration differs. A file reset
  // this way is, to a trace, a new file (its inode number differs only up to the
  // renaming every comparison applies).
  std::vector<Kept> previous = std::move(kept_);
  kept_.clear();
  for (const Kept& k : previous) {
    bool wanted = std::any_of(trace.objects.begin(), trace.objects.end(), [&](const ObjectDecl& o) {
      return o.name == k.name && o.kind == k.kind;
    });
    if (!wanted) remove_object(k);
  }
  for (const ObjectDecl& obj : trace.objects) {
    object_names_.push_back(obj.name);
    kept_.push_back(Kept{obj.name, obj.kind, obj.size, obj.fill, obj.mbr.count != 0});
    std::string path = sandbox_ + "/" + obj.name;
    if (obj.kind == ObjectDecl::Kind::Dir) {
      struct stat st;
      bool reuse = ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      if (!reuse && ::mkdir(path.c_str(), 0700) != 0) {
        kept_.clear();
        finish();
        return {true, "inproc: mkdir " + path + ": " + std::strerror(errno)};
      }
      continue;
    }
    const bool same_declaration = std::any_of(previous.begin(), previous.end(),
                                              [&](const Kept& k) {
                                                return k.name == obj.name && k.kind == obj.kind &&
                                                       k.size == obj.size && k.fill == obj.fill &&
                                                       !k.table;  // its table would stay
                                              }) &&
                                  obj.mbr.count == 0;  // a table file is written afresh
    const FileChanges& changes = *write_log_.changes_for(path);
    if (same_declaration && !changes.any()) continue;
    const bool ok = same_declaration
                        ? restore_range(path, obj.size, obj.fill, changes.lo(), changes.hi())
                        : reset_file(path, obj.size, obj.fill) && write_table(path, obj.mbr);
    if (!ok) {
      int saved = errno;
      kept_.clear();  // nothing is known to be as declared: the next start resets all
      finish();
      return {true, "inproc: cannot create " + path + ": " + std::strerror(saved) +
                        " (is there room under /var/tmp?)"};
    }
  }
  write_log_.clear();
  kernel_ = std::make_unique<Kernel>(*profile, driver_config(env), fs_facts(env), &write_log_);
  return {};
}

// The @env facts the driver and its backing files are told.
DriverConfig InprocTarget::driver_config(const Env& env) {
  DriverConfig config;
  config.precreated = env.precreated;
  config.cap_sys_admin = env.cap_sys_admin;
  config.thp = env.thp;
  config.max_part = env.max_part;
  config.msdos_partitions = env.msdos_partitions;
  return config;
}

HostFsFacts InprocTarget::fs_facts(const Env& env) {
  HostFsFacts fs;
  fs.dio_align = env.dio_align;
  fs.bdev_block_size = env.bdev_block_size;
  fs.rotational = env.rotational;
  return fs;
}

void InprocTarget::remove_object(const Kept& k) {
  std::string path = sandbox_ + "/" + k.name;
  if (k.kind == ObjectDecl::Kind::Dir)
    ::rmdir(path.c_str());
  else
    ::unlink(path.c_str());
}

void InprocTarget::remove_sandbox() {
  kept_.clear();
  if (sandbox_.empty()) return;
  (void)host::remove_sandbox_dir(sandbox_);
  sandbox_.clear();
}

void InprocTarget::finish() {
  kernel_.reset();  // closes every fd, unbinds every device, joins every worker
  object_names_.clear();
  last_read_len_ = 0;
}

Outcome InprocTarget::execute(const Op& op) {
  if (!tl_block_buffer) last_read_len_ = 0;
  if (kernel_ == nullptr) return Outcome::skipped();
  switch (op.kind) {
    case OpKind::Open:
      return open(op);
    case OpKind::Close:
      return result_of(kernel_->close(fd_of(op.subject)));
    case OpKind::Ioctl:
      return ioctl(op);
    case OpKind::Pread:
      return pread(op);
    case OpKind::Pwrite:
      return pwrite(op);
    case OpKind::Fsync:
      return result_of(kernel_->fsync(fd_of(op.subject)));
    case OpKind::Truncate:
      return truncate(op);
    case OpKind::Sysfs:
      return sysfs(op);
    case OpKind::Fallocate:
      return result_of(kernel_->fallocate(fd_of(op.subject), falloc_mode_bits(op.falloc_mode),
                                          static_cast<int64_t>(op.offset.lit),
                                          static_cast<int64_t>(op.length)));
    case OpKind::Allocated:
      return file_allocated_bytes(object_path(op.object));  // the host filesystem's answer
    case OpKind::Uevents:
      return Outcome::events(kernel_->read_uevents());
  }
  return Outcome::error(EINVAL);
}

Outcome InprocTarget::open(const Op& op) {
  int flags = open_flags_of(op);
  switch (op.node) {
    case Node::LoopControl:
      return result_of(kernel_->open_loop_control(flags), ValueRole::Fd);
    case Node::Loop:
      if (op.part != 0)
        return result_of(kernel_->open_partition(op.subject.lit, op.part, flags), ValueRole::Fd);
      return result_of(kernel_->open_loop(op.subject.lit, flags), ValueRole::Fd);
    case Node::File:
    case Node::Dir: {
      std::string name =
          op.object < object_names_.size() ? object_names_[op.object] : std::string();
      return result_of(kernel_->open_host(object_path(op.object), flags, name), ValueRole::Fd);
    }
  }
  return Outcome::error(EINVAL);
}

Outcome InprocTarget::ioctl(const Op& op) {
  const int fd = fd_of(op.subject);
  const unsigned long request = op.req == Req::Unknown ? op.raw_req : req_number(op.req);
  const unsigned long number = op.arg_kind == ArgKind::Number ? op.arg.lit : 0;
  auto ptr = [&](void* p) {
    return reinterpret_cast<unsigned long>(ioctl_pointer(op.arg_kind, p));
  };

  if (op.req == Req::Unknown) {
    // The driver decides what the argument means; a struct argument is a zeroed
    // buffer large enough for any loop struct.
    alignas(8) uint8_t scratch[sizeof(loop_config)] = {};
    if (op.arg_kind == ArgKind::Struct) return result_of(kernel_->ioctl(fd, request, ptr(scratch)));
    return result_of(kernel_->ioctl(fd, request, number));
  }

  switch (req_arg(op.req)) {
    case ReqArg::Ignored:
    case ReqArg::Number: {
      ValueRole role = op.req == Req::LoopCtlAdd || op.req == Req::LoopCtlGetFree
                           ? ValueRole::DevIndex
                           : ValueRole::Plain;
      return result_of(kernel_->ioctl(fd, request, number), role);
    }
    case ReqArg::Int: {
      int value = static_cast<int>(op.arg.lit);
      return result_of(kernel_->ioctl(fd, request, ptr(&value)));
    }
    case ReqArg::Range: {
      uint64_t range[2] = {op.offset.lit, op.arg.lit};
      return result_of(kernel_->ioctl(fd, request, ptr(range)));
    }
    case ReqArg::Out: {
      // Sized for the widest getter (u64); each writes its own C type.
      alignas(8) uint8_t out[8] = {};
      long rc = kernel_->ioctl(fd, request, ptr(out));
      if (rc < 0) return Outcome::error(static_cast<int>(-rc));
      return Outcome::ok(getter_value(op.req, out));
    }
    case ReqArg::StructIn:
      switch (req_struct(op.req)) {
        case StructKind::LoopInfo: {
          loop_info info = to_loop_info(op.fields);
          return result_of(kernel_->ioctl(fd, request, ptr(&info)));
        }
        case StructKind::LoopConfig: {
          loop_config config = to_loop_config(op.fields);
          return result_of(kernel_->ioctl(fd, request, ptr(&config)));
        }
        default: {
          loop_info64 info = to_loop_info64(op.fields);
          return result_of(kernel_->ioctl(fd, request, ptr(&info)));
        }
      }
    case ReqArg::StructOut:
      if (req_struct(op.req) == StructKind::LoopInfo) {
        loop_info info{};
        long rc = kernel_->ioctl(fd, request, ptr(&info));
        return rc < 0 ? Outcome::error(static_cast<int>(-rc)) : status_outcome(info);
      } else {
        loop_info64 info{};
        long rc = kernel_->ioctl(fd, request, ptr(&info));
        return rc < 0 ? Outcome::error(static_cast<int>(-rc)) : status_outcome(info);
      }
  }
  return Outcome::error(EINVAL);
}

IoBuffer& InprocTarget::io_buffer() {
  return tl_block_buffer ? *tl_block_buffer : buffer_;
}

Outcome InprocTarget::pread(const Op& op) {
  IoBuffer& buffer = io_buffer();
  if (op.length > kMaxIoLength || !buffer.reserve(op.length)) return Outcome::error(ENOMEM);
  buffer.poison(op.length);
  int64_t n = kernel_->pread(fd_of(op.subject), buffer.data(), op.length,
                             static_cast<int64_t>(op.offset.lit));
  if (n < 0) return Outcome::error(static_cast<int>(-n));
  if (!tl_block_buffer) last_read_len_ = static_cast<uint64_t>(n);
  Outcome o;
  o.kind = Outcome::Kind::Data;
  o.value = n;
  o.digest = digest_bytes({buffer.data(), static_cast<size_t>(n)});
  return o;
}

Outcome InprocTarget::pwrite(const Op& op) {
  IoBuffer& buffer = io_buffer();
  if (op.length > kMaxIoLength || !buffer.reserve(op.length)) return Outcome::error(ENOMEM);
  pattern_fill(op.seed, 0, buffer.data(), op.length);
  return result_of(kernel_->pwrite(fd_of(op.subject), buffer.data(), op.length,
                                   static_cast<int64_t>(op.offset.lit)));
}

// The driver takes its own locks (lo_mutex, the idr's, the queue's, the page
// cache's), as the kernel does: the block's threads call into it at once.
BlockHistory InprocTarget::run_block(std::span<const BlockThread> threads,
                                     std::span<const int64_t> vars) {
  if (!kernel_) return BlockHistory{{}, "inproc: run_block before start()"};
  std::vector<std::unique_ptr<IoBuffer>> buffers;
  for (size_t t = 0; t < threads.size(); ++t) buffers.push_back(std::make_unique<IoBuffer>());
  return run_block_threads(threads, vars, [&](size_t t, const Op& op, CallClock&) {
    tl_block_buffer = buffers[t].get();
    const Outcome o = execute(op);
    tl_block_buffer = nullptr;
    return o;
  });
}

Outcome InprocTarget::truncate(const Op& op) {
  write_log_.changes_for(object_path(op.object))->note_from(op.offset.lit);
  if (::truncate(object_path(op.object).c_str(), static_cast<off_t>(op.offset.lit)) != 0)
    return Outcome::error(errno);
  return Outcome::ok(0);
}

Outcome InprocTarget::sysfs(const Op& op) {
  std::string text;
  const int err = op.part != 0 ? kernel_->read_partition_sysfs(op.subject.lit, op.part,
                                                               sysattr_path(op.attr), text)
                               : kernel_->read_sysfs(op.subject.lit, sysattr_path(op.attr), text);
  if (err != 0) return Outcome::error(-err);
  std::string_view value = text;
  if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
  Outcome o;
  o.kind = Outcome::Kind::Text;
  o.set_text(value);
  return o;
}

std::string InprocTarget::summary() const {
  if (kernel_ == nullptr) return "inproc: not started";
  std::string s = "inproc " + std::string(kernel_->profile().name) + ":";
  static constexpr const char* kStateName[] = {"Unbound", "Bound", "Rundown", "Deleting"};
  for (const auto& dev : kernel_->control().devices()) {
    if (dev->state() == LoState::Unbound && dev->disk().openers() == 0) continue;
    s += " loop" + std::to_string(dev->number()) + "=" +
         kStateName[static_cast<int>(dev->state())] + "(openers " +
         std::to_string(dev->disk().openers()) + ", " +
         std::to_string(dev->disk().capacity_sectors()) + " sectors)";
  }
  s += "; " + std::to_string(kernel_->open_fd_count()) + " fds open";
  return s;
}

}  // namespace loopcheck::inproc
