#include "targets/vm/agent_target.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "targets/vm/protocol.h"
#include "targets/vm/report_location.h"
#include "trace/bind.h"

namespace loopcheck::vm {

namespace {

// What AgentLink::call's `why` says happened to an agent that did not answer.
const char* loss_kind(const std::string& why) {
  if (why.find("(hang)") != std::string::npos) return "hang";
  if (why.find("(crash)") != std::string::npos) return "crash";
  return "guest died";
}

}  // namespace

AgentTarget::AgentTarget(std::string name, std::string kernel, AgentTargetOptions options)
    : name_(std::move(name)), kernel_(std::move(kernel)), options_(options) {}

AgentTarget::~AgentTarget() {
  if (link_) link_->shutdown();
  // The cost of a run, on stderr so that stdout stays deterministic.
  if (stats_.traces > 0) {
    fmt::print(
        stderr, "{}: {}; {} trace(s) in {:.2f} s ({:.2f} traces/s)\n", name_, boot_summary(),
        stats_.traces, stats_.trace_seconds,
        stats_.trace_seconds > 0 ? static_cast<double>(stats_.traces) / stats_.trace_seconds : 0.0);
  }
  if (stats_.programs > 0) {
    const double n = static_cast<double>(stats_.programs);
    fmt::print(stderr,
               "{}: {} program(s) in one round trip each, {:.1f} ms per round trip (agent: "
               "files {:.1f} ms, statements {:.1f} ms, reset {:.1f} ms)\n",
               name_, stats_.programs, 1000 * stats_.program_round_trip_seconds / n,
               1000 * stats_.guest_start_seconds / n, 1000 * stats_.guest_run_seconds / n,
               1000 * stats_.guest_reset_seconds / n);
  }
}

// "2 boot(s), boot-to-ready 1.61 s on average (1 restored from a snapshot in 0.31 s,
// 1 booted in 2.91 s)".
std::string AgentTarget::boot_summary() const {
  const auto mean = [](double total, size_t n) { return n ? total / static_cast<double>(n) : 0.0; };
  std::string text = fmt::format("{} boot(s), boot-to-ready {:.2f} s on average", stats_.boots,
                                 mean(stats_.boot_seconds, stats_.boots));
  if (stats_.restores == 0) return text;
  text += fmt::format(" ({} restored from a snapshot in {:.2f} s", stats_.restores,
                      mean(stats_.restore_seconds, stats_.restores));
  const size_t booted = stats_.boots - stats_.restores;
  if (booted == 0) return text + ")";
  return text + fmt::format(", {} booted in {:.2f} s)", booted,
                            mean(stats_.boot_seconds - stats_.restore_seconds, booted));
}

bool AgentTarget::boot(std::string* why) {
  if (link_ && link_->alive()) return true;
  // An agent that failed to come up twice in a row will not on the next trace
  // either: say why at once instead of spending a boot timeout per trace.
  if (consecutive_boot_failures_ >= kMaxBootAttempts) {
    *why = last_boot_error_ + " (not retried)";
    return false;
  }
  link_ = connect(want_concurrent_, why);
  if (!link_) {
    ++consecutive_boot_failures_;
    last_boot_error_ = *why;
    return false;
  }
  consecutive_boot_failures_ = 0;
  ++stats_.boots;
  stats_.boot_seconds += link_->boot_seconds();
  if (link_->restored()) {
    ++stats_.restores;
    stats_.restore_seconds += link_->boot_seconds();
  }
  collect_reports(0);  // a kernel that warns while booting is worth knowing about
  return true;
}

// The model is told the trace's @env; the agent must be that world, or the
// comparison would be between two different machines.
std::vector<std::string> backing_env_mismatches(const Env& env, const ReadyInfo& ready,
                                                std::string_view whose) {
  std::vector<std::string> mismatches;
  if (env.dio_align != ready.dio_align) {
    mismatches.push_back(fmt::format("dio_align={} (the {} {} has {})", env.dio_align, whose,
                                     ready.backing_fs, ready.dio_align));
  }
  if (env.bdev_block_size != ready.bdev_block_size) {
    mismatches.push_back(fmt::format("bdev_block_size={} (the {} disk has {})", env.bdev_block_size,
                                     whose, ready.bdev_block_size));
  }
  return mismatches;
}

// Only what every agent says of itself: its backing filesystem's alignment and
// block size.
std::vector<std::string> AgentTarget::env_mismatches(const Env& env, const ReadyInfo& ready) const {
  return backing_env_mismatches(env, ready, "agent's");
}

TargetError AgentTarget::start(const Trace& trace, std::string_view /*profile*/, const Env& env) {
  // A plan is for this start() only, whichever way it ends.
  std::vector<PlannedStatement> planned = std::move(planned_);
  planned_.clear();
  planned_ran_ = false;
  started_in_agent_ = false;
  trace_source_ = trace.source;
  step_ = 0;
  trace_lost_link_ = false;
  trace_reports_begin_ = guest_reports_.size();
  trace_started_ = std::chrono::steady_clock::now();
  TargetError error = start_link(trace, env);
  if (error.failed) return error;
  StartRequest request;
  request.cap_sys_admin = env.cap_sys_admin;
  request.cgroup = env.cgroup;
  request.objects = trace.objects;
  if (!planned.empty() && planned.size() <= static_cast<size_t>(kMaxVars)) {
    planned_ = std::move(planned);
    return start_planned(request);
  }
  started_in_agent_ = true;
  std::string why;
  std::optional<Frame> reply =
      link_->call(encode_start(request), FrameType::Started, options_.reset_budget_ms, &why);
  std::optional<Reply> started = reply ? decode_reply(reply->payload) : std::nullopt;
  error.failed = true;
  if (!started) {
    lose_link(reply ? "protocol error" : "guest died", why);
    error.message = fmt::format("{}: the agent could not set up the trace: {}", name_, why);
    return error;
  }
  if (!started->ok) {
    error.message = fmt::format("{}: the agent could not create the trace's files: {}", name_,
                                started->message);
    return error;
  }
  error.failed = false;
  return error;
}

// A link that suits the trace, up and serving a world the trace's @env describes.
TargetError AgentTarget::start_link(const Trace& trace, const Env& env) {
  TargetError error;
  error.failed = true;
  want_concurrent_ = trace.concurrent();
  // A link that does not suit the trace (a guest with one vCPU for a concurrent
  // block) is replaced.
  if (link_ && !link_suits(want_concurrent_)) link_.reset();
  std::string why;
  if (!boot(&why)) {
    error.message = fmt::format("{}: {}", name_, why);
    return error;
  }
  trace_started_ = std::chrono::steady_clock::now();  // traces/s counts serving time, not boots
  incidents_begin_ = guest_reports_.size();  // a kernel that warns while booting is no program's
  const std::vector<std::string> mismatches = env_mismatches(env, link_->ready());
  if (!mismatches.empty()) {
    std::string list;
    for (const std::string& m : mismatches) list += (list.empty() ? "" : ", ") + m;
    error.message = fmt::format(
        "{}: the trace's @env {} does not describe this agent's world; run it on another target",
        name_, list);
    error.environment = true;
    return error;
  }
  error.failed = false;
  return error;
}

void AgentTarget::plan(std::span<const PlannedStatement> statements) {
  planned_.assign(statements.begin(), statements.end());
}

BlockHistory AgentTarget::run_block(std::span<const BlockThread> threads,
                                    std::span<const int64_t> /*vars: the guest bound them*/) {
  BlockHistory h;
  if (!planned_ran_ || trace_lost_link_) {
    h.error = name_ + ": a concurrent block runs only as part of a planned program";
    return h;
  }
  size_t count = 0;
  for (const BlockThread& t : threads) count += t.stmts.size();
  const size_t first = planned_cursor_;
  if (first + count > planned_.size() || planned_[first].thread == 0) {
    lose_link("protocol error", fmt::format("step {} is not the planned block", step_));
    h.error = name_ + ": the block is not where the plan has it";
    return h;
  }
  // Block statements come in Trace::stmts order, as the plan holds them.
  std::vector<uint32_t> stmts;
  for (const BlockThread& t : threads) stmts.insert(stmts.end(), t.stmts.begin(), t.stmts.end());
  std::sort(stmts.begin(), stmts.end());
  for (size_t k = 0; k < count; ++k) {
    const size_t at = first + k;
    const PlannedStatement& s = planned_[at];
    CallRecord c{stmts[k], static_cast<uint8_t>(s.thread - 1u), planned_outcomes_[at],
                 planned_intervals_[at].start_ns, planned_intervals_[at].end_ns};
    if (s.bind >= 0) planned_vars_[static_cast<size_t>(s.bind)] = bound_value(c.outcome);
    h.calls.push_back(c);
  }
  planned_cursor_ = first + count;
  step_ += count;
  return h;
}

// The whole program in one round trip; the outcomes wait for execute(). A guest
// that dies or hangs on the way loses this program (its steps are skipped, the
// incident says why); one that cannot be reset clean is rebooted for the next.
TargetError AgentTarget::start_planned(const StartRequest& request) {
  ProgramRequest program{request, {}};
  for (const PlannedStatement& s : planned_)
    program.statements.push_back({s.op, s.bind, s.thread, s.kind});
  std::string why;
  const auto sent = std::chrono::steady_clock::now();
  const int timeout_ms =
      program_budget_ms(planned_, options_.step_base_ms, options_.reset_budget_ms);
  std::optional<Frame> reply =
      link_->call(encode_program(program), FrameType::ProgramDone, timeout_ms, &why);
  ++stats_.programs;
  stats_.program_round_trip_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  std::optional<ProgramReply> done = reply ? decode_program_reply(reply->payload) : std::nullopt;
  planned_ran_ = true;
  planned_cursor_ = 0;
  planned_vars_.fill(-1);
  planned_skipped_vars_ = 0;
  TargetError error;
  if (!done || done->outcomes.size() != (done->started.ok ? planned_.size() : 0)) {
    lose_link(!reply ? loss_kind(why) : "protocol error",
              reply ? "the agent's ProgramDone does not decode" : why);
    return error;
  }
  if (!done->started.ok) {
    error.failed = true;
    error.message = fmt::format("{}: the agent could not create the trace's files: {}", name_,
                                done->started.message);
    return error;
  }
  planned_outcomes_ = std::move(done->outcomes);
  planned_intervals_ = std::move(done->intervals);
  stats_.guest_start_seconds += done->start_us / 1e6;
  stats_.guest_run_seconds += done->run_us / 1e6;
  stats_.guest_reset_seconds += done->reset_us / 1e6;
  collect_reports(done->taint_step ? done->taint_step : planned_.size());
  if (!done->reset.ok) {
    guest_reports_.push_back(
        {kernel_, trace_source_, planned_.size(), {"leaked state", done->reset.message}});
    link_.reset();  // kills and reaps QEMU or the agent: the next program gets a clean one
  }
  return error;
}

// The next planned outcome. The lockstep never asks for a statement reading a
// variable whose step was skipped: such statements are passed over here too.
Outcome AgentTarget::planned_outcome(const Op& op) {
  auto skips = [&](const PlannedStatement& s) { return op_var_mask(s.op) & planned_skipped_vars_; };
  auto bind = [&](const PlannedStatement& s, const Outcome& o) {
    if (s.bind < 0) return;
    const uint64_t bit = uint64_t{1} << s.bind;
    const bool skipped = o.kind == Outcome::Kind::Skipped;
    planned_vars_[static_cast<size_t>(s.bind)] = bound_value(o);
    planned_skipped_vars_ = skipped ? planned_skipped_vars_ | bit : planned_skipped_vars_ & ~bit;
  };
  while (planned_cursor_ < planned_.size() && skips(planned_[planned_cursor_]))
    bind(planned_[planned_cursor_++], Outcome::skipped());
  if (planned_cursor_ >= planned_.size() ||
      bind_op(planned_[planned_cursor_].op, planned_vars_) != op) {
    // A runner that strays from its plan is a loopcheck bug; never guess an answer.
    lose_link("protocol error", fmt::format("step {} is not the planned statement", step_));
    return Outcome::error(EHOSTDOWN);
  }
  const Outcome& outcome = planned_outcomes_[planned_cursor_];
  bind(planned_[planned_cursor_++], outcome);
  return outcome;
}

std::vector<TargetIncident> AgentTarget::take_incidents() {
  std::vector<TargetIncident> incidents;
  for (size_t i = incidents_begin_; i < guest_reports_.size(); ++i) {
    const GuestReport& r = guest_reports_[i];
    incidents.push_back(
        {r.report.kind, report_location(r.report.excerpt), r.step, r.report.excerpt});
  }
  incidents_begin_ = guest_reports_.size();
  return incidents;
}

Outcome AgentTarget::execute(const Op& op) {
  ++step_;
  if (planned_ran_ && !trace_lost_link_) return planned_outcome(op);
  if (trace_lost_link_ || !link_ || !link_->alive()) return Outcome::skipped();
  std::string why;
  std::optional<Frame> reply = link_->call(encode_op(op), FrameType::Result,
                                           step_budget_ms(op, options_.step_base_ms), &why);
  std::optional<Outcome> outcome = reply ? decode_outcome(reply->payload) : std::nullopt;
  if (!outcome) {
    lose_link(loss_kind(why), why);
    return Outcome::error(EHOSTDOWN);
  }
  collect_reports(step_);
  return *outcome;
}

void AgentTarget::finish() {
  // A planned program was reset by the agent already.
  if (started_in_agent_ && link_ && link_->alive() && !trace_lost_link_) {
    std::string why;
    std::optional<Frame> reply = link_->call(encode_empty(FrameType::Reset), FrameType::ResetDone,
                                             options_.reset_budget_ms, &why);
    std::optional<Reply> done = reply ? decode_reply(reply->payload) : std::nullopt;
    collect_reports(step_);
    if (!done || !done->ok) {
      // A guest that cannot be put back is not reused: the next trace boots anew.
      lose_link("reset failed", done ? done->message : why);
    }
  }
  planned_.clear();
  planned_ran_ = false;
  started_in_agent_ = false;
  ++stats_.traces;
  stats_.trace_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - trace_started_).count();
}

std::string AgentTarget::summary() const {
  std::string text = fmt::format("{} (booted {} time(s))", name_, stats_.boots);
  for (size_t i = trace_reports_begin_; i < guest_reports_.size(); ++i) {
    const GuestReport& r = guest_reports_[i];
    text +=
        fmt::format("\n  GUEST REPORT at step {}: {}\n{}", r.step, r.report.kind, r.report.excerpt);
  }
  return text;
}

std::vector<GuestReport> AgentTarget::guest_reports_of_last_trace() const {
  return {guest_reports_.begin() + static_cast<std::ptrdiff_t>(trace_reports_begin_),
          guest_reports_.end()};
}

void AgentTarget::collect_reports(size_t step) {
  if (!link_) return;
  for (KernelReport& r : link_->new_kernel_reports()) {
    guest_reports_.push_back({kernel_, trace_source_, step, std::move(r)});
  }
}

void AgentTarget::lose_link(const std::string& kind, const std::string& why) {
  collect_reports(step_);
  guest_reports_.push_back({kernel_, trace_source_, step_, {kind, why}});
  trace_lost_link_ = true;
  if (link_) link_.reset();  // kills and reaps QEMU or the agent process
}

}  // namespace loopcheck::vm
