#include "cli/agent_check.h"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>

#include "oracle/report.h"
#include "oracle/runner.h"
#include "targets/registry.h"
#include "targets/vm/agent_target.h"
#include "trace/bind.h"
#include "trace/expect.h"
#include "trace/parse.h"
#include "trace/print.h"
#include "trace/trace_files.h"

namespace loopcheck::agentcheck {
namespace {

using vm::AgentLink;
using vm::ChannelEnd;
using vm::Frame;
using vm::FrameType;

// Generous: under TCG one control ioctl or a reset takes milliseconds to seconds.
constexpr int kCallMs = 30000;

// The operations of the frame-level checks, as traces: every statement's
// expectation is what the doc promises (no expectation: a value >= 0, an fd
// or an index).
constexpr const char* kBindScript = R"(@trace 1
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f                 => 0
ioctl d LOOP_GET_STATUS64             => {offset=0 sizelimit=0 flags=0}
pwrite d 0 4096 pattern=7             => 4096
pread d 0 4096                        => 4096 data=pattern:7
sysfs n size                          => "128"
ioctl d LOOP_SET_FD f                 => EBUSY
ioctl d LOOP_CLR_FD                   => 0
close d                               => 0
close f                               => 0
ioctl ctl LOOP_CTL_REMOVE n           => 0
close ctl                             => 0
)";

// Left bound on purpose: the reset must undo it.
constexpr const char* kLeaveBoundScript = R"(@trace 1
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f                 => 0
)";

constexpr const char* kBlockScript = R"(@trace 2
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
f = open file img rw
concurrent
thread a
  da = open loop n rw
  sysfs n size
thread b
  db = open loop n rw
  sysfs n size
end
allow a=fd,text b=fd,text
)";

// Corpus traces run beside the model: binding, I/O, status, autoclear.
constexpr const char* kOracleTraces[] = {
    "conformance/common/set_fd_basic.trace",
    "conformance/common/configure_basic.trace",
    "conformance/common/io_roundtrip_offset_mapping.trace",
    "conformance/common/autoclear_last_close.trace",
    "conformance/common/ctl_remove_ebusy_bound.trace",
    "conformance/common/set_status64_fields.trace",
};

Trace script(std::string_view text) {
  ParseResult r = parse_trace(text, "agent-check");
  if (!r.ok()) throw std::logic_error("agent-check script: " + r.errors.front().format());
  return r.trace;
}

CheckResult pass(std::string name, std::string detail = {}) {
  return {std::move(name), Verdict::Pass, std::move(detail)};
}
CheckResult fail(std::string name, std::string detail) {
  return {std::move(name), Verdict::Fail, std::move(detail)};
}
CheckResult skip(std::string name, std::string detail) {
  return {std::move(name), Verdict::Skipped, std::move(detail)};
}

// Whether `o` is what statement `st` promises; `why` says what it is instead.
bool accepts(const Trace& t, const Statement& st, const Outcome& o, std::string* why) {
  const bool ok = st.expect.count == 0 ? o.kind == Outcome::Kind::Value && o.value >= 0
                                       : expectation_matches(st.expect, o, {});
  if (!ok) {
    *why = fmt::format("`{}` answered {}", print_statement(t, st), format_outcome(o));
  }
  return ok;
}

vm::StartRequest start_request(const Trace& t) {
  vm::StartRequest request;
  request.objects = t.objects;
  return request;
}

vm::ProgramRequest program_request(const Trace& t) {
  vm::ProgramRequest request{start_request(t), {}};
  for (const Statement& st : t.stmts) request.statements.push_back({st.op, st.bind, st.thread});
  return request;
}

std::string ready_text(const vm::ReadyInfo& r) {
  return fmt::format(
      "protocol version {}, kernel {}, backing filesystem {} (dio_align {}, bdev_block_size {})",
      r.protocol_version, r.kernel_release, r.backing_fs, r.dio_align, r.bdev_block_size);
}

// The frame-level conversation with one agent: a link, brought up anew after a
// check that ends it (malformed frames, Shutdown).
class Checker {
 public:
  Checker(vm::AgentTarget& factory, const Options& options)
      : factory_(factory), options_(options) {}

