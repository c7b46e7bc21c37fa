// The loopcheck guest agent: runs as /init (PID 1) in a throw-away VM.
//
// It mounts /proc, /sys and devtmpfs, mounts the ext4 filesystem the host made
// on the VM's NVMe disk (the backing filesystem for the trace's files: a real
// disk filesystem on a 512-byte-sector device, so the model's default @env
// dio_align=512 bdev_block_size=512 hold), loads /loop.ko, and then serves the
// protocol of targets/vm/protocol.h on /dev/ttyS1, executing every Op with the
// host target's executor (targets/host/syscall_executor.h) unchanged.
//
// Between traces it resets the guest to a freshly booted loop driver: every
// trace fd is closed, every device detached, the loop module unloaded and
// loaded again, the sandbox directory removed. A kernel that cannot be reset
// (the module stays busy) answers ResetDone with ok=false and the host reboots
// the VM.
//
// Fuzz programs take a quicker road (RunProgram; agent/program.cpp runs the
// statements, agent/guest_loop.cpp resets): the whole program in one frame, then
// only what the program touched is put back (its devices detached, the devices
// it added removed, each precreated device it used that no longer looks fresh
// removed and added again, the files rewritten), and the guest is checked clean
// (loop.ko's reference count 0, exactly the precreated devices, none bound): a
// module reload costs more than the program itself under TCG.
//
// The agent never exits: PID 1 exiting panics the kernel, so fatal
// errors power the guest off after saying why on the console.
//
// `--stdio --workdir DIR` runs it as an ordinary process instead (exec:, serial:
// targets; docs/agent-protocol.md): the protocol on stdin/stdout, its log on
// stderr, the trace's files under DIR, nothing mounted, loaded or powered off.
// The machine's loop driver is shared with everyone else then, so the agent
// touches only devices it created or was handed free (agent/process_claims.h),
// and a reset puts back only those. A fatal error there ends the process.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <array>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "targets/host/capability.h"
#include "targets/host/syscall_executor.h"
#include "targets/host/loop_sys.h"
#include "agent/backing_fs.h"
#include "agent/guest_cgroup.h"
#include "agent/guest_loop.h"
#include "agent/guest_modules.h"
#include "agent/process_claims.h"
#include "agent/program.h"
#include "agent/ram_disk.h"
#include "agent/virtio_channel.h"
#include "targets/partition_table_file.h"
#include "targets/vm/protocol.h"

