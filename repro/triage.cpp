#include "repro/triage.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <thread>

#include "model/profile.h"

#include "trace/bind.h"
#include "trace/data.h"
#include "trace/print.h"

namespace loopcheck::vm {
namespace {

std::string renamed(const char* prefix, int64_t value, std::vector<int64_t>& seen) {
  auto it = std::find(seen.begin(), seen.end(), value);
  if (it == seen.end()) {
    seen.push_back(value);
    it = seen.end() - 1;
  }
  return fmt::format("{}#{}", prefix, (it - seen.begin()) + 1);
}

}  // namespace

std::string markdown_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string cell(std::string_view text) {
  return markdown_cell(text);
}

std::string expectation_text(const Expectation& e) {
  std::string text;
  for (uint8_t i = 0; i < e.count; ++i) text += (i ? " | " : "") + format_expect_alt(e.alt[i]);
  return text.empty() ? "-" : text;
}

std::string statement_text(const Trace& trace, const Statement& stmt) {
  Statement bare = stmt;
  bare.expect = Expectation{};
  return print_statement(trace, bare);
}

// Real targets return a read's digest, not its bytes. A digest is readable when it
// matches what the trace expected or a run of zeros; otherwise it stays a digest.
Outcome described_read(const Outcome& o, const Statement& stmt) {
  if (o.kind != Outcome::Kind::Data || o.value <= 0 ||
      static_cast<uint64_t>(o.value) > kMaxIoLength)
    return o;
  std::vector<uint8_t> bytes(static_cast<size_t>(o.value));
  std::vector<DataDesc> candidates;
  for (uint8_t a = 0; a < stmt.expect.count; ++a) {
    if (stmt.expect.alt[a].kind == ExpectAlt::Kind::Data && stmt.expect.alt[a].has_data) {
      candidates.push_back(stmt.expect.alt[a].data);
    }
  }
  DataDesc zero;
  zero.count = 1;
  zero.seg[0].kind = DataSegment::Kind::Zero;
  zero.seg[0].length = bytes.size();
  candidates.push_back(zero);
  for (const DataDesc& desc : candidates) {
    bool has_digest_run = false;  // materialize() writes zeros for those: no proof
    for (uint8_t i = 0; i < desc.count; ++i)
      has_digest_run |= desc.seg[i].kind == DataSegment::Kind::Bytes;
    if (has_digest_run || desc_length(desc, bytes.size()) != bytes.size()) continue;
    std::fill(bytes.begin(), bytes.end(), 0);
    materialize(desc, bytes);
    if (digest_bytes(bytes) == o.digest) {
      Outcome described = o;
      described.data =
          describe_bytes(bytes);  // canonical: "fill:0x77", not the expectation's spelling
      described.digest = 0;
      return described;
    }
  }
  return o;
}

}  // namespace

std::string normalized_outcome(const Outcome& outcome, std::vector<int64_t>& fds,
                               std::vector<int64_t>& devs) {
  if (outcome.kind == Outcome::Kind::Value && outcome.role == ValueRole::Fd)
    return renamed("fd", outcome.value, fds);
  if (outcome.kind == Outcome::Kind::Value && outcome.role == ValueRole::DevIndex) {
    return renamed("dev", outcome.value, devs);
  }
  Outcome o = outcome;
  if (o.kind == Outcome::Kind::Status) {
    o.status.device = o.status.inode = o.status.rdevice = 0;  // this machine's numbers
  }
  return format_outcome(o);
}

TriageColumn observe_trace(const Trace& trace, Target& target, std::string_view profile_name) {
  TriageColumn column;
  column.name = std::string(target.name());
  Env env = trace.env;
  target.describe_env(env, trace.env_given);
  TargetError err = target.start(trace, profile_name, env);
  if (err.failed) {
    column.error = err.message;
    column.cells.assign(trace.stmts.size(), "not run");
    target.finish();
    return column;
  }
  std::array<int64_t, kMaxVars> vars;
  vars.fill(-1);
  std::vector<int64_t> fds, devs;
  for (const Statement& stmt : trace.stmts) {
    Outcome o = target.execute(bind_op(stmt.op, vars));
    if (stmt.bind >= 0) vars[static_cast<size_t>(stmt.bind)] = bound_value(o);
    column.cells.push_back(normalized_outcome(described_read(o, stmt), fds, devs));
  }
  target.finish();
  return column;
}