  CheckResult handshake();
  CheckResult exec_result();
  CheckResult exec_outside_trace();
  CheckResult reset_cleans();
  CheckResult program_done();
  CheckResult concurrent_block();
  // `bytes` sent as they are; the agent must close the channel without a frame.
  CheckResult ends_serving(std::string name, const std::vector<uint8_t>& bytes);
  bool has_loop_control() const { return loop_control_; }
  const std::string& agent() const { return agent_; }

 private:
  AgentLink* link(std::string* why);
  std::optional<vm::Reply> call_reply(const std::vector<uint8_t>& frame, FrameType type,
                                      std::string* why);
  bool start(const Trace& t, std::string* why);
  bool reset(std::string* why);
  // Runs `t` one Exec per statement, binding variables as the lockstep does.
  bool exec_all(const Trace& t, std::array<int64_t, kMaxVars>* vars, std::string* why);
  std::optional<vm::ProgramReply> run_program(const Trace& t, std::string* why);

  vm::AgentTarget& factory_;
  const Options& options_;
  std::unique_ptr<AgentLink> link_;
  bool loop_control_ = true;
  std::string agent_;
};

AgentLink* Checker::link(std::string* why) {
  if (link_ && link_->alive()) return link_.get();
  link_ = factory_.open_link(/*concurrent=*/true, why);
  if (link_ && agent_.empty()) agent_ = ready_text(link_->ready());
  return link_.get();
}

std::optional<vm::Reply> Checker::call_reply(const std::vector<uint8_t>& frame, FrameType type,
                                             std::string* why) {
  AgentLink* l = link(why);
  if (!l) return std::nullopt;
  std::optional<Frame> answer = l->call(frame, type, kCallMs, why);
  if (!answer) return std::nullopt;
  std::optional<vm::Reply> reply = vm::decode_reply(answer->payload);
  if (!reply) *why = fmt::format("the agent's {} does not decode", vm::frame_type_name(type));
  return reply;
}

bool Checker::start(const Trace& t, std::string* why) {
  std::optional<vm::Reply> r =
      call_reply(vm::encode_start(start_request(t)), FrameType::Started, why);
  if (r && !r->ok) *why = "Started ok=0: " + r->message;
  return r && r->ok;
}

bool Checker::reset(std::string* why) {
  std::optional<vm::Reply> r =
      call_reply(vm::encode_empty(FrameType::Reset), FrameType::ResetDone, why);
  if (r && !r->ok) *why = "ResetDone ok=0: " + r->message;
  return r && r->ok;
}

bool Checker::exec_all(const Trace& t, std::array<int64_t, kMaxVars>* vars, std::string* why) {
  vars->fill(-1);
  for (const Statement& st : t.stmts) {
    AgentLink* l = link(why);
    if (!l) return false;
    std::optional<Frame> answer =
        l->call(vm::encode_op(bind_op(st.op, *vars)), FrameType::Result, kCallMs, why);
    std::optional<Outcome> o = answer ? vm::decode_outcome(answer->payload) : std::nullopt;
    if (answer && !o) *why = "the agent's Result does not decode";
    if (!o) return false;
    if (st.op.kind == OpKind::Open && st.op.node == Node::LoopControl &&
        o->kind == Outcome::Kind::Error && o->err == ENOENT)
      loop_control_ = false;
    if (!accepts(t, st, *o, why)) return false;
    if (st.bind >= 0) (*vars)[static_cast<size_t>(st.bind)] = bound_value(*o);
  }
  return true;
}

std::optional<vm::ProgramReply> Checker::run_program(const Trace& t, std::string* why) {
  AgentLink* l = link(why);
  if (!l) return std::nullopt;
  std::optional<Frame> answer =
      l->call(vm::encode_program(program_request(t)), FrameType::ProgramDone, kCallMs, why);
  if (!answer) return std::nullopt;
  std::optional<vm::ProgramReply> done = vm::decode_program_reply(answer->payload);
  if (!done) *why = "the agent's ProgramDone does not decode";
  return done;
}

