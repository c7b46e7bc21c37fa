#include "targets/vm/qemu_vm.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "targets/vm/disk_blocks.h"
#include "targets/vm/initramfs.h"
#include "targets/fork_guard.h"
#include "targets/subprocess.h"

namespace loopcheck::vm {
namespace fs = std::filesystem;
namespace {

constexpr const char* kQemu = kQemuProgram;
constexpr int kPollSliceMs = 50;        // how often a wait checks that QEMU still lives
constexpr int kShutdownGraceMs = 3000;  // poweroff under TCG
constexpr size_t kExcerptLines = 40;
// After a report that may stop the guest (an oops kills the task that hit it, a
// hung task never returns), how long the agent still has to answer: a step that
// only printed a BUG it survives answers in milliseconds.
constexpr int kFatalReportGraceMs = 2000;

// Console markers of a kernel report, most severe first.
constexpr std::array<std::string_view, 12> kReportMarkers = {
    "Kernel panic", "Oops:",         "general protection fault",
    "BUG: KASAN",   "BUG: KFENCE",   "KFENCE:",
    "UBSAN:",       "BUG:",          "WARNING:",
    "INFO: task",   "watchdog: BUG", "Call Trace:",
};

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string find_mkfs() {
  for (const char* candidate : {"/sbin/mkfs.ext4", "/usr/sbin/mkfs.ext4"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return program_in_path("mkfs.ext4") ? "mkfs.ext4" : "";
}

// The guest's backing filesystem: ext4 with 4 KiB blocks (what a user's root
// filesystem has) made here, carried in the initramfs as its non-zero blocks
// (disk_blocks.h) and written by the agent onto a RAM disk (brd, 512-byte
// sectors), so the model's default @env dio_align=512 bdev_block_size=512 are the
// truth. A RAM disk rather than an emulated one: QEMU cannot migrate an NVMe
// device, so only a guest without one can be snapshotted.
bool make_disk_blocks(const std::string& work_dir, int size_mb, std::string* blocks,
                      std::string* why) {
  std::string mkfs = find_mkfs();
  if (mkfs.empty()) {
    *why = "mkfs.ext4 is not installed: apt-get install e2fsprogs (scripts/install-deps.sh)";
    return false;
  }
  const std::string path = work_dir + "/disk.img";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool sized = fd >= 0 && ftruncate(fd, off_t{size_mb} << 20) == 0;
  if (fd >= 0) close(fd);
  if (!sized) {
    *why =
        fmt::format("cannot create the guest disk {}: {} (disk full?)", path, std::strerror(errno));
    return false;
  }
  ProcessResult r = run_process({mkfs, "-q", "-F", "-b", "4096", "-E", "nodiscard", path});
  if (!r.started || r.exit_code != 0) {
    *why = fmt::format("mkfs.ext4 {} failed: {}", path, r.output);
    return false;
  }
  const bool encoded = encode_disk_image_file(path, kDiskBlockBytes, blocks, why);
  unlink(path.c_str());
  return encoded;
}

std::string excerpt_from(std::string_view log, size_t pos) {
  size_t line_start = log.rfind('\n', pos);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  size_t end = line_start;
  for (size_t lines = 0; lines < kExcerptLines && end < log.size(); ++lines) {
    size_t nl = log.find('\n', end);
    end = nl == std::string_view::npos ? log.size() : nl + 1;
  }
  return std::string(log.substr(line_start, end - line_start));
}

}  // namespace

std::string guest_kernel_command_line(const VmOptions& options, bool virtio_channel) {
  return fmt::format(
      "console=ttyS0 panic=-1 loglevel=5 mitigations=off no_timer_check tsc=reliable "
      "sysctl.kernel.hung_task_timeout_secs=10 brd.rd_nr=1 brd.rd_size={}{}",
      options.disk_mb * 1024, virtio_channel ? " loopcheck_channel=virtio" : "");
}

std::vector<std::string> guest_machine_args(const VmOptions& options, bool virtio_channel) {
  std::vector<std::string> args = {
      "-nodefaults", "-no-user-config",
      "-nographic",  "-no-reboot",
      "-machine",    options.kvm ? "pc,accel=kvm" : "pc,accel=tcg",
      "-cpu",        options.kvm ? "host" : "max",
      "-smp",        std::to_string(options.cpus),
      "-m",          std::to_string(options.memory_mb),
      "-append",     guest_kernel_command_line(options, virtio_channel)};
  if (virtio_channel) {
    for (const char* a : {"-device", "virtio-serial-pci", "-device",
                          "virtserialport,chardev=channel,name=loopcheck"})
      args.emplace_back(a);
  }
  return args;
}

bool qemu_available(std::string* why) {
  if (program_in_path(kQemu)) return true;
  *why = fmt::format(
      "{} is not installed: apt-get install qemu-system-x86 (scripts/install-deps.sh)", kQemu);
  return false;
}

std::unique_ptr<Vm> Vm::boot(const KernelFiles& kernel, const VmOptions& options,
                             std::string* why) {
  if (!qemu_available(why)) return nullptr;
  std::string agent = find_agent_binary(why);
  if (agent.empty()) return nullptr;
  const SnapshotSlot slot =
      options.snapshot ? guest_snapshot_slot(kernel, options, agent) : SnapshotSlot{};
  if (slot.present()) {
    std::unique_ptr<Vm> restored = make_vm(kernel, options, why);
    if (!restored) return nullptr;
    if (restored->restore(kernel, options, slot, why)) return restored;
    // A snapshot this QEMU cannot load (or a guest that does not answer after
    // it): boot instead, and save a fresh one.
    std::fprintf(stderr, "loopcheck: discarding the guest snapshot %s: %s\n", slot.dir.c_str(),
                 why->c_str());
    discard_snapshot(slot);
  }
  std::unique_ptr<Vm> vm = make_vm(kernel, options, why);
  if (!vm || !vm->cold_boot(kernel, options, agent, why)) return nullptr;
  if (!slot.dir.empty() && !vm->save_snapshot(slot, why)) {
    if (!vm->alive()) return nullptr;
    std::fprintf(stderr, "loopcheck: no guest snapshot saved (next boot boots again): %s\n",
                 why->c_str());
  }
  return vm;
}

std::unique_ptr<Vm> Vm::make_vm(const KernelFiles& kernel, const VmOptions& options,
                                std::string* why) {
  std::unique_ptr<Vm> vm(new Vm());
  vm->version_ = kernel.version;
  vm->keep_work_dir_ = options.keep_work_dir;
  std::string tmpl = (fs::temp_directory_path() / "loopcheck-vm-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    *why = fmt::format("cannot create a VM work directory in {}: {}",
                       fs::temp_directory_path().string(), std::strerror(errno));
    return nullptr;
  }
  vm->work_dir_ = tmpl;
  vm->started_ = std::chrono::steady_clock::now();
  return vm;
}

bool Vm::cold_boot(const KernelFiles& kernel, const VmOptions& options, const std::string& agent,
                   std::string* why) {
  InitramfsFiles files{agent, kernel.loop_ko, kernel.brd_ko, {}, kernel.channel_modules};
  const std::string initramfs = work_dir_ + "/initramfs.cpio";
  if (!make_disk_blocks(work_dir_, options.disk_mb, &files.disk_blocks, why) ||
      !write_initramfs(initramfs, files, why) ||
      !start_qemu(kernel, options, initramfs, /*incoming_state=*/"", why)) {
    return false;  // the destructor reaps whatever started
  }
  Frame frame;
  if (!wait_for_frame(FrameType::Ready, options.boot_timeout_ms, &frame, why)) {
    *why = fmt::format("kernel {} did not come up: {}", kernel.version, *why);
    return false;
  }
  if (!take_ready(frame.payload, why)) return false;
  boot_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return true;
}

bool Vm::take_ready(const std::vector<uint8_t>& payload, std::string* why) {
  std::optional<ReadyInfo> ready = decode_ready(payload);
  if (!ready || ready->protocol_version != kProtocolVersion) {
    *why =
        "the guest agent speaks another protocol version: rebuild loopcheck and its agent together";
    return false;
  }
  ready_ = *ready;
  ready_payload_ = payload;
  return true;
}

namespace {

// Forks QEMU with `args`, its output to `qemu_log`, in a process group of its own
// that dies with the calling thread. -1 with `why` when it cannot.
pid_t spawn_qemu(std::vector<std::string>& args, const std::string& qemu_log, std::string* why) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  int shed_pipe[2];
  if (pipe2(shed_pipe, O_CLOEXEC) != 0) {
    *why = fmt::format("pipe: {}", std::strerror(errno));
    return -1;
  }
  SpawnWindow no_step_meanwhile;  // targets/fork_guard.h
  const pid_t pid = fork();
  const int fork_errno = errno;
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);     // dies with the thread that started it
    if (getppid() != parent) _exit(127);  // that thread is already gone
    int log = open(qemu_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int devnull = open("/dev/null", O_RDONLY);
    if (log < 0 || devnull < 0) _exit(127);
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    child_shed_inherited_fds(shed_pipe[1]);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(shed_pipe[1]);
  if (pid > 0) wait_until_child_shed_fds(shed_pipe[0]);
  close(shed_pipe[0]);
  if (pid < 0) *why = fmt::format("fork: {}", std::strerror(fork_errno));
  return pid;
}

}  // namespace

bool Vm::start_qemu(const KernelFiles& kernel, const VmOptions& options,
                    const std::string& initramfs, const std::string& incoming_state,
                    std::string* why) {
  std::string socket_path = work_dir_ + "/channel.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    *why =
        fmt::format("VM socket path too long: {} (set TMPDIR to a shorter directory)", socket_path);
    return false;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 1) != 0) {
    *why = fmt::format("cannot listen on {}: {}", socket_path, std::strerror(errno));
    return false;
  }
  std::vector<std::string> args = {kQemu};
  const bool virtio_channel = kernel.virtio_channel;
  for (std::string& a : guest_machine_args(options, virtio_channel)) args.push_back(std::move(a));
  for (std::string a : {std::string("-kernel"), kernel.vmlinuz, std::string("-initrd"), initramfs,
                        std::string("-serial"), "file:" + console_log_path(),
                        std::string("-chardev"), "socket,id=channel,path=" + socket_path,
                        std::string("-qmp"), "unix:" + qmp_socket_path() + ",server=on,wait=off"})
    args.push_back(std::move(a));
  if (!virtio_channel) {
    args.push_back("-serial");  // ttyS1
    args.push_back("chardev:channel");
  }
  if (!incoming_state.empty()) {
    args.push_back("-incoming");
    args.push_back("exec:cat " + shell_quoted(incoming_state));
  }
  std::string qemu_log = work_dir_ + "/qemu.log";
  const pid_t pid = spawn_qemu(args, qemu_log, why);
  if (pid < 0) return false;
  setpgid(pid, pid);  // also from here, so the group exists before any kill
  pid_ = pid;
  // QEMU connects to the channel as soon as it has parsed its options.
  for (int waited = 0; channel_fd_ < 0; waited += kPollSliceMs) {
    if (reap_if_exited()) {
      *why = fmt::format("QEMU exited at start: {}", read_whole(qemu_log));
      return false;
    }
    if (waited > 30000) {
      *why = "QEMU did not connect to the channel within 30 s";
      return false;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kPollSliceMs) > 0)
      channel_fd_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  }
  return true;
}