namespace loopcheck::vm::agent {
namespace {

constexpr const char* kChannelDevice = "/dev/ttyS1";
constexpr const char* kDiskMount = "/mnt";
constexpr const char* kSandboxDir = "/mnt/sandbox";
// Device nodes the agent makes for `open loop N` of a device that does not exist,
// so that the open autoloads it as the model predicts (devtmpfs has no such node).
constexpr const char* kNodeDir = "/loop-nodes";
constexpr const char* kLoopModule = "/loop.ko";
constexpr int kDeviceWaitMs = 20000;    // devices appear shortly after their driver loads
constexpr int kTeardownWaitMs = 10000;  // detach and module unload under TCG

// Set by --stdio: fatal errors end the process instead of powering off, after
// giving back what the agent claimed on the shared machine.
bool g_process_mode = false;
void (*g_release_claims)() = nullptr;

void say(const char* fmt_text, const std::string& detail = {}) {
  std::fprintf(stderr, "loopcheck-agent: %s%s%s\n", fmt_text, detail.empty() ? "" : ": ",
               detail.c_str());
  std::fflush(stderr);
}

// The end of serving: a guest powers off (QEMU exits, the host sees the channel
// close); a process exits, 0 after Shutdown and 1 after an error.
[[noreturn]] void power_off(const std::string& why, int status = 1) {
  if (g_process_mode) {
    say("exiting", why);
    if (g_release_claims) g_release_claims();
    std::exit(status);
  }
  say("powering off", why);
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

void mount_or_die(const char* source, const char* target, const char* type,
                  const char* data = nullptr) {
  mkdir(target, 0755);
  if (mount(source, target, type, 0, data) != 0 && errno != EBUSY) {
    power_off(errno_text(std::string("mount ") + type + " on " + target));
  }
}

// --- the loop module --------------------------------------------------------------

// No /loop.ko in the initramfs: the kernel has the loop driver built in
// (`--target vm:PATH/TO/bzImage` without --loop-ko or --modules).
bool loop_builtin() {
  return access(kLoopModule, F_OK) != 0;
}

bool load_loop_module(std::string* why) {
  if (loop_builtin()) {
    if (wait_for_path(host::kLoopControlPath, kDeviceWaitMs)) return true;
    *why =
        "no /loop.ko was given and the kernel has no built-in loop driver "
        "(/dev/loop-control is missing): pass --loop-ko or --modules";
    return false;
  }
  if (!load_module(kLoopModule, "", why)) return false;
  if (!wait_for_path(host::kLoopControlPath, kDeviceWaitMs)) {
    *why = "loop.ko loaded but /dev/loop-control did not appear";
    return false;
  }
  return true;
}

// A built-in driver cannot be reloaded: the devices a trace added are removed
// instead, leaving the CONFIG_BLK_DEV_LOOP_MIN_COUNT ones a boot creates.
bool remove_added_devices(std::string* why) {
  constexpr uint64_t kPrecreated = 8;
  int ctl = open(host::kLoopControlPath, O_RDWR | O_CLOEXEC);
  if (ctl < 0) {
    *why = errno_text("open /dev/loop-control");
    return false;
  }
  for (uint64_t index : existing_loop_devices()) {
    if (index >= kPrecreated) ioctl(ctl, LOOP_CTL_REMOVE, index);
  }
  close(ctl);
  return true;
}

bool unload_loop_module(std::string* why) {
  if (loop_builtin()) return remove_added_devices(why);
  for (int waited = 0; waited <= kTeardownWaitMs; waited += 20) {
    if (syscall(SYS_delete_module, "loop", O_NONBLOCK) == 0) return true;
    if (errno != EBUSY && errno != EAGAIN && errno != EWOULDBLOCK) break;
    sleep_ms(20);
  }
  *why = errno_text("delete_module(loop)");
  return false;
}

// --- the sandbox --------------------------------------------------------------------

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path);
}

bool remove_sandbox(const std::string& dir, std::string* why) {
  if (access(dir.c_str(), F_OK) != 0) return true;
  if (nftw(dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    *why = errno_text("removing the sandbox directory");
    return false;
  }
  return true;
}

bool write_fill(int fd, uint64_t size, uint8_t fill) {
  std::vector<uint8_t> block(64 * 1024, fill);
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), size - done));
    ssize_t w = pwrite(fd, block.data(), n, static_cast<off_t>(done));
    if (w <= 0) return false;
    done += static_cast<uint64_t>(w);
  }
  return true;
}

bool create_objects(const std::string& dir, const StartRequest& request, std::string* why) {
  if (!remove_sandbox(dir, why)) return false;
  if (mkdir(dir.c_str(), 0755) != 0) {
    *why = errno_text("mkdir " + dir);
    return false;
  }
  for (const ObjectDecl& o : request.objects) {
    std::string path = dir + "/" + o.name;
    if (o.kind == ObjectDecl::Kind::Dir) {
      if (mkdir(path.c_str(), 0755) != 0) {
        *why = errno_text("mkdir " + path);
        return false;
      }
      continue;
    }
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && ftruncate(fd, static_cast<off_t>(o.size)) == 0 &&
              (o.fill == 0 || write_fill(fd, o.size, o.fill)) &&
              write_partition_table(fd, o.mbr) == 0 && fsync(fd) == 0;
    if (!ok) *why = errno_text("creating " + path);
    if (fd >= 0) close(fd);
    if (!ok) return false;
  }
  return true;
}

// --- fds --------------------------------------------------------------------------

// Closes every fd but stdio and the channel: whatever the trace left open.
void close_trace_fds(int channel) {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  int own = dirfd(dir);
  while (dirent* e = readdir(dir)) {
    int fd = -1;
    if (std::sscanf(e->d_name, "%d", &fd) == 1 && fd > 2 && fd != channel && fd != own)
      fds.push_back(fd);
  }
  closedir(dir);
  for (int fd : fds) close(fd);
}

// --- the channel ----------------------------------------------------------------------

// The channel to the host: the virtio-serial port when the kernel command line
// says loopcheck_channel=virtio (the host then gave the guest that port and no
// second serial line), else ttyS1.
int open_channel() {
  std::string why;
  const int virtio = open_virtio_channel(kDeviceWaitMs, &why);
  if (virtio >= 0) {
    say("channel", "virtio-serial port");
    return virtio;
  }
  if (!why.empty()) power_off(why);
  int fd = open(kChannelDevice, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) power_off(errno_text(std::string("open ") + kChannelDevice));
  termios tio{};
  if (tcgetattr(fd, &tio) != 0) power_off(errno_text("tcgetattr on the channel"));
  cfmakeraw(&tio);  // binary frames: no echo, no newline translation, no flow control
  cfsetispeed(&tio, B115200);
  cfsetospeed(&tio, B115200);
  if (tcsetattr(fd, TCSANOW, &tio) != 0) power_off(errno_text("tcsetattr on the channel"));
  return fd;
}