CheckResult Checker::handshake() {
  std::string why;
  const auto begun = std::chrono::steady_clock::now();
  AgentLink* l = link(&why);
  if (!l) return fail("handshake", why);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  if (l->ready().kernel_release.empty())
    return fail("handshake", "Ready names no kernel release: " + agent_);
  return pass("handshake", fmt::format("Ready after {:.2f} s: {}", s, agent_));
}

// Start/Started, Exec/Result for binding, status, I/O, sysfs and errors, then
// Reset/ResetDone.
CheckResult Checker::exec_result() {
  const Trace t = script(kBindScript);
  std::string why;
  std::array<int64_t, kMaxVars> vars{};
  if (!start(t, &why)) return fail("exec-result", "Start: " + why);
  if (!exec_all(t, &vars, &why)) {
    if (!loop_control_)
      return skip("exec-result", "SKIPPED: the agent has no /dev/loop-control (ENOENT)");
    return fail("exec-result", why);
  }
  if (!reset(&why)) return fail("exec-result", "Reset: " + why);
  return pass("exec-result",
              fmt::format("Started, {} Results as the doc says, ResetDone", t.stmts.size()));
}

// Between a ResetDone and the next Start an Exec has no trace: Skipped.
CheckResult Checker::exec_outside_trace() {
  std::string why;
  const Trace t = script(kBindScript);
  AgentLink* l = link(&why);
  if (!l) return fail("exec-outside-trace", why);
  std::optional<Frame> answer =
      l->call(vm::encode_op(t.stmts.front().op), FrameType::Result, kCallMs, &why);
  std::optional<Outcome> o = answer ? vm::decode_outcome(answer->payload) : std::nullopt;
  if (!o) return fail("exec-outside-trace", answer ? "the Result does not decode" : why);
  if (o->kind != Outcome::Kind::Skipped)
    return fail("exec-outside-trace", "expected Skipped, got " + format_outcome(*o));
  return pass("exec-outside-trace", "Skipped");
}

// A device bound and fds left open before Reset: after it the fd is closed
// (EBADF) and the device the trace created is gone (LOOP_CTL_ADD of its index
// creates it again).
CheckResult Checker::reset_cleans() {
  if (!loop_control_) return skip("reset-cleans", "SKIPPED: the agent has no /dev/loop-control");
  const Trace bound = script(kLeaveBoundScript);
  std::string why;
  std::array<int64_t, kMaxVars> vars{};
  if (!start(bound, &why) || !exec_all(bound, &vars, &why))
    return fail("reset-cleans", "setting up: " + why);
  if (!reset(&why)) return fail("reset-cleans", "Reset: " + why);
  const int64_t index = vars[1], fd = vars[2];  // n, d
  const Trace after = script(fmt::format(R"(@trace 1
close {}                              => EBADF
ctl = open loop-control rw
ioctl ctl LOOP_CTL_ADD {}             => {}
ioctl ctl LOOP_CTL_REMOVE {}          => 0
close ctl                             => 0
)",
                                         fd, index, index, index));
  if (!start(after, &why) || !exec_all(after, &vars, &why))
    return fail("reset-cleans", "after the reset: " + why);
  if (!reset(&why)) return fail("reset-cleans", "second Reset: " + why);
  return pass("reset-cleans",
              fmt::format("fd {} closed, loop{} unbound and removed by the reset", fd, index));
}