BehaviourChange first_change(const std::vector<TriageColumn>& columns) {
  BehaviourChange change;
  std::vector<size_t> kernels;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].is_vm_kernel && columns[i].error.empty()) kernels.push_back(i);
  }
  for (size_t k = 1; k < kernels.size(); ++k) {
    const TriageColumn& a = columns[kernels[k - 1]];
    const TriageColumn& b = columns[kernels[k]];
    for (size_t s = 0; s < std::min(a.cells.size(), b.cells.size()); ++s) {
      if (a.cells[s] != b.cells[s]) change.steps.push_back(s);
    }
    if (!change.steps.empty()) {
      change.found = true;
      change.before = kernels[k - 1];
      change.after = kernels[k];
      return change;
    }
  }
  return change;
}

std::string triage_markdown(const Trace& trace, const std::vector<TriageColumn>& columns) {
  std::string md = fmt::format("## Triage: `{}`\n\n", trace.source);
  md += "| step | statement | expected |";
  std::string rule = "|---:|---|---|";
  for (const TriageColumn& c : columns) {
    md += fmt::format(" {} |", cell(c.name));
    rule += "---|";
  }
  md += "\n" + rule + "\n";
  for (size_t s = 0; s < trace.stmts.size(); ++s) {
    const Statement& stmt = trace.stmts[s];
    md += fmt::format("| {} | `{}` | `{}` |", s + 1, cell(statement_text(trace, stmt)),
                      cell(expectation_text(stmt.expect)));
    // A cell that differs from the column before it is bold, so a change stands out.
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string& text =
          s < columns[c].cells.size() ? columns[c].cells[s] : std::string("not run");
      bool differs = c > 0 && s < columns[c - 1].cells.size() && columns[c - 1].cells[s] != text;
      md += differs ? fmt::format(" **{}** |", cell(text)) : fmt::format(" {} |", cell(text));
    }
    md += "\n";
  }
  md += "\n";
  for (const TriageColumn& c : columns) {
    if (!c.error.empty())
      md += fmt::format("- **{}** could not run the trace: {}\n", c.name, c.error);
  }
  BehaviourChange change = first_change(columns);
  if (change.found) {
    std::string steps;
    for (size_t s : change.steps) steps += fmt::format("{}{}", steps.empty() ? "" : ", ", s + 1);
    md += fmt::format(
        "**Behaviour changed between `{}` and `{}`**: `{}` is the first kernel in version order "
        "with the new "
        "behaviour (step{} {}). Releases between the two that were not in the list were not "
        "tested.\n",
        columns[change.before].name, columns[change.after].name, columns[change.after].name,
        change.steps.size() > 1 ? "s" : "", steps);
  } else {
    md += "No behaviour change across the kernels tested.\n";
  }
  bool any_report = false;
  for (const TriageColumn& c : columns) {
    for (const GuestReport& r : c.guest_reports) {
      if (!any_report) md += "\n### Kernel reports\n";
      any_report = true;
      md += fmt::format("\n**{}**, step {}: {}\n\n```\n{}\n```\n", c.name, r.step, r.report.kind,
                        r.report.excerpt);
    }
  }
  return md;
}

void on_each_kernel(const std::vector<KernelFiles>& kernels, const VmTargetOptions& options,
                    unsigned jobs, const std::function<void(size_t, VmTarget&)>& observe) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < kernels.size(); i = next++) {
      VmTarget target(kernels[i], options);
      observe(i, target);
    }
  };
  const unsigned workers =
      std::clamp<unsigned>(jobs, 1, std::max<unsigned>(1, static_cast<unsigned>(kernels.size())));
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < workers; ++j) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
}

std::vector<TriageColumn> observe_on_kernels(const Trace& trace,
                                             const std::vector<KernelFiles>& kernels,
                                             const VmTargetOptions& options, unsigned jobs) {
  std::vector<TriageColumn> columns(kernels.size());
  on_each_kernel(kernels, options, jobs, [&](size_t i, VmTarget& target) {
    const model::Profile* profile = model::profile_for_release(kernels[i].version);
    columns[i] = observe_trace(trace, target, profile ? profile->name : std::string_view{});
    columns[i].name = kernels[i].version;
    columns[i].guest_reports = target.guest_reports();
  });
  return columns;
}

}  // namespace loopcheck::vm