bool Vm::reap_if_exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = status;
    kill(-pid_, SIGKILL);  // anything QEMU left in its group
    pid_ = -1;
    dead_ = true;
    return true;
  }
  return false;
}

void Vm::kill_and_reap() {
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  dead_ = true;
}

// Reads what the agent sent within `slice_ms` into the frame reader.
void Vm::pump_channel(int slice_ms) {
  pollfd p{channel_fd_, POLLIN, 0};
  if (poll(&p, 1, slice_ms) <= 0) return;
  uint8_t buffer[4096];
  ssize_t n = read(channel_fd_, buffer, sizeof buffer);
  if (n > 0) {
    reader_.feed({buffer, static_cast<size_t>(n)});
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    // QEMU closed the channel: it is exiting; the next round reaps it.
    if (!reap_if_exited()) {
      pollfd none{-1, 0, 0};
      poll(&none, 0, kPollSliceMs);
    }
  }
}

// The first report on the console since the last look after which the guest may
// never answer. Reads only what the log gained (whole lines); the reports stay
// for new_kernel_reports(), which scans with its own cursor and takes excerpts.
std::optional<std::string> Vm::watch_console_for_fatal_report() {
  struct stat st {};
  if (stat(console_log_path().c_str(), &st) != 0 ||
      static_cast<size_t>(st.st_size) <= console_watched_)
    return std::nullopt;
  std::ifstream in(console_log_path(), std::ios::binary);
  in.seekg(static_cast<std::streamoff>(console_watched_));
  const std::string fresh((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t consumed = 0;
  const std::vector<KernelReport> reports = scan_kernel_reports(fresh, &consumed);
  console_watched_ += consumed;
  for (const KernelReport& r : reports)
    if (report_stops_the_guest(r.kind)) return r.kind;
  return std::nullopt;
}

bool Vm::wait_for_frame(FrameType type, int timeout_ms, Frame* out, std::string* why) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::optional<std::string> fatal;  // a report after which the agent may never answer
  for (;;) {
    if (std::optional<Frame> frame = reader_.next()) {
      if (frame->type != type) {
        *why = fmt::format("the agent answered {} where {} was due", frame_type_name(frame->type),
                           frame_type_name(type));
        kill_and_reap();
        return false;
      }
      *out = std::move(*frame);
      return true;
    }
    if (reader_.broken()) {
      *why = "corrupt frame from the agent";
      kill_and_reap();
      return false;
    }
    if (dead_ || reap_if_exited()) {
      *why = fmt::format(
          "the guest died (QEMU {}); console:\n{}",
          WIFEXITED(exit_status_) ? fmt::format("exit {}", WEXITSTATUS(exit_status_)) : "killed",
          failure_console());
      return false;
    }
    auto now = Clock::now();
    if (!fatal && (fatal = watch_console_for_fatal_report()))
      deadline = std::min(deadline, now + std::chrono::milliseconds(kFatalReportGraceMs));
    if (now >= deadline) {
      *why = fatal ? fmt::format(
                         "the kernel reported '{}' and the guest did not answer within "
                         "{} ms of it (crash); console:\n{}",
                         *fatal, kFatalReportGraceMs, failure_console())
                   : fmt::format("no answer from the guest within {} ms (hang); console:\n{}",
                                 timeout_ms, failure_console());
      kill_and_reap();
      return false;
    }
    pump_channel(static_cast<int>(std::min<int64_t>(
        kPollSliceMs,
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1)));
  }
}

bool Vm::send_bytes(std::span<const uint8_t> bytes, std::string* why) {
  if (!alive()) {
    *why = "the guest is not running";
    return false;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(channel_fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *why = fmt::format("the channel to the guest broke: {}; console:\n{}", std::strerror(errno),
                         console_tail(25));
      kill_and_reap();
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

ChannelEnd Vm::wait_for_close(int timeout_ms, std::string* why) {
  for (int waited = 0; waited <= timeout_ms; waited += kPollSliceMs) {
    if (reader_.next() || reader_.broken()) {
      *why = "the agent sent a frame instead of powering off";
      kill_and_reap();
      return ChannelEnd::SentFrame;
    }
    if (dead_ || reap_if_exited()) return ChannelEnd::Closed;
    pump_channel(kPollSliceMs);
  }
  *why = fmt::format("the guest still ran {} ms later; console:\n{}", timeout_ms, console_tail(10));
  kill_and_reap();
  return ChannelEnd::Timeout;
}

std::optional<Frame> Vm::call(const std::vector<uint8_t>& frame, FrameType reply, int timeout_ms,
                              std::string* why) {
  if (!send_bytes(frame, why)) return std::nullopt;
  Frame answer;
  if (!wait_for_frame(reply, timeout_ms, &answer, why)) return std::nullopt;
  return answer;
}

std::vector<KernelReport> scan_kernel_reports(std::string_view log, size_t* scanned) {
  std::vector<KernelReport> reports;
  if (log.size() <= *scanned) return reports;
  std::string_view fresh = log.substr(*scanned);
  // Only complete lines: a report still being printed is taken next time.
  size_t complete = fresh.rfind('\n');
  if (complete == std::string_view::npos) return reports;
  fresh = fresh.substr(0, complete + 1);
  size_t cursor = 0;
  while (cursor < fresh.size()) {
    size_t best = std::string_view::npos;
    std::string_view kind;
    for (std::string_view marker : kReportMarkers) {
      size_t at = fresh.find(marker, cursor);
      if (at < best) {
        best = at;
        kind = marker;
      }
    }
    if (best == std::string_view::npos) break;
    std::string excerpt = excerpt_from(log, *scanned + best);
    if (kind.ends_with(':')) kind.remove_suffix(1);
    reports.push_back({std::string(kind), excerpt});
    // One report per excerpt: skip past the lines it already shows.
    cursor = std::min(fresh.size(), best + excerpt.size());
  }
  *scanned += fresh.size();
  return reports;
}

bool report_stops_the_guest(std::string_view kind) {
  // KASAN, KFENCE, UBSAN and WARNING print and let the task go on.
  return kind == "Kernel panic" || kind == "Oops" || kind == "general protection fault" ||
         kind == "BUG" || kind == "INFO: task" || kind == "watchdog: BUG";
}

std::vector<KernelReport> Vm::new_kernel_reports() {
  std::string log = read_whole(console_log_path());
  return scan_kernel_reports(log, &console_scanned_);
}

std::string Vm::failure_console() const {
  const std::string log = read_whole(console_log_path()) + "\n";
  size_t scanned = 0;
  for (const KernelReport& r : scan_kernel_reports(log, &scanned)) {
    if (!report_stops_the_guest(r.kind)) continue;
    const std::string tail = console_tail(10);
    if (r.excerpt.find(tail) != std::string::npos) return r.excerpt;
    return r.excerpt + "[...]\n" + tail;
  }
  std::string tail = console_tail(25);
  return tail.find_first_not_of(" \r\n") == std::string::npos ? "(nothing since the boot)\n" : tail;
}

std::string Vm::console_tail(size_t max_lines) const {
  std::string log = read_whole(console_log_path());
  size_t pos = log.size();
  for (size_t lines = 0; lines <= max_lines && pos > 0; ++lines) {
    size_t nl = log.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
  }
  return log.substr(pos == 0 ? 0 : pos + 1);
}

void Vm::shutdown() {
  if (alive()) {
    std::vector<uint8_t> frame = encode_empty(FrameType::Shutdown);
    (void)!send(channel_fd_, frame.data(), frame.size(), MSG_NOSIGNAL);
    for (int waited = 0; waited < kShutdownGraceMs && !reap_if_exited(); waited += kPollSliceMs) {
      pollfd none{-1, 0, 0};
      poll(&none, 0, kPollSliceMs);
    }
  }
  kill_and_reap();
}

Vm::~Vm() {
  kill_and_reap();
  if (channel_fd_ >= 0) close(channel_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (!work_dir_.empty() && !keep_work_dir_) {
    std::error_code ec;
    fs::remove_all(work_dir_, ec);
  }
}

}  // namespace loopcheck::vm