// One RunProgram: every outcome, in order, with call intervals, and the quick
// reset's verdict.
CheckResult Checker::program_done() {
  if (!loop_control_) return skip("program-done", "SKIPPED: the agent has no /dev/loop-control");
  const Trace t = script(kBindScript);
  std::string why;
  std::optional<vm::ProgramReply> done = run_program(t, &why);
  if (!done) return fail("program-done", why);
  if (!done->started.ok) return fail("program-done", "started ok=0: " + done->started.message);
  if (done->outcomes.size() != t.stmts.size())
    return fail("program-done", fmt::format("{} outcomes for {} statements", done->outcomes.size(),
                                            t.stmts.size()));
  int64_t last_end = INT64_MIN;
  for (size_t i = 0; i < t.stmts.size(); ++i) {
    if (!accepts(t, t.stmts[i], done->outcomes[i], &why)) return fail("program-done", why);
    const vm::CallInterval& c = done->intervals[i];
    if (c.start_ns < last_end)
      return fail("program-done", fmt::format("statement {} starts before {} ended", i + 1, i));
    last_end = c.end_ns;
  }
  if (!done->reset.ok) return fail("program-done", "reset ok=0: " + done->reset.message);
  return pass("program-done",
              fmt::format("{} outcomes, intervals in order, reset clean; agent: files {} us, "
                          "statements {} us, reset {} us",
                          done->outcomes.size(), done->start_us, done->run_us, done->reset_us));
}

// A block's statements carry their thread; the answer has one outcome and one
// interval per statement, in statement order.
CheckResult Checker::concurrent_block() {
  if (!loop_control_)
    return skip("concurrent-block", "SKIPPED: the agent has no /dev/loop-control");
  const Trace t = script(kBlockScript);
  std::string why;
  std::optional<vm::ProgramReply> done = run_program(t, &why);
  if (!done) return fail("concurrent-block", why);
  if (!done->started.ok || done->outcomes.size() != t.stmts.size() || !done->reset.ok)
    return fail("concurrent-block",
                fmt::format("started ok={}, {} outcomes for {} statements, reset ok={} {}",
                            done->started.ok, done->outcomes.size(), t.stmts.size(), done->reset.ok,
                            done->reset.message));
  for (size_t i = 3; i < t.stmts.size(); ++i) {
    const Outcome& o = done->outcomes[i];
    const bool sysfs = t.stmts[i].op.kind == OpKind::Sysfs;
    const bool ok =
        sysfs ? o.kind == Outcome::Kind::Text : o.kind == Outcome::Kind::Value && o.value >= 0;
    if (!ok)
      return fail(
          "concurrent-block",
          fmt::format("`{}` answered {}", print_statement(t, t.stmts[i]), format_outcome(o)));
    if (done->intervals[i].start_ns > done->intervals[i].end_ns)
      return fail("concurrent-block",
                  fmt::format("statement {}'s interval ends before it starts", i + 1));
  }
  return pass("concurrent-block", "2 threads x 2 statements: outcomes and intervals");
}

CheckResult Checker::ends_serving(std::string name, const std::vector<uint8_t>& bytes) {
  std::string why;
  AgentLink* l = link(&why);
  if (!l) return fail(std::move(name), why);
  if (!l->send_bytes(bytes, &why)) return fail(std::move(name), why);
  const ChannelEnd end = l->wait_for_close(options_.close_timeout_ms, &why);
  link_.reset();
  if (end != ChannelEnd::Closed) return fail(std::move(name), why);
  return pass(std::move(name), "the agent closed the channel without answering");
}

// Corpus traces on a target of their own, beside the model: every step must
// pass or be skipped (an agent on a shared machine skips devices not its own),
// and some must pass.
CheckResult model_traces(const Options& options, std::string name, bool per_step,
                         const std::vector<std::string>& relative, uint32_t repeat) {
  std::vector<std::string> paths;
  for (const std::string& r : relative) paths.push_back(options.corpus_dir + "/" + r);
  LoadedTraces loaded = load_traces(paths);
  if (!loaded.ok()) return fail(std::move(name), loaded.errors.front());
  TargetChoice chosen = make_target(options.target);
  auto* agent = dynamic_cast<vm::AgentTarget*>(chosen.target.get());
  if (!agent) return fail(std::move(name), chosen.error);
  if (!chosen.native_profile) return skip(std::move(name), "SKIPPED: " + chosen.error);
  agent->set_per_step(per_step);
  RunOptions run;
  run.repeat = repeat;
  size_t passed = 0, skipped = 0;
  for (const Trace& trace : loaded.traces) {
    // The runner plans only concurrent traces; the fuzzer's way is planned here
    // so that the sequential ones go as one RunProgram too.
    if (!per_step && !trace.concurrent()) {
      std::vector<PlannedStatement> plan;
      for (const Statement& st : trace.stmts) plan.push_back({st.op, st.bind, st.thread});
      agent->plan(plan);
    }
    const TraceResult result = run_trace(trace, *chosen.native_profile, agent, run);
    if (!result.ok()) {
      return fail(std::move(name), fmt::format("{}: {}{}", trace.source, result.error,
                                               format_result_text(trace, result)));
    }
    passed += result.passed;
    skipped += result.skipped;
  }
  if (passed == 0) return fail(std::move(name), "every step was skipped");
  return pass(std::move(name),
              fmt::format("{} trace(s) under {}: {} steps passed, {} skipped", loaded.traces.size(),
                          chosen.native_profile->name, passed, skipped));
}

