#include "repro/finding_triage.h"

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "fuzz/exec.h"
#include "fuzz/findings.h"
#include "fuzz/signature.h"
#include "oracle/lockstep.h"
#include "trace/data.h"
#include "trace/print.h"
#include "trace/trace_files.h"

namespace loopcheck {
namespace {

constexpr std::array<std::string_view, 7> kVerdictNames{
    "driver bug (the kernel agrees with the model)",
    "model gap (the kernel agrees with the driver)",
    "neither (the kernel agrees with neither side)",
    "no divergence under this profile",
    "not comparable (the kernel left the model earlier)",
    "skipped (the target does not own the device)",
    "not run"};

struct SteppedRun {
  std::vector<StepResult> steps;
  std::string error;
};

// The trace beside the model through statement `last`, going on past a
// divergence: triage wants the outcome at the finding's step even when an
// earlier step already differed.
SteppedRun run_beside_model(const Trace& trace, const model::Profile& profile, Target& target,
                            size_t last) {
  SteppedRun run;
  Env env = trace.env;
  target.describe_env(env, trace.env_given);
  TargetError err = target.start(trace, profile.name, env);
  if (err.failed) {
    run.error = err.message;
    target.finish();
    return run;
  }
  Lockstep lockstep(profile, env, trace.objects, &target);
  for (size_t i = 0; i <= last && i < trace.stmts.size(); ++i)
    run.steps.push_back(lockstep.step(trace.stmts[i], false));
  target.finish();
  return run;
}

// Two targets' outcomes (both in the model's names) are the same observation:
// the machine's own numbers (device, inode, rdevice) do not count.
bool same_observation(const Outcome& a, const Outcome& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Outcome::Kind::Value:
      return a.value == b.value && a.role == b.role;
    case Outcome::Kind::Error:
      return a.err == b.err;
    case Outcome::Kind::Data:
      return a.value == b.value && a.digest == b.digest;
    case Outcome::Kind::Text:
      return a.text_view() == b.text_view();
    case Outcome::Kind::Uevents:
      return a.uevents == b.uevents;
    case Outcome::Kind::Status: {
      StatusInfo x = a.status, y = b.status;
      x.device = x.inode = x.rdevice = y.device = y.inode = y.rdevice = 0;
      return x == y;
    }
    case Outcome::Kind::Skipped:
      return true;
  }
  return false;
}

// A target's outcome as text: bytes that are the model's (or all zeros) are
// named as such instead of by digest, and machine numbers are blanked.
std::string display(const Outcome& o, const Outcome& model) {
  Outcome shown = o;
  if (shown.kind == Outcome::Kind::Status)
    shown.status.device = shown.status.inode = shown.status.rdevice = 0;
  if (o.kind != Outcome::Kind::Data || o.value <= 0 ||
      static_cast<uint64_t>(o.value) > kMaxIoLength)
    return format_outcome(shown);
  std::vector<uint8_t> bytes(static_cast<size_t>(o.value));
  if (model.kind == Outcome::Kind::Data && model.data_known && model.value == o.value) {
    materialize(model.data, bytes);
    if (digest_bytes(bytes) == o.digest) return format_outcome(model) + " (the model's bytes)";
  }
  std::fill(bytes.begin(), bytes.end(), 0);
  if (digest_bytes(bytes) == o.digest) return fmt::format("{} data=zero*{}", o.value, o.value);
  return format_outcome(shown);
}

std::string model_display(const Outcome& model) {
  Outcome shown = model;
  if (shown.kind == Outcome::Kind::Status)
    shown.status.device = shown.status.inode = shown.status.rdevice = 0;
  return format_outcome(shown);
}

// The first diverging step of a run, or the run's length.
size_t first_divergence(const std::vector<StepResult>& steps) {
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i].verdict == StepVerdict::Diverged) return i;
  return steps.size();
}

KernelVerdict verdict_at(const StepResult& kernel, const StepResult& driver) {
  const bool driver_diverged = driver.verdict == StepVerdict::Diverged;
  if (kernel.verdict == StepVerdict::Skipped) return KernelVerdict::Skipped;
  if (kernel.verdict != StepVerdict::Diverged)
    return driver_diverged ? KernelVerdict::DriverBug : KernelVerdict::NoDivergence;
  if (driver_diverged && same_observation(kernel.observed, driver.observed))
    return KernelVerdict::ModelGap;
  return KernelVerdict::Neither;
}

}  // namespace

std::string_view verdict_name(KernelVerdict verdict) {
  return kVerdictNames[static_cast<size_t>(verdict)];
}

DriverRun run_on_driver(const Trace& trace, const model::Profile& profile, Target& driver) {
  if (trace.concurrent()) return run_concurrent_on_driver(trace, profile, driver);
  DriverRun out;
  SteppedRun run = run_beside_model(trace, profile, driver, trace.stmts.size());
  out.error = run.error;
  const size_t at = first_divergence(run.steps);
  if (!run.error.empty() || at == run.steps.size()) return out;
  out.diverged = true;
  out.step = at;
  const StepResult& r = run.steps[at];
  out.signature =
      fuzz::divergence_signature(profile.name, trace.stmts[at].op, r.model, r.observed, {});
  return out;
}

