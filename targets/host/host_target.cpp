#include "targets/host/host_target.h"

#include "targets/host/capability.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <memory>
#include <mutex>

#include "targets/block_threads.h"
#include "targets/fork_guard.h"
#include "targets/host/child_executor.h"
#include "targets/host/device_cleanup.h"
#include "targets/host/loop_sys.h"
#include <fmt/format.h>

#include "model/profile.h"
#include "trace/kernel_scope.h"

namespace loopcheck {
namespace {

constexpr size_t kMaxSkipReasons = 64;

// A concurrent block's thread (run_block): the sandbox rules and the bookkeeping
// run under one lock, each thread's system call outside it, on its own executor,
// timed exactly.
struct BlockThreadContext {
  std::unique_lock<std::mutex>* policy = nullptr;
  host::SyscallExecutor* executor = nullptr;
  host::ChildExecutor* child = nullptr;  // a process thread's: the call runs there
  CallClock* clock = nullptr;
};
thread_local BlockThreadContext* tl_block = nullptr;
constexpr int kRemoveTimeoutMs = 2000;
constexpr int kCapSysAdmin = 21;

std::string loop_name(uint64_t index) {
  return "loop" + std::to_string(index);
}

bool has_cap_sys_admin() {
  std::string status;
  if (host::read_small_file("/proc/self/status", &status) != 0) return false;
  size_t at = status.find("\nCapEff:");
  if (at == std::string::npos) return false;
  unsigned long long caps = std::strtoull(status.c_str() + at + 8, nullptr, 16);
  return (caps >> kCapSysAdmin) & 1;
}

// The fd a LOOP_SET_FD / LOOP_CHANGE_FD / LOOP_CONFIGURE asks the kernel to bind.
bool backing_fd_of(const Op& op, uint64_t* fd) {
  if (op.kind != OpKind::Ioctl || pointer_faults(op.arg_kind)) return false;
  if (op.req == Req::LoopSetFd || op.req == Req::LoopChangeFd) {
    *fd = op.arg.lit;
    return true;
  }
  if (op.req == Req::LoopConfigure) {
    *fd = static_cast<uint32_t>(op.fields.get(Field::Fd));  // the struct's fd is a u32
    return true;
  }
  return false;
}

// The model predicts that dirty device pages stay out of the backing file until a
// flush point (docs/semantics.md §11.1). The flusher writes back on its own only
// pages dirty for dirty_expire_centisecs: 6.18.44 here wrote a page back 28-31 s
// after the write at the default 3000, never sooner. Host traces run in well under
// a second; a host set below 10 s could write back in the middle of one.
constexpr unsigned long kMinDirtyExpireCentisecs = 1000;

bool writeback_waits_long_enough(std::string* why) {
  std::string text;
  const char* path = "/proc/sys/vm/dirty_expire_centisecs";
  if (host::read_small_file(path, &text) != 0) {
    *why = std::string("cannot read ") + path;
    return false;
  }
  const unsigned long centisecs = std::strtoul(text.c_str(), nullptr, 10);
  if (centisecs >= kMinDirtyExpireCentisecs) return true;
  *why = std::string(path) + " is " + std::to_string(centisecs) + ", below " +
         std::to_string(kMinDirtyExpireCentisecs) +
         ": the kernel may write dirty pages back during a trace (set it to 3000)";
  return false;
}

}  // namespace

bool host_loop_available(std::string* why) {
  if (!has_cap_sys_admin()) {
    *why = "the process lacks CAP_SYS_ADMIN (run as root)";
    return false;
  }
  int fd = ::open(host::kLoopControlPath, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = std::string(host::kLoopControlPath) + ": " + std::strerror(errno) +
           " (is the loop module loaded and /dev populated?)";
    return false;
  }
  ::close(fd);
  return true;
}

std::string host_kernel_release() {
  struct utsname u;
  if (::uname(&u) != 0) return {};
  return u.release;
}

HostTarget::HostTarget(HostTargetOptions options) : options_(std::move(options)) {}

HostTarget::~HostTarget() {
  if (executor_) finish();
}

void HostTarget::describe_env(Env& env, uint16_t pinned) const {
  if (!(pinned & (1u << static_cast<int>(EnvKey::MsdosPartitions))))
    env.msdos_partitions = host::kernel_reads_msdos_partitions().value_or(env.msdos_partitions);
  if (pinned & (1u << static_cast<int>(EnvKey::Rotational))) return;
  env.rotational =
      host::directory_disk_rotational(options_.sandbox_parent).value_or(env.rotational);
}

TargetError HostTarget::start(const Trace& trace, std::string_view profile, const Env& env) {
  const model::Profile* p = model::find_profile(profile);
  created_rotational_ = p != nullptr && p->created_rotational;
  const std::optional<bool> rotational = host::directory_disk_rotational(options_.sandbox_parent);
  if (rotational && *rotational != env.rotational) {
    return {true,
            fmt::format("the trace's @env rotational={} does not describe this host: {} is on "
                        "a disk whose queue/rotational is {}; drop the key, or run the trace "
                        "on a target that has it",
                        env.rotational ? 1 : 0, options_.sandbox_parent, *rotational ? 1 : 0),
            true};
  }
  // Only a trace that pins the fact can contradict the host (describe_env fills
  // it in otherwise).
  const bool msdos_pinned =
      (trace.env_given & (1u << static_cast<int>(EnvKey::MsdosPartitions))) != 0;
  const std::optional<bool> msdos = host::kernel_reads_msdos_partitions();
  if (msdos_pinned && msdos && *msdos != env.msdos_partitions) {
    return {true,
            fmt::format("the trace's @env msdos_partitions={} does not describe this host: "
                        "its kernel {} MBR partition tables (CONFIG_MSDOS_PARTITION, "
                        "msdos_partition in /proc/kallsyms); run the trace on a vm: target",
                        env.msdos_partitions ? 1 : 0, *msdos ? "reads" : "does not read"),
            true};
  }
  if (env.cgroup) {
    return {true,
            "the trace's @env cgroup=1 asks for its steps to run from a cgroup below the root, "
            "which the host target does not arrange (it would move the whole process); run it "
            "on a vm: target",
            true};
  }
  TargetError err = prepare(trace, env);
  // A start that failed gets no finish(): it must not keep other runs' traces
  // that observe global loop state waiting on its share of the lock.
  if (err.failed) kernel_scope_.reset();
  return err;
}

TargetError HostTarget::prepare(const Trace& trace, const Env& env) {
  // The host runs whatever kernel it runs and has whatever devices it has: the
  // profile and most @env facts are the model's business (host_kernel_release()).
  if (executor_) finish();
  std::string why;
  if (!host_loop_available(&why)) return {true, "host target unavailable: " + why};
  if (!writeback_waits_long_enough(&why)) return {true, "host target unavailable: " + why};
  // @env cap_sys_admin=0: each step runs with CAP_SYS_ADMIN lowered from the
  // effective set only, so sandbox bookkeeping and cleanup keep it.
  caller_without_cap_sys_admin_ = !env.cap_sys_admin;
  if (int err = host::ensure_state_dir(options_.state_dir)) {
    return {true, "cannot create " + options_.state_dir + ": " + std::strerror(err)};
  }
  // Before anything else touches loop-control: a trace that looks at global loop
  // state waits until no other trace on the machine runs, and holds them off.
  kernel_scope_ = std::make_unique<host::KernelScopeLock>(options_.state_dir);
  if (int err = kernel_scope_->acquire(needs_exclusive_kernel(trace))) {
    return {true, "cannot lock " + options_.state_dir + "/locks: " + std::strerror(err)};
  }
  recovery_ = host::recover_dead_runs(options_.state_dir, options_.sandbox_parent);
  skipped_ = 0;
  unopened_indices_.clear();
  skip_reasons_.clear();
  finish_problems_.clear();

  if (int err = host::make_sandbox_dir(options_.sandbox_parent, &sandbox_dir_)) {
    return {true,
            "cannot create a sandbox under " + options_.sandbox_parent + ": " + std::strerror(err)};
  }
  if (int err = ledger_.create(options_.state_dir, sandbox_dir_)) {
    host::remove_sandbox_dir(sandbox_dir_);
    return {true, "cannot create a ledger in " + options_.state_dir + ": " + std::strerror(err)};
  }
  host::SyscallExecutorConfig config;
  config.object_dir = sandbox_dir_;
  config.node_dir = sandbox_dir_;
  for (const ObjectDecl& obj : trace.objects) {
    // The parser only admits identifiers, so a name can never leave the sandbox.
    assert(!obj.name.empty() && obj.name.find('/') == std::string::npos && obj.name[0] != '.');
    std::string path = sandbox_dir_ + "/" + obj.name;
    int err = obj.kind == ObjectDecl::Kind::Dir
                  ? (::mkdir(path.c_str(), 0700) == 0 ? 0 : errno)
                  : host::create_backing_file(path, obj.size, obj.fill, obj.mbr);
    if (err) {
      ledger_.discard();
      host::remove_sandbox_dir(sandbox_dir_);
      return {true, "cannot create sandbox object " + path + ": " + std::strerror(err)};
    }
    config.object_names.push_back(obj.name);
  }
  devnull_ = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  locks_ = std::make_unique<host::DeviceLocks>(options_.state_dir);
  listening_ = std::any_of(trace.stmts.begin(), trace.stmts.end(),
                           [](const Statement& s) { return s.op.kind == OpKind::Uevents; });
  config.listen_uevents = listening_;
  uevents_ = UeventList{};
  executor_ = std::make_unique<host::SyscallExecutor>(std::move(config));
  return {};
}

std::span<const uint8_t> HostTarget::last_read() const {
  return executor_ ? executor_->last_read() : std::span<const uint8_t>{};
}

Outcome HostTarget::skip(std::string reason) {
  ++skipped_;
  last_skip_reason_ = reason;
  if (skip_reasons_.size() < kMaxSkipReasons) skip_reasons_.push_back(std::move(reason));
  return Outcome::skipped();
}

HostTarget::FdClass HostTarget::classify_fd(uint64_t fd, FdInfo* info) const {
  // The syscall sees the low 32 bits as an int, exactly as the executor passes it.
  const int as_int = static_cast<int>(static_cast<uint32_t>(fd));
  if (as_int < 0) return FdClass::Closed;
  auto it = fds_.find(as_int);
  if (it != fds_.end()) {
    *info = it->second;
    return FdClass::Ours;
  }
  return host::fd_is_open(as_int) ? FdClass::Foreign : FdClass::Closed;
}

std::vector<uint64_t> HostTarget::owned_indices() const {
  std::vector<uint64_t> out;
  for (const auto& [index, dev] : devices_) out.push_back(index);
  return out;
}

std::map<uint64_t, bool> HostTarget::owned_devices() const {
  std::map<uint64_t, bool> out;
  for (const auto& [index, dev] : devices_) out[index] = dev.created;
  return out;
}

bool HostTarget::usable_device(uint64_t index, std::string* why) {
  if (tl_block && !devices_.count(index) && removed_in_block_.count(index)) return true;
  if (!devices_.count(index)) {
    *why = loop_name(index) + " is not this run's (not created or claimed by it)";
    return false;
  }
  if (host::binding_owner(index, sandbox_dir_, owned_indices()) == host::BindingOwner::Foreign) {
    *why = loop_name(index) + " was bound by someone else meanwhile; released";
    lose_device(index);
    return false;
  }
  return true;
}

// Someone else now uses the device: stop being one of its openers at once, but
// keep the fd numbers reserved so later trace steps cannot hit an unrelated fd.
void HostTarget::lose_device(uint64_t index) {
  for (auto& [fd, info] : fds_) {
    if (info.kind == FdKind::Loop && info.index == index && devnull_ >= 0 &&
        ::dup3(devnull_, fd, O_CLOEXEC) >= 0) {
      info.kind = FdKind::Neutralized;
    }
  }
  devices_.erase(index);
  locks_->release(index);
}

// A device others used reads ahead as far as their binds made it (read_ahead_kb
// never decreases, docs/host.md): the model starts from a new device's 128 KiB and
// the profile's rotational flag, so the run does too. After set_unbound_read_only,
// whose own bind raises it.
bool HostTarget::reset_queue_tuning(uint64_t index, Device* device) {
  device->tuning_at_claim = host::loop_queue_tuning(index);
  if (!device->tuning_at_claim) return false;
  const host::QueueTuning fresh{"128", created_rotational_ ? "1" : "0"};
  if (device->tuning_at_claim->read_ahead_kb == fresh.read_ahead_kb &&
      device->tuning_at_claim->rotational == fresh.rotational)
    return true;
  return host::set_loop_queue_tuning(index, fresh) == 0;
}

// LOOP_CTL_REMOVE refuses a device someone has open. When that someone is not this
// run (no fd of ours is on it, it is unbound) it is udev probing the device after
// the trace's last bind or detach; the trace's own answer is what the kernel says
// once the probe is done. (The EBUSY once seen on 6.18.44 in a conformance run with
// two VMs, a machine without udev, was this process's own QEMU fork holding a copy
// of the trace's fd: targets/fork_guard.h closes that window.)
Outcome HostTarget::retry_remove_busy_from_outside(const Op& op, uint64_t index, Outcome busy) {
  // In a concurrent block the opener may be the block's own thread, gone by now:
  // a retry would hide the race under test.
  if (tl_block) return busy;
  std::vector<int> own_fds;
  for (const auto& [fd, info] : fds_) {
    if (info.kind == FdKind::Loop && info.index == index) return busy;
    own_fds.push_back(fd);
  }
  const std::optional<dev_t> rdev = host::loop_device_number(index);
  if (!rdev || host::loop_device_bound(index)) return busy;
  constexpr int kRetries = 100, kRetryMs = 10;
  for (int i = 0; i < kRetries; ++i) {
    if (!host::block_device_open_elsewhere(*rdev, own_fds)) return syscall(op);
    ::usleep(kRetryMs * 1000);
  }
  return busy;
}

bool HostTarget::claim_handed_device(uint64_t index, std::string* why) {
  if (!locks_->try_lock(index)) {
    *why = "another loopcheck run holds " + loop_name(index);
    return false;
  }
  std::vector<int> own_fds;
  for (const auto& [fd, info] : fds_) own_fds.push_back(fd);
  std::optional<dev_t> rdev = host::loop_device_number(index);
  // Unbound, nothing stacked on it, no opener anywhere: nobody is using it. An
  // unbound device cannot be mounted or back another loop device, so an O_EXCL
  // probe would add nothing.
  if (!rdev) {
    *why = loop_name(index) + " vanished";
  } else if (host::loop_device_bound(index)) {
    *why = loop_name(index) + " is bound by someone else";
  } else if (!host::loop_has_no_holders(index)) {
    *why = loop_name(index) + " has holders";
  } else if (host::block_device_open_elsewhere(*rdev, own_fds)) {
    *why = loop_name(index) + " is open in another process";
  } else if (!ledger_.note_handed(index)) {
    *why = "cannot write the ledger";
  } else {
    Device device{false, host::loop_read_only(index).value_or(false), std::nullopt};
    if (device.read_only_at_claim && host::set_unbound_read_only(index, false, sandbox_dir_) != 0) {
      *why = loop_name(index) + " is read-only and could not be made writable for the run";
    } else if (!reset_queue_tuning(index, &device)) {
      *why = loop_name(index) + "'s read_ahead_kb and rotational could not be reset for the run";
    } else {
      devices_[index] = device;
      return true;
    }
  }
  locks_->release(index);
  return false;
}

Outcome HostTarget::syscall(const Op& op) {
  if (!tl_block) return executor_->execute(op);
  tl_block->policy->unlock();
  Outcome o;
  if (tl_block->child) {
    o = tl_block->child->execute(op, *tl_block->clock);  // timed in the child
  } else {
    tl_block->clock->start();
    o = tl_block->executor->execute(op);
    tl_block->clock->end();
  }
  tl_block->policy->lock();
  if (o.kind == Outcome::Kind::Skipped && tl_block->child)
    return skip("process thread: " + tl_block->child->error());
  return o;
}

BlockHistory HostTarget::run_block(std::span<const BlockThread> threads,
                                   std::span<const int64_t> vars) {
  if (!executor_) return BlockHistory{{}, "host: run_block before start()"};
  std::mutex policy;
  // An open racing the block's own LOOP_CTL_REMOVE of a device this run created
  // may find /dev/loopN gone: it opens the device by number as the model does
  // (legacy autoload; the device it makes is the run's, recorded by open()).
  // Opens of devices the run does not own never get this far (usable_device).
  host::SyscallExecutorConfig config = executor_->config();
  config.missing_device = host::MissingDevice::Autoload;
  std::vector<std::unique_ptr<host::SyscallExecutor>> executors;
  std::vector<std::unique_ptr<host::ChildExecutor>> children(threads.size());
  for (size_t t = 0; t < threads.size(); ++t) {
    executors.push_back(std::make_unique<host::SyscallExecutor>(config));
    if (threads[t].kind != ThreadKind::Process) continue;
    children[t] = std::make_unique<host::ChildExecutor>(config, caller_without_cap_sys_admin_);
    if (!children[t]->error().empty()) return BlockHistory{{}, "host: " + children[t]->error()};
  }
  BlockHistory h = run_block_threads(threads, vars, [&](size_t t, const Op& op, CallClock& clock) {
    std::unique_lock<std::mutex> lock(policy);
    BlockThreadContext context{&lock, executors[t].get(), children[t].get(), &clock};
    tl_block = &context;
    Outcome o = execute(op);
    tl_block = nullptr;
    return o;
  });
  // An open that autoloaded a device the block removed may have run while the
  // remover had not yet recorded its removal (the policy lock is dropped around
  // each system call): the kernel, not the order of the bookkeeping, says
  // whether the device exists again. Left unrecorded, it would outlive the run.
  for (uint64_t index : removed_in_block_) {
    if (devices_.count(index)) continue;
    if (host::loop_device_exists(index) && ledger_.note_created(index))
      devices_[index] = Device{true};
    else
      locks_->release(index);
  }
  removed_in_block_.clear();
  return h;
}

Outcome HostTarget::execute(const Op& op) {
  assert(executor_ && "start() first");
  if (!executor_) return Outcome::skipped();
  NoForkDuringStep no_fd_copies_in_children;  // targets/fork_guard.h
  host::EffectiveCapabilityDrop as_caller(kCapSysAdmin, caller_without_cap_sys_admin_);
  if (!as_caller.ok()) return skip("cannot lower CAP_SYS_ADMIN for a cap_sys_admin=0 trace");
  if (op.kind == OpKind::Uevents) return read_uevents();
  if (!listening_ || tl_block) return execute_step(op);
  collect_uevents(devices_);  // what others did to them since is not this step's
  std::map<uint64_t, Device> owned_during_step = devices_;  // with those it removes
  Outcome o = execute_step(op);
  owned_during_step.insert(devices_.begin(), devices_.end());  // and those it made
  collect_uevents(owned_during_step);
  return o;
}

void HostTarget::collect_uevents(const std::map<uint64_t, Device>& owned) {
  const UeventList got = executor_->read_uevents();
  if (got.lost) uevents_.lost = 1;
  for (uint8_t i = 0; i < got.count; ++i)
    if (owned.count(got.event[i].device)) uevents_.push(got.event[i]);
}

Outcome HostTarget::read_uevents() {
  if (!listening_) return skip("uevents: the run did not listen");
  const std::string why = executor_->uevent_listener_error();
  if (!why.empty()) return skip("uevents: " + why);
  collect_uevents(devices_);
  const Outcome o = Outcome::events(uevents_);
  uevents_ = UeventList{};
  return o;
}

Outcome HostTarget::execute_step(const Op& op) {
  switch (op.kind) {
    case OpKind::Open:
      return open(op);
    case OpKind::Close:
      return close(op);
    case OpKind::Ioctl:
      return ioctl(op);
    case OpKind::Pread:
    case OpKind::Pwrite:
    case OpKind::Fsync:
    case OpKind::Fallocate:
      return fd_io(op);
    case OpKind::Truncate:
    case OpKind::Allocated:
      return syscall(op);  // always a sandbox file
    case OpKind::Sysfs:
      return sysfs(op);
    case OpKind::Uevents:
      return read_uevents();
  }
  return skip("unknown operation");
}

Outcome HostTarget::open(const Op& op) {
  FdInfo info;
  switch (op.node) {
    case Node::LoopControl:
      info.kind = FdKind::Control;
      break;
    case Node::Loop: {
      std::string why;
      if (!usable_device(op.subject.lit, &why)) {
        unopened_indices_.insert(op.subject.lit);
        return skip("open: " + why);
      }
      info.kind = FdKind::Loop;
      info.index = op.subject.lit;
      break;
    }
    case Node::File:
      info.kind = FdKind::File;
      break;
    case Node::Dir:
      info.kind = FdKind::Dir;
      break;
  }
  Outcome o = syscall(op);
  if (o.kind == Outcome::Kind::Value) {
    assert(!fds_.count(static_cast<int>(o.value)));
    fds_[static_cast<int>(o.value)] = info;
    if (info.kind == FdKind::Loop && !devices_.count(info.index) &&
        ledger_.note_created(info.index))
      devices_[info.index] = Device{true};  // a concurrent remove won: the open autoloaded it
  }
  return o;
}

Outcome HostTarget::close(const Op& op) {
  FdInfo info;
  switch (classify_fd(op.subject.lit, &info)) {
    case FdClass::Foreign:
      return skip("close: fd " + std::to_string(op.subject.lit) + " is not the trace's");
    case FdClass::Closed:
      return syscall(op);  // EBADF, as the trace asks
    case FdClass::Ours:
      break;
  }
  fds_.erase(static_cast<int>(
      static_cast<uint32_t>(op.subject.lit)));  // close frees the number even when it fails
  Outcome o = syscall(op);
  if (info.kind == FdKind::Neutralized)
    return skip("close: the fd's device was lost to someone else");
  return o;
}

bool HostTarget::backing_fd_allowed(const Op& op, uint64_t device, std::string* why) {
  uint64_t fd = 0;
  if (!backing_fd_of(op, &fd)) return true;
  FdInfo info;
  switch (classify_fd(fd, &info)) {
    case FdClass::Foreign:
      *why = "backing fd " + std::to_string(fd) + " is not the trace's";
      return false;
    case FdClass::Closed:
      return true;  // EBADF
    case FdClass::Ours:
      break;
  }
  if (info.kind == FdKind::Neutralized) {
    *why = "backing fd's device was lost to someone else";
    return false;
  }
  if (info.kind == FdKind::Loop && !usable_device(info.index, why)) return false;
  struct stat st;
  if (::fstat(static_cast<int>(static_cast<uint32_t>(fd)), &st) == 0 &&
      !ledger_.note_binding(device, st.st_dev, st.st_ino)) {
    *why = "cannot write the ledger";
    return false;
  }
  return true;
}

Outcome HostTarget::ioctl(const Op& op) {
  FdInfo info;
  switch (classify_fd(op.subject.lit, &info)) {
    case FdClass::Foreign:
      return skip("ioctl: fd " + std::to_string(op.subject.lit) + " is not the trace's");
    case FdClass::Closed:
      return syscall(op);  // EBADF before the kernel looks at anything else
    case FdClass::Ours:
      break;
  }
  std::string why;
  switch (info.kind) {
    case FdKind::Neutralized:
      return skip("ioctl: the fd's device was lost to someone else");
    case FdKind::Control:
      return control_ioctl(op);
    case FdKind::Loop:
      if (!usable_device(info.index, &why) || !backing_fd_allowed(op, info.index, &why))
        return skip("ioctl: " + why);
      return syscall(op);
    case FdKind::File:
    case FdKind::Dir:
      // Loop and block ioctls on a file or directory fail in the VFS (ENOTTY)
      // without looking at their argument.
      return syscall(op);
  }
  return skip("ioctl: unknown fd kind");
}

Outcome HostTarget::control_ioctl(const Op& op) {
  // loop-control converts its argument to int (docs/semantics.md §3.10).
  const int index = static_cast<int>(static_cast<uint32_t>(op.arg.lit));
  switch (op.req) {
    case Req::LoopCtlAdd: {
      if (index >= 0 && unopened_indices_.contains(static_cast<uint64_t>(index)))
        return skip("LOOP_CTL_ADD: the trace's open of " + loop_name(index) +
                    " was skipped (the host never autoloads a device)");
      if (!ledger_.note_add_intent(index)) return skip("LOOP_CTL_ADD: cannot write the ledger");
      Outcome o = syscall(op);
      if (o.kind == Outcome::Kind::Value) {
        uint64_t made = static_cast<uint64_t>(o.value);
        ledger_.note_created(made);
        devices_[made] = Device{true};
        locks_->try_lock(made);  // best effort: the kernel already made it ours
      }
      return o;
    }
    case Req::LoopCtlRemove: {
      if (index < 0) return syscall(op);  // EINVAL before any lookup
      auto it = devices_.find(static_cast<uint64_t>(index));
      if (it == devices_.end() || !it->second.created) {
        return skip("LOOP_CTL_REMOVE: " + loop_name(index) + " was not created by this run");
      }
      Outcome o = syscall(op);
      if (o.kind == Outcome::Kind::Error && o.err == EBUSY)
        o = retry_remove_busy_from_outside(op, static_cast<uint64_t>(index), o);
      if (o.kind == Outcome::Kind::Value) {
        ledger_.note_removed(static_cast<uint64_t>(index));
        devices_.erase(it);
        if (tl_block)
          removed_in_block_.insert(static_cast<uint64_t>(index));
        else
          locks_->release(static_cast<uint64_t>(index));
      }
      return o;
    }
    case Req::LoopCtlGetFree: {
      Outcome o = syscall(op);
      if (o.kind == Outcome::Kind::Value && !devices_.count(static_cast<uint64_t>(o.value))) {
        std::string why;
        if (!claim_handed_device(static_cast<uint64_t>(o.value), &why)) {
          // The index is still the kernel's answer; later steps on it are skipped.
          if (skip_reasons_.size() < kMaxSkipReasons)
            skip_reasons_.push_back("LOOP_CTL_GET_FREE: not claimed: " + why);
        }
      }
      return o;
    }
    default:
      return syscall(op);  // ENOSYS; nothing is touched
  }
}

Outcome HostTarget::fd_io(const Op& op) {
  FdInfo info;
  switch (classify_fd(op.subject.lit, &info)) {
    case FdClass::Foreign:
      return skip("I/O: fd " + std::to_string(op.subject.lit) + " is not the trace's");
    case FdClass::Closed:
      return syscall(op);
    case FdClass::Ours:
      break;
  }
  std::string why;
  if (info.kind == FdKind::Neutralized)
    return skip("I/O: the fd's device was lost to someone else");
  if (info.kind == FdKind::Loop && !usable_device(info.index, &why)) return skip("I/O: " + why);
  return syscall(op);
}

Outcome HostTarget::sysfs(const Op& op) {
  std::string why;
  if (!usable_device(op.subject.lit, &why)) return skip("sysfs: " + why);
  return syscall(op);
}

std::string HostTarget::summary() const {
  // Appended piece by piece: GCC 12 -O3 warns falsely (-Wrestrict) on long `+` chains.
  std::string out = "host: sandbox ";
  out += sandbox_dir_;
  out += "; devices:";
  for (const auto& [index, dev] : devices_) {
    out += ' ';
    out += loop_name(index);
    out += dev.created ? "(created" : "(handed";
    if (host::loop_device_bound(index)) {
      out += ", bound: ";
      out += host::loop_backing_file(index);
      out += ')';
    } else {
      out += ", unbound)";
    }
  }
  out += "; open fds: ";
  out += std::to_string(fds_.size());
  out += "; skipped steps: ";
  out += std::to_string(skipped_);
  return out;
}

// Removes the devices the run created. Handed devices are the system's: left
// unbound and closed, with the sticky read-only bit they had when we claimed them.
void HostTarget::release_devices() {
  for (const auto& [index, dev] : devices_) {
    if (dev.created || !dev.tuning_at_claim || !host::loop_device_exists(index) ||
        host::loop_device_bound(index))
      continue;
    if (int err = host::set_loop_queue_tuning(index, *dev.tuning_at_claim)) {
      finish_problems_.push_back("restoring read_ahead_kb and rotational of " + loop_name(index) +
                                 ": " + std::strerror(err));
    }
  }
  for (const auto& [index, dev] : devices_) {
    if (!dev.created && host::loop_device_exists(index) && !host::loop_device_bound(index) &&
        host::loop_read_only(index) != dev.read_only_at_claim) {
      if (int err = host::set_unbound_read_only(index, dev.read_only_at_claim, sandbox_dir_)) {
        finish_problems_.push_back("restoring the read-only bit of " + loop_name(index) + ": " +
                                   std::strerror(err));
      }
    }
  }
  for (const auto& [index, dev] : devices_) {
    if (!dev.created || !host::loop_device_exists(index)) continue;
    if (host::loop_device_bound(index)) {
      finish_problems_.push_back(loop_name(index) + " is bound; not removed");
      continue;
    }
    int err = host::remove_loop_device(index, kRemoveTimeoutMs);
    if (err != 0 && err != ENODEV) {
      finish_problems_.push_back("LOOP_CTL_REMOVE " + loop_name(index) + ": " + std::strerror(err));
    }
  }
}

void HostTarget::finish() {
  if (!executor_) return;
  NoForkDuringStep no_fd_copies_in_children;  // the last closes below must be last
  // 1. Close every fd the trace left open: on 6.11+ a detached device only
  //    tears down at its last close, and autoclear devices go right here.
  for (const auto& [fd, info] : fds_) ::close(fd);
  fds_.clear();

  // 2. Detach what is bound to our files or devices; never anything else.
  const std::vector<uint64_t> owned = owned_indices();
  std::vector<uint64_t> detached;
  for (uint64_t index : owned) {
    host::BindingOwner owner = host::binding_owner(index, sandbox_dir_, owned);
    if (owner == host::BindingOwner::Foreign) {
      finish_problems_.push_back(loop_name(index) + " was bound by someone else; left alone");
    } else if (owner == host::BindingOwner::Ours) {
      int err = host::detach_loop_device(index);
      if (err == 0 || err == ENXIO) {
        detached.push_back(index);
      } else {
        finish_problems_.push_back("LOOP_CLR_FD " + loop_name(index) + ": " + std::strerror(err));
      }
    }
  }
  bool sandbox_in_use = false;
  for (uint64_t index : detached) {
    if (!host::wait_until_unbound(index, options_.teardown_timeout_ms)) {
      finish_problems_.push_back(loop_name(index) +
                                 " still bound after detach (someone holds it open?)");
      sandbox_in_use = true;
    }
  }

  // 3. Remove what we created; give back what we were handed.
  release_devices();
  devices_.clear();
  locks_->release_all();

  // 4. The sandbox goes unless a device still reads from it.
  if (!sandbox_in_use) {
    if (int err = host::remove_sandbox_dir(sandbox_dir_)) {
      finish_problems_.push_back("removing " + sandbox_dir_ + ": " + std::strerror(err));
    }
  }
  if (finish_problems_.empty()) {
    ledger_.discard();
  } else {
    ledger_.abandon();  // the next run's recovery retries what is provably ours
  }
  if (devnull_ >= 0) ::close(devnull_);
  devnull_ = -1;
  executor_.reset();
  kernel_scope_.reset();  // last: every device of this trace is gone
}

}  // namespace loopcheck