// A frame header: `length` (little-endian) and `type`, then `payload`.
std::vector<uint8_t> raw_frame(uint32_t length, uint8_t type, std::vector<uint8_t> payload) {
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(length >> (8 * i)));
  bytes.push_back(type);
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

CheckResult timed(const std::function<CheckResult()>& check) {
  const auto begun = std::chrono::steady_clock::now();
  CheckResult r = check();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  return r;
}

std::vector<std::function<CheckResult()>> frame_checks(Checker& c) {
  return {
      [&] { return c.handshake(); },
      [&] { return c.exec_result(); },
      [&] { return c.exec_outside_trace(); },
      [&] { return c.reset_cleans(); },
      [&] { return c.program_done(); },
      [&] { return c.concurrent_block(); },
      [&] { return c.ends_serving("malformed-unknown-type", raw_frame(0, 99, {})); },
      [&] { return c.ends_serving("malformed-short-payload", raw_frame(1, 11, {0})); },
      [&] {
        return c.ends_serving("malformed-oversized-length",
                              raw_frame(vm::kMaxFramePayload + 1, 11, {}));
      },
      [&] { return c.ends_serving("shutdown", vm::encode_empty(FrameType::Shutdown)); },
  };
}

}  // namespace

bool Report::passed() const {
  if (!error.empty()) return false;
  for (const CheckResult& c : checks)
    if (c.verdict == Verdict::Fail) return false;
  return true;
}

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Pass:
      return "PASS";
    case Verdict::Fail:
      return "FAIL";
    case Verdict::Skipped:
      return "SKIP";
  }
  return "?";
}

Report run_agent_check(const Options& options,
                       const std::function<void(const CheckResult&)>& progress) {
  Report report;
  TargetChoice chosen = make_target(options.target);
  auto* factory = dynamic_cast<vm::AgentTarget*>(chosen.target.get());
  if (!factory) {
    report.error = chosen.ok ? fmt::format(
                                   "target '{}' has no agent: give exec:CMD, "
                                   "serial:PATH or vm:VERSION",
                                   options.target)
                             : chosen.error;
    return report;
  }
  Checker checker(*factory, options);
  auto record = [&](CheckResult r) {
    progress(r);
    report.checks.push_back(std::move(r));
  };
  for (const auto& check : frame_checks(checker)) record(timed(check));
  report.agent = checker.agent();
  chosen = TargetChoice{};  // its link is no longer needed: the traces bring up their own
  const std::vector<std::string> corpus(std::begin(kOracleTraces), std::end(kOracleTraces));
  const std::vector<std::string> block = {"concurrency/common/autoclear_last_close.trace"};
  if (!checker.has_loop_control()) {
    for (const char* n : {"model-traces-exec", "model-traces-program", "model-concurrent"})
      record(skip(n, "SKIPPED: the agent has no /dev/loop-control"));
    return report;
  }
  record(timed([&] { return model_traces(options, "model-traces-exec", true, corpus, 0); }));
  record(timed([&] { return model_traces(options, "model-traces-program", false, corpus, 0); }));
  record(timed([&] { return model_traces(options, "model-concurrent", false, block, 5); }));
  return report;
}

}  // namespace loopcheck::agentcheck
