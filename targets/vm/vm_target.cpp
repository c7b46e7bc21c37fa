#include "targets/vm/vm_target.h"

#include <fmt/format.h>

#include <cerrno>

#include "targets/vm/protocol.h"

namespace loopcheck::vm {

VmTarget::VmTarget(KernelFiles kernel, VmTargetOptions options)
    : kernel_(std::move(kernel)), options_(std::move(options)), name_("vm:" + kernel_.version) {}

VmTarget::~VmTarget() {
  if (vm_) vm_->shutdown();
  // The cost of a VM run, on stderr so that stdout stays deterministic.
  if (stats_.traces > 0) {
    fmt::print(
        stderr,
        "{}: {} boot(s), boot-to-ready {:.2f} s on average; {} trace(s) in {:.2f} s ({:.2f} "
        "traces/s)\n",
        name_, stats_.boots,
        stats_.boots ? stats_.boot_seconds / static_cast<double>(stats_.boots) : 0.0, stats_.traces,
        stats_.trace_seconds,
        stats_.trace_seconds > 0 ? static_cast<double>(stats_.traces) / stats_.trace_seconds : 0.0);
  }
}

bool VmTarget::boot(std::string* why) {
  if (vm_ && vm_->alive()) return true;
  // A kernel that failed to come up twice in a row will not on the next trace
  // either: say why at once instead of spending a boot timeout per trace.
  if (consecutive_boot_failures_ >= kMaxBootAttempts) {
    *why = last_boot_error_ + " (not retried)";
    return false;
  }
  vm_ = Vm::boot(kernel_, options_.vm, why);
  if (!vm_) {
    ++consecutive_boot_failures_;
    last_boot_error_ = *why;
    return false;
  }
  consecutive_boot_failures_ = 0;
  ++stats_.boots;
  stats_.boot_seconds += vm_->boot_seconds();
  collect_reports(0);  // a kernel that warns while booting is worth knowing about
  return true;
}

TargetError VmTarget::start(const Trace& trace, std::string_view /*profile*/, const Env& env) {
  trace_source_ = trace.source;
  step_ = 0;
  trace_lost_vm_ = false;
  trace_reports_begin_ = guest_reports_.size();
  trace_started_ = std::chrono::steady_clock::now();
  TargetError error;
  error.failed = true;
  std::string why;
  if (!boot(&why)) {
    error.message = fmt::format("{}: {}", name_, why);
    return error;
  }
  trace_started_ = std::chrono::steady_clock::now();  // traces/s counts serving time, not boots
  // The model is told the trace's @env; the guest must be that world, or the
  // comparison would be between two different machines.
  const ReadyInfo& ready = vm_->ready();
  std::vector<std::string> mismatches;
  if (env.dio_align != ready.dio_align) {
    mismatches.push_back(fmt::format("dio_align={} (the guest's {} has {})", env.dio_align,
                                     ready.backing_fs, ready.dio_align));
  }
  if (env.bdev_block_size != ready.bdev_block_size) {
    mismatches.push_back(fmt::format("bdev_block_size={} (the guest's disk has {})",
                                     env.bdev_block_size, ready.bdev_block_size));
  }
  if (env.precreated != 8)
    mismatches.push_back(fmt::format("precreated={} (loop.ko creates 8)", env.precreated));
  if (env.max_part != 0)
    mismatches.push_back(fmt::format("max_part={} (loop.ko is loaded with 0)", env.max_part));
  if (!env.thp) mismatches.push_back("thp=0 (Debian kernels have CONFIG_TRANSPARENT_HUGEPAGE)");
  if (!mismatches.empty()) {
    std::string list;
    for (const std::string& m : mismatches) list += (list.empty() ? "" : ", ") + m;
    error.message = fmt::format(
        "{}: the trace's @env {} does not describe this guest; run it on another target", name_,
        list);
    return error;
  }
  StartRequest request;
  request.cap_sys_admin = env.cap_sys_admin;
  request.objects = trace.objects;
  std::optional<Frame> reply =
      vm_->call(encode_start(request), FrameType::Started, options_.reset_timeout_ms, &why);
  std::optional<Reply> started = reply ? decode_reply(reply->payload) : std::nullopt;
  if (!started) {
    lose_vm(reply ? "protocol error" : "guest died", why);
    error.message = fmt::format("{}: the guest could not set up the trace: {}", name_, why);
    return error;
  }
  if (!started->ok) {
    error.message = fmt::format("{}: the guest could not create the trace's files: {}", name_,
                                started->message);
    return error;
  }
  error.failed = false;
  return error;
}

Outcome VmTarget::execute(const Op& op) {
  ++step_;
  if (trace_lost_vm_ || !vm_ || !vm_->alive()) return Outcome::skipped();
  std::string why;
  std::optional<Frame> reply =
      vm_->call(encode_op(op), FrameType::Result, options_.step_timeout_ms, &why);
  std::optional<Outcome> outcome = reply ? decode_outcome(reply->payload) : std::nullopt;
  if (!outcome) {
    bool hang = why.find("(hang)") != std::string::npos;
    lose_vm(hang ? "hang" : "guest died", why);
    return Outcome::error(EHOSTDOWN);
  }
  collect_reports(step_);
  return *outcome;
}

void VmTarget::finish() {
  if (vm_ && vm_->alive() && !trace_lost_vm_) {
    std::string why;
    std::optional<Frame> reply = vm_->call(encode_empty(FrameType::Reset), FrameType::ResetDone,
                                           options_.reset_timeout_ms, &why);
    std::optional<Reply> done = reply ? decode_reply(reply->payload) : std::nullopt;
    collect_reports(step_);
    if (!done || !done->ok) {
      // A guest that cannot be put back is not reused: the next trace boots anew.
      lose_vm("reset failed", done ? done->message : why);
    }
  }
  ++stats_.traces;
  stats_.trace_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - trace_started_).count();
}

std::string VmTarget::summary() const {
  std::string text = fmt::format("{} (booted {} time(s))", name_, stats_.boots);
  for (size_t i = trace_reports_begin_; i < guest_reports_.size(); ++i) {
    const GuestReport& r = guest_reports_[i];
    text +=
        fmt::format("\n  GUEST REPORT at step {}: {}\n{}", r.step, r.report.kind, r.report.excerpt);
  }
  return text;
}

std::vector<GuestReport> VmTarget::guest_reports_of_last_trace() const {
  return {guest_reports_.begin() + static_cast<std::ptrdiff_t>(trace_reports_begin_),
          guest_reports_.end()};
}

void VmTarget::collect_reports(size_t step) {
  if (!vm_) return;
  for (KernelReport& r : vm_->new_kernel_reports()) {
    guest_reports_.push_back({kernel_.version, trace_source_, step, std::move(r)});
  }
}

void VmTarget::lose_vm(const std::string& kind, const std::string& why) {
  collect_reports(step_);
  guest_reports_.push_back({kernel_.version, trace_source_, step_, {kind, why}});
  trace_lost_vm_ = true;
  if (vm_) vm_.reset();  // kills and reaps QEMU
}

}  // namespace loopcheck::vm
