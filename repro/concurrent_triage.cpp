#include "repro/concurrent_triage.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cassert>

#include "oracle/concurrent_runner.h"
#include "repro/triage.h"
#include "trace/outcome_tuple.h"

namespace loopcheck::vm {
namespace {

// Every tuple shown or allowed on any column, in text order (deterministic).
std::set<std::string> all_tuples(const std::vector<ConcurrentColumn>& columns) {
  std::set<std::string> tuples;
  for (const ConcurrentColumn& c : columns) {
    for (const auto& [tuple, runs] : c.observed) tuples.insert(tuple);
    tuples.insert(c.allowed.begin(), c.allowed.end());
  }
  return tuples;
}

std::string summary_rows(const std::vector<ConcurrentColumn>& columns) {
  std::string md =
      "| kernel | profile | runs | linearizable | unexplained | undecided | skipped | failed "
      "before the block |\n|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const ConcurrentColumn& c : columns) {
    if (!c.error.empty()) {
      md += fmt::format("| {} | {} | not run: {} | | | | | |\n", markdown_cell(c.name),
                        c.profile.empty() ? "-" : c.profile, markdown_cell(c.error));
      continue;
    }
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", markdown_cell(c.name),
                      c.profile, c.runs, c.linearizable,
                      c.unexplained ? fmt::format("**{}**", c.unexplained) : "0", c.undecided,
                      c.skipped, c.prefix_failures);
  }
  return md;
}

// A tuple's cell: how often the column showed it; `forbidden` when the model
// under the column's profile does not allow it, `(allowed)` when it allows it
// but no run showed it.
std::string tuple_cell(const ConcurrentColumn& c, const std::string& tuple) {
  if (!c.error.empty()) return "not run";
  const auto it = c.observed.find(tuple);
  const uint64_t runs = it == c.observed.end() ? 0 : it->second;
  const bool allowed = c.allowed.contains(tuple);
  if (runs == 0) return allowed ? "0 (allowed)" : "-";
  return allowed ? fmt::format("{}", runs) : fmt::format("**{} forbidden**", runs);
}

std::string tuple_rows(const std::vector<ConcurrentColumn>& columns) {
  std::string md = "| outcome tuple |";
  std::string rule = "|---|";
  for (const ConcurrentColumn& c : columns) {
    md += fmt::format(" {} |", markdown_cell(c.name));
    rule += "---:|";
  }
  md += "\n" + rule + "\n";
  for (const std::string& tuple : all_tuples(columns)) {
    md += fmt::format("| `{}` |", markdown_cell(tuple));
    for (const ConcurrentColumn& c : columns) md += " " + tuple_cell(c, tuple) + " |";
    md += "\n";
  }
  return md;
}

std::string change_text(const std::vector<ConcurrentColumn>& columns) {
  const ConcurrentChange change = first_concurrent_change(columns);
  if (!change.found) {
    return "No behaviour change across the kernels tested (tuples seen on one kernel and not "
           "another may be orders that did not come up in these runs).\n";
  }
  return fmt::format(
      "**Behaviour changed between `{}` and `{}`**: {}. Releases between the two that were not "
      "in the list were not tested.\n",
      columns[change.before].name, columns[change.after].name, change.what);
}

}  // namespace