KernelObservation observe_finding(const Trace& trace, const model::Profile& profile, size_t step,
                                  Target& driver, Target& kernel) {
  if (trace.concurrent()) return observe_concurrent_finding(trace, profile, driver, kernel);
  KernelObservation o;
  o.profile = std::string(profile.name);
  // Under another profile the driver may leave the model elsewhere: judge there.
  SteppedRun drv = run_beside_model(trace, profile, driver, trace.stmts.size());
  if (const size_t at = first_divergence(drv.steps); at < drv.steps.size()) step = at;
  o.step = step;
  SteppedRun ker = run_beside_model(trace, profile, kernel, step);
  if (!drv.error.empty() || !ker.error.empty() || ker.steps.size() <= step ||
      drv.steps.size() <= step) {
    o.error = !ker.error.empty() ? ker.error : drv.error;
    if (o.error.empty()) o.error = "the trace is shorter than the finding's step";
    return o;
  }
  const StepResult& k = ker.steps[step];
  const StepResult& d = drv.steps[step];
  o.model = model_display(k.verdict == StepVerdict::Skipped ? d.model : k.model);
  o.driver = display(d.observed, d.model);
  o.kernel = k.verdict == StepVerdict::Skipped ? "SKIPPED" : display(k.observed, k.model);
  o.verdict = verdict_at(k, d);
  if (const size_t e = first_divergence(ker.steps); e < step) {
    o.verdict = KernelVerdict::DivergesEarlier;
    o.earlier_step = e;
    o.earlier_detail = ker.steps[e].detail;
  }
  return o;
}

std::string finding_target_name(const std::string& path) {
  return std::filesystem::path(path).parent_path().filename().string();
}

FindingCheck check_finding(const std::string& path, Target& target) {
  FindingCheck check;
  check.path = path;
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check.stored = fuzz::header_value(text, "# signature: ").value_or("");
  LoadedTraces loaded = load_traces({path});
  if (!loaded.ok() || loaded.traces.size() != 1 || check.stored.empty()) {
    check.error = loaded.ok() ? "no `# signature:` line" : loaded.errors.front();
    return check;
  }
  const Trace& trace = loaded.traces.front();
  const model::Profile* profile =
      model::find_profile(trace.profile.empty() ? model::kDefaultProfile.name : trace.profile);
  if (!profile) {
    check.error = "unknown profile " + trace.profile;
    return check;
  }
  fuzz::ProgramRunner runner(&target);
  const fuzz::Finding finding = runner.run(trace, *profile);
  if (finding.kind == fuzz::Finding::Kind::TargetError) {
    check.error = finding.detail;
  } else if (finding) {
    check.now = finding.signature;
    check.step = finding.step;
  }
  return check;
}

namespace {

// A literal loop index other than 0 (which the variant renames) in `op`.
bool names_other_index(const Op& op) {
  const bool open_loop = op.kind == OpKind::Open && op.node == Node::Loop;
  if ((open_loop || op.kind == OpKind::Sysfs) && op.subject.is_literal() && op.subject.lit != 0)
    return true;
  const bool ctl_index =
      op.kind == OpKind::Ioctl && (op.req == Req::LoopCtlAdd || op.req == Req::LoopCtlRemove);
  return ctl_index && op.arg.is_literal() && !op.arg.negative;
}

Statement host_prefix(Op op, int16_t bind) {
  Statement stmt;
  stmt.op = op;
  stmt.bind = bind;
  return stmt;
}

}  // namespace

std::optional<Trace> host_variant(const Trace& trace) {
  if (trace.vars.size() + 2 > static_cast<size_t>(kMaxVars)) return std::nullopt;
  for (const Statement& stmt : trace.stmts)
    if (names_other_index(stmt.op)) return std::nullopt;
  Trace out = trace;
  const auto ctl = static_cast<uint8_t>(out.vars.size());
  out.vars.emplace_back("hctl");
  const auto dev = static_cast<uint8_t>(out.vars.size());
  out.vars.emplace_back("hdev");
  Op open_ctl;
  open_ctl.kind = OpKind::Open;
  open_ctl.node = Node::LoopControl;
  open_ctl.access = Access::Rw;
  Op add;
  add.kind = OpKind::Ioctl;
  add.subject = Value::variable(ctl);
  add.req = Req::LoopCtlAdd;
  add.arg_kind = ArgKind::Number;
  add.arg = Value::signed_literal(-1);
  for (Statement& stmt : out.stmts) {
    Op& op = stmt.op;
    const bool open_loop = op.kind == OpKind::Open && op.node == Node::Loop;
    if ((open_loop || op.kind == OpKind::Sysfs) && op.subject.is_literal())
      op.subject = Value::variable(dev);
    if (op.kind == OpKind::Ioctl && op.req == Req::LoopCtlGetFree) {
      op.req = Req::LoopCtlAdd;
      op.arg_kind = ArgKind::Number;
      op.arg = Value::signed_literal(-1);
    }
  }
  out.stmts.insert(out.stmts.begin(), {host_prefix(open_ctl, ctl), host_prefix(add, dev)});
  for (ConcurrentBlock& block : out.blocks) {
    block.first += kHostPrefixSteps;
    block.end += kHostPrefixSteps;
  }
  return out;
}

std::string triage_line(const KernelObservation& o) {
  std::string line = fmt::format("# triage {} ({}", o.release, o.profile);
  if (!o.env_note.empty()) line += ", " + o.env_note;
  line += "): ";
  if (o.verdict == KernelVerdict::NotRun) return line + "not run: " + o.error;
  line += fmt::format("step {}: model {}; driver {}; kernel {} => {}", o.step + 1, o.model,
                      o.driver, o.kernel, verdict_name(o.verdict));
  if (o.verdict == KernelVerdict::DivergesEarlier)
    line += fmt::format(" at step {}: {}", o.earlier_step + 1, o.earlier_detail);
  return line;
}

}  // namespace loopcheck