void send(int channel, const std::vector<uint8_t>& frame) {
  size_t done = 0;
  while (done < frame.size()) {
    ssize_t n = write(channel, frame.data() + done, frame.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) power_off(errno_text("writing to the channel"));
    done += static_cast<size_t>(n);
  }
}

// --stdio: SIGTERM, SIGINT and SIGHUP arrive here instead of killing the agent,
// so that it gives back its devices before it goes (-1 in a guest).
int g_signal_fd = -1;

// Between frames only: a step in flight finishes first.
void exit_on_signal(int channel) {
  if (g_signal_fd < 0) return;
  pollfd p[2] = {{channel, POLLIN, 0}, {g_signal_fd, POLLIN, 0}};
  while (poll(p, 2, -1) < 0 && errno == EINTR) {
  }
  signalfd_siginfo info{};
  if ((p[1].revents & POLLIN) && read(g_signal_fd, &info, sizeof info) == sizeof info)
    power_off("terminated by signal " + std::to_string(info.ssi_signo));
}

Frame receive(int channel, FrameReader& reader) {
  for (;;) {
    if (std::optional<Frame> frame = reader.next()) return *frame;
    if (reader.broken()) power_off("corrupt frame from the host");
    exit_on_signal(channel);
    uint8_t buffer[4096];
    ssize_t n = read(channel, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) power_off(errno_text("reading from the channel"));
    reader.feed({buffer, static_cast<size_t>(n)});
  }
}

// --- serving ----------------------------------------------------------------------------

struct Session {
  // Where the trace's files go, and device nodes the agent may make.
  std::string sandbox_dir = kSandboxDir;
  std::string node_dir = kNodeDir;
  // --stdio: what the agent may touch on a shared machine; null in a guest.
  std::unique_ptr<ProcessClaims> claims;
  int channel_in = -1, channel_out = -1;
  std::unique_ptr<host::SyscallExecutor> executor;
  // One more per concurrent block thread: an executor's read buffer is its own.
  std::array<std::unique_ptr<host::SyscallExecutor>, kMaxThreads> thread_executors;
  bool cap_sys_admin = true;
  // The objects the sandbox holds after a program's quick reset: the next
  // program with the same objects only has their contents rewritten.
  std::vector<ObjectDecl> sandbox;
  // A precreated device's sysfs attributes as module init left them.
  std::vector<std::string> pristine_device;
};

// Puts each file back to its declared size and fill without recreating it:
// creating files costs ext4 journal commits, rewriting 64 KiB does not. The
// files are not fsynced: the page cache is what every later read sees, also
// O_DIRECT (which writes dirty pages back first).
bool rewrite_objects(const std::string& dir, const std::vector<ObjectDecl>& objects,
                     std::string* why) {
  for (const ObjectDecl& o : objects) {
    if (o.kind == ObjectDecl::Kind::Dir) continue;
    std::string path = dir + "/" + o.name;
    int fd = open(path.c_str(), O_RDWR | O_TRUNC | O_CLOEXEC);
    bool ok = fd >= 0 && ftruncate(fd, static_cast<off_t>(o.size)) == 0 &&
              (o.fill == 0 || write_fill(fd, o.size, o.fill)) &&
              write_partition_table(fd, o.mbr) == 0;
    if (!ok) *why = errno_text("rewriting " + path);
    if (fd >= 0) close(fd);
    if (!ok) return false;
  }
  return true;
}

// The trace's cgroup: a guest moves itself below the root; a process on a
// shared machine must not move itself around the host's cgroups.
bool enter_cgroup(const Session& session, bool wanted, std::string* why) {
  if (session.claims) {
    if (wanted) *why = "@env cgroup traces run only in a guest agent (vm:), not under --stdio";
    return !wanted;
  }
  leave_trace_cgroup();  // a program before this one may have entered it
  return !wanted || enter_trace_cgroup(why);
}