ConcurrentColumn observe_concurrent(const Trace& trace, Target& target,
                                    const model::Profile* profile, std::string_view release,
                                    uint32_t repeat) {
  assert(trace.concurrent());
  ConcurrentColumn column;
  column.name = std::string(target.name());
  if (!profile) {
    column.error = model::no_profile_reason(release);
    return column;
  }
  column.profile = std::string(profile->name);
  ConcurrentOptions options;
  options.repeat = repeat;
  options.check_expectations = false;  // the kernel against the model, not the allow lines
  options.kept_histories = 1;
  const ConcurrentResult r = run_concurrent(trace, *profile, &target, options);
  column.error = r.error;
  column.runs = r.repetitions;
  column.linearizable = r.linearizable;
  column.unexplained = r.unexplained;
  column.undecided = r.undecided;
  column.skipped = r.skipped;
  column.prefix_failures = r.prefix_failures;
  const ConcurrentBlock& block = trace.blocks.front();
  for (const TupleTally& t : r.tuples) {
    const std::string text = format_tuple(trace, block, t.tuple);
    if (t.observed) column.observed[text] += t.observed;
    if (t.model_allows) column.allowed.insert(text);
  }
  for (const UnexplainedHistory& h : r.histories) {
    if (column.signatures.size() < kMaxColumnSignatures &&
        std::find(column.signatures.begin(), column.signatures.end(), h.signature) ==
            column.signatures.end())
      column.signatures.push_back(h.signature);
  }
  if (!r.histories.empty())
    column.first_history = format_unexplained_history(trace, r.histories[0]);
  return column;
}

std::vector<ConcurrentColumn> observe_concurrent_on_kernels(const Trace& trace,
                                                            const std::vector<KernelFiles>& kernels,
                                                            const VmTargetOptions& options,
                                                            unsigned jobs, uint32_t repeat) {
  std::vector<ConcurrentColumn> columns(kernels.size());
  on_each_kernel(kernels, options, jobs, [&](size_t i, VmTarget& target) {
    const std::string& release = kernels[i].version;
    columns[i] =
        observe_concurrent(trace, target, model::profile_for_release(release), release, repeat);
    columns[i].name = release;
    columns[i].guest_reports = target.guest_reports();
  });
  return columns;
}

ConcurrentChange first_concurrent_change(const std::vector<ConcurrentColumn>& columns) {
  std::vector<size_t> kernels;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].is_vm_kernel && columns[i].error.empty()) kernels.push_back(i);
  }
  for (size_t k = 1; k < kernels.size(); ++k) {
    const ConcurrentColumn& a = columns[kernels[k - 1]];
    const ConcurrentColumn& b = columns[kernels[k]];
    ConcurrentChange change{true, kernels[k - 1], kernels[k], ""};
    if ((a.unexplained > 0) != (b.unexplained > 0)) {
      change.what = fmt::format("the model explains every history on `{}` but not {} of {} on `{}`",
                                a.unexplained ? b.name : a.name,
                                a.unexplained ? a.unexplained : b.unexplained,
                                a.unexplained ? a.runs : b.runs, a.unexplained ? a.name : b.name);
      return change;
    }
    if (a.allowed != b.allowed) {
      change.what = fmt::format("the model allows other outcome tuples under `{}` than under `{}`",
                                b.profile, a.profile);
      return change;
    }
  }
  return {};
}

std::string concurrent_triage_markdown(const Trace& trace,
                                       const std::vector<ConcurrentColumn>& columns) {
  std::string md = fmt::format("## Triage: `{}` (concurrent block, threads {})\n\n", trace.source,
                               fmt::join(trace.blocks.front().threads, ", "));
  md += summary_rows(columns) + "\n";
  md +=
      "Outcome tuples: runs that showed each; `(allowed)`: the model allows it under the "
      "kernel's profile but no run showed it; `forbidden`: no order of the model gives it.\n\n";
  md += tuple_rows(columns) + "\n" + change_text(columns);
  for (const ConcurrentColumn& c : columns) {
    if (c.first_history.empty()) continue;
    md += fmt::format("\n### `{}`: unexplained\n\n", c.name);
    for (const std::string& s : c.signatures) md += fmt::format("- `{}`\n", markdown_cell(s));
    md += fmt::format("\n```\n{}```\n", c.first_history);
  }
  for (const ConcurrentColumn& c : columns) {
    for (const GuestReport& r : c.guest_reports)
      md += fmt::format("\n**{}**, step {}: {}\n\n```\n{}\n```\n", c.name, r.step, r.report.kind,
                        r.report.excerpt);
  }
  return md;
}

}  // namespace loopcheck::vm