Reply start(Session& session, const StartRequest& request, bool quick = false) {
  Reply reply;
  const bool reuse = quick && session.executor && session.sandbox == request.objects;
  session.sandbox.clear();
  if (session.claims) {
    if (const int err = session.claims->begin(); err != 0) {
      reply.ok = false;
      reply.message = std::string("locking the machine's loop-control lock: ") + std::strerror(err);
      return reply;
    }
  }
  if (!enter_cgroup(session, request.cgroup, &reply.message)) {
    reply.ok = false;
    return reply;
  }
  if (reuse) {
    reply.ok = rewrite_objects(session.sandbox_dir, request.objects, &reply.message);
    session.cap_sys_admin = request.cap_sys_admin;
    (void)session.executor->read_uevents();  // the quick reset's are not the trace's
    return reply;
  }
  if (!create_objects(session.sandbox_dir, request, &reply.message)) {
    reply.ok = false;
    return reply;
  }
  host::SyscallExecutorConfig config;
  config.object_dir = session.sandbox_dir;
  for (const ObjectDecl& o : request.objects) config.object_names.push_back(o.name);
  mkdir(session.node_dir.c_str(), 0700);  // EEXIST from an earlier program is fine
  config.node_dir = session.node_dir;
  // A guest's open of a missing device autoloads it as the model predicts; a
  // process never creates a device as a side effect (as the host target).
  config.missing_device =
      session.claims ? host::MissingDevice::Fail : host::MissingDevice::Autoload;
  for (auto& e : session.thread_executors) e = std::make_unique<host::SyscallExecutor>(config);
  // The guest's devices are all the trace's (a process's are not: process_claims.h).
  config.listen_uevents = !session.claims;
  session.executor = std::make_unique<host::SyscallExecutor>(std::move(config));
  session.cap_sys_admin = request.cap_sys_admin;
  return reply;
}

// `thread` 0: the sequential executor; k >= 1: concurrent block thread k's.
Outcome execute(Session& session, const Op& op, size_t thread = 0) {
  host::SyscallExecutor* executor =
      thread == 0 ? session.executor.get() : session.thread_executors[thread - 1].get();
  if (!executor) return Outcome::skipped();  // Exec without Start: a host bug, never a pass
  if (session.claims && !session.claims->allows(op)) return Outcome::skipped();
  // The agent is root with every capability; a trace written for an unprivileged
  // caller runs each step with CAP_SYS_ADMIN out of the effective set (per thread:
  // capabilities are a thread's own).
  host::EffectiveCapabilityDrop drop(CAP_SYS_ADMIN, !session.cap_sys_admin);
  if (!drop.ok()) return Outcome::skipped();
  Outcome outcome = executor->execute(op);
  if (session.claims) session.claims->note(op, outcome);
  return outcome;
}

// A process gives back what it claimed and removes its files; nothing else on
// the machine is its to reset.
Reply process_reset(Session& session, bool keep_files) {
  Reply reply;
  reply.ok = session.claims->release(&reply.message) &&
             (keep_files || remove_sandbox(session.sandbox_dir, &reply.message));
  return reply;
}

Reply reset(Session& session) {
  Reply reply;
  session.executor.reset();
  for (auto& e : session.thread_executors) e.reset();
  session.sandbox.clear();
  if (session.claims) return process_reset(session, /*keep_files=*/false);
  close_trace_fds(session.channel_in);
  leave_trace_cgroup();
  std::string why;
  reply.ok = detach_all(&why) && unload_loop_module(&why) &&
             remove_sandbox(session.sandbox_dir, &why) && load_loop_module(&why);
  reply.message = why;
  return reply;
}

// The quick reset after a program: its fds closed, its devices detached, the
// devices it added removed and the precreated ones it used made anew; then the
// guest must be clean, or the host reboots it and reports the leak.
Reply quick_reset(Session& session, const std::set<uint64_t>& touched) {
  session.sandbox.clear();
  if (session.claims) return process_reset(session, /*keep_files=*/true);
  Reply reply;
  close_trace_fds(session.channel_in);
  std::string why;
  reply.ok = detach_all(&why) && restore_devices(touched, session.pristine_device, &why) &&
             loop_state_clean(touched, session.pristine_device, &why);
  reply.message = why;
  return reply;
}

uint32_t micros_since(const timespec& from) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t us = (now.tv_sec - from.tv_sec) * 1000000 + (now.tv_nsec - from.tv_nsec) / 1000;
  return static_cast<uint32_t>(us);
}

ProgramReply run_program_request(Session& session, const ProgramRequest& request) {
  ProgramReply reply;
  timespec phase{};
  clock_gettime(CLOCK_MONOTONIC, &phase);
  reply.started = start(session, request.start, true);
  reply.start_us = micros_since(phase);
  clock_gettime(CLOCK_MONOTONIC, &phase);
  std::set<uint64_t> touched;
  if (reply.started.ok) {
    auto make_child = [&] {
      return std::make_unique<host::ChildExecutor>(session.executor->config(),
                                                   !session.cap_sys_admin);
    };
    ProgramRun run = run_program(
        request.statements,
        [&](size_t thread, const Op& op) { return execute(session, op, thread); }, make_child);
    reply.outcomes = std::move(run.outcomes);
    reply.intervals = std::move(run.intervals);
    reply.taint_step = run.taint_step;
    reply.taint = run.taint;
    touched = std::move(run.touched);
  }
  reply.run_us = micros_since(phase);
  clock_gettime(CLOCK_MONOTONIC, &phase);
  reply.reset = quick_reset(session, touched);
  reply.reset_us = micros_since(phase);
  if (reply.reset.ok && reply.started.ok) session.sandbox = request.start.objects;
  return reply;
}

// What every agent says of itself, for trace files kept in `dir` (its
// filesystem's name and block size come from the caller).
ReadyInfo ready_info_for(const std::string& dir) {
  ReadyInfo info;
  utsname u{};
  if (uname(&u) == 0) info.kernel_release = u.release;
  const std::string probe = dir + "/.dio-probe";
  int fd = open(probe.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
  info.dio_align = dio_offset_align(probe);
  unlink(probe.c_str());
  return info;
}

ReadyInfo guest_ready_info() {
  ReadyInfo info = ready_info_for(kDiskMount);
  info.backing_fs = "ext4";
  info.bdev_block_size = logical_block_size(kRamDiskDevice);
  return info;
}

// Expedited RCU grace periods: removing a device (del_gendisk) and freezing a
// queue each wait for one, and a normal grace period on the guest's one TCG CPU
// took half of a fuzz program's reset (25 ms -> 13 ms per removed device,
// measured). Loop semantics do not depend on how long a grace period takes.
void expedite_rcu() {
  int fd = open("/sys/kernel/rcu_expedited", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;  // a kernel without the knob is only slower
  if (write(fd, "1", 1) != 1) say("cannot expedite RCU", std::strerror(errno));
  close(fd);
}

// One frame from the runner, answered. A frame that does not decode, or one an
// agent never receives, ends serving without an answer (docs/agent-protocol.md,
// "Errors"): guessing would desynchronise the stream.
void answer(Session& session, const Frame& frame) {
  const int out = session.channel_out;
  switch (frame.type) {
    case FrameType::Start: {
      std::optional<StartRequest> request = decode_start(frame.payload);
      if (!request) power_off("malformed Start frame");
      send(out, encode_reply(FrameType::Started, start(session, *request)));
      break;
    }
    case FrameType::Exec: {
      std::optional<Op> op = decode_op(frame.payload);
      if (!op) power_off("malformed Exec frame");
      send(out, encode_outcome(execute(session, *op)));
      break;
    }
    case FrameType::Reset:
      if (!frame.payload.empty()) power_off("malformed Reset frame");
      send(out, encode_reply(FrameType::ResetDone, reset(session)));
      break;
    case FrameType::RunProgram: {
      std::optional<ProgramRequest> request = decode_program(frame.payload);
      if (!request) power_off("malformed RunProgram frame");
      send(out, encode_program_reply(run_program_request(session, *request)));
      break;
    }
    case FrameType::Shutdown:
      power_off("shutdown requested", 0);
    default:
      power_off("unexpected frame type " + std::to_string(static_cast<int>(frame.type)));
  }
}

[[noreturn]] void serve(Session& session, const ReadyInfo& ready) {
  send(session.channel_out, encode_ready(ready));
  say("ready");
  FrameReader reader;
  for (;;) answer(session, receive(session.channel_in, reader));
}

[[noreturn]] void serve_guest() {
  mount_or_die("proc", "/proc", "proc");
  mount_or_die("sysfs", "/sys", "sysfs");
  mount_or_die("devtmpfs", "/dev", "devtmpfs");
  std::string why;
  if (!prepare_ram_disk(kDeviceWaitMs, &why)) power_off(why);
  mount_or_die(kRamDiskDevice, kDiskMount, "ext4");
  expedite_rcu();
  if (!load_loop_module(&why)) power_off(why);
  Session session;
  session.channel_in = session.channel_out = open_channel();
  session.pristine_device = device_attributes(0);
  serve(session, guest_ready_info());
}

// --- as a process (--stdio) ------------------------------------------------------

constexpr const char* kUsage =
    "usage: loopcheck-agent                      (as /init in a loopcheck guest)\n"
    "       loopcheck-agent --stdio --workdir DIR [--state-dir DIR]\n"
    "  --stdio          serve docs/agent-protocol.md on stdin/stdout, log on stderr\n"
    "  --workdir DIR    an existing directory for the trace's files (on the disk whose\n"
    "                   dio alignment and block size the traces' @env must name)\n"
    "  --state-dir DIR  where loopcheck runs on this machine lock loop devices\n"
    "                   (default /run/loopcheck, as the host target)\n";

struct ProcessArgs {
  std::string work_dir;
  std::string state_dir = host::kDefaultStateDir;
};

// False (after saying why and how) on arguments it cannot use.
bool parse_process_args(int argc, char** argv, ProcessArgs* args) {
  bool stdio = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--stdio") {
      stdio = true;
    } else if (a == "--workdir" && has_value) {
      args->work_dir = argv[++i];
    } else if (a == "--state-dir" && has_value) {
      args->state_dir = argv[++i];
    } else {
      std::fprintf(stderr, "loopcheck-agent: unknown or incomplete argument '%s'\n%s", a.c_str(),
                   kUsage);
      return false;
    }
  }
  struct stat st {};
  if (!stdio || args->work_dir.empty() || stat(args->work_dir.c_str(), &st) != 0 ||
      !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "loopcheck-agent: --stdio and an existing --workdir DIR are needed\n%s",
                 kUsage);
    return false;
  }
  return true;
}

// The filesystem holding `dir`, by name where the magic is one of the usual.
std::string filesystem_name(const std::string& dir) {
  struct statfs fs {};
  if (statfs(dir.c_str(), &fs) != 0) return "unknown";
  switch (static_cast<uint64_t>(fs.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794C7630:
      return "overlayfs";
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(fs.f_type));
  return hex;
}

// The logical block size of the disk holding `dir` (a partition's is its
// disk's); 0 when it is not on a block device.
uint32_t directory_block_size(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return 0;
  const std::string base =
      "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  for (const char* queue : {"/queue/logical_block_size", "/../queue/logical_block_size"}) {
    std::string text;
    if (host::read_small_file(base + queue, &text, 64) == 0)
      return static_cast<uint32_t>(std::strtoul(text.c_str(), nullptr, 10));
  }
  return 0;
}

ReadyInfo process_ready_info(const std::string& dir) {
  ReadyInfo info = ready_info_for(dir);
  info.backing_fs = filesystem_name(dir);
  info.bdev_block_size = directory_block_size(dir);
  return info;
}

// The channel moves off fds 0 and 1 (which then read /dev/null): a trace's
// `close 1` or a pwrite to fd 0 must meet neither the channel nor a skip that
// depends on how the agent was started.
void take_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) == 0) g_signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
}

void take_stdio_channel(Session& session) {
  session.channel_in = fcntl(0, F_DUPFD_CLOEXEC, 3);
  session.channel_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (session.channel_in < 0 || session.channel_out < 0 || null < 0)
    power_off(errno_text("setting up the channel on stdin/stdout"));
  dup2(null, 0);
  dup2(null, 1);
  close(null);
}

int serve_process(int argc, char** argv) {
  ProcessArgs args;
  if (!parse_process_args(argc, argv, &args)) return 2;
  g_process_mode = true;
  take_termination_signals();  // before any thread: block threads inherit the mask
  Session session;
  take_stdio_channel(session);
  // One sandbox per agent, so that several agents may share a work directory.
  session.sandbox_dir = args.work_dir + "/loopcheck-agent-" + std::to_string(getpid());
  session.node_dir = session.sandbox_dir + "/.nodes";  // no object name starts with '.'
  session.claims = std::make_unique<ProcessClaims>(session.sandbox_dir, args.state_dir);
  static Session* served = &session;
  g_release_claims = [] {
    const Reply r = reset(*served);
    if (!r.ok) say("could not put everything back", r.message);
  };
  serve(session, process_ready_info(args.work_dir));
}

}  // namespace
}  // namespace loopcheck::vm::agent

int main(int argc, char** argv) {
  using namespace loopcheck::vm::agent;
  if (argc == 1) serve_guest();
  return serve_process(argc, argv);
}
