// Concurrency checking costs (docs/concurrency.md):
//  - the model's interleaving search on each corpus scenario and on a wider
//    synthetic block, with no reduction, with state caching, and with caching
//    plus sleep sets (configurations expanded, micro-steps, steps/s);
//  - the linearizability check of one history, per scenario: histories the
//    model itself gives (each allowed tuple's witness order), with every call's
//    interval overlapping every other's (the search's worst case).
//
//   build/bench/concurrency_bench [--benchmark_filter=Linearizability]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "explore/block_machine.h"
#include "explore/interleavings.h"
#include "model/model.h"
#include "oracle/linearizability.h"
#include "trace/bind.h"
#include "trace/data.h"
#include "trace/parse.h"
#include "trace/trace_files.h"

using namespace loopcheck;

namespace {

struct Scenario {
  std::string name;
  Trace trace;
  const model::Profile* profile;
};

// Four threads each resizing and querying its own device: every step commutes
// with the other threads', which is where sleep sets pay.
const char* kWide =
    "@trace 2\n"
    "ctl = open loop-control rw\n"
    "a = ioctl ctl LOOP_CTL_ADD -1\nb = ioctl ctl LOOP_CTL_ADD -1\n"
    "c = ioctl ctl LOOP_CTL_ADD -1\nd = ioctl ctl LOOP_CTL_ADD -1\n"
    "da = open loop a rw\ndb = open loop b rw\ndc = open loop c rw\ndd = open loop d rw\n"
    "concurrent\n"
    "thread w\n  ioctl da LOOP_SET_BLOCK_SIZE 1024\n  ioctl da BLKSSZGET\n"
    "thread x\n  ioctl db LOOP_SET_BLOCK_SIZE 2048\n  ioctl db BLKSSZGET\n"
    "thread y\n  ioctl dc LOOP_SET_BLOCK_SIZE 4096\n  ioctl dc BLKSSZGET\n"
    "thread z\n  ioctl dd BLKSSZGET\n  ioctl dd LOOP_GET_STATUS64\n"
    "end\n";

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = [] {
    std::vector<Scenario> out;
    const std::string root = std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/concurrency/";
    for (const char* series : {"linux-6.1", "linux-6.18"}) {
      LoadedTraces loaded = load_traces({root + "common", root + series});
      for (Trace& t : loaded.traces) {
        std::string name = t.source.substr(t.source.find_last_of('/') + 1);
        name = name.substr(0, name.size() - 6) + "@" + series;
        out.push_back({name, std::move(t), model::find_profile(series)});
      }
    }
    out.push_back({"wide_4x2@linux-6.18", parse_trace(kWide, "wide.trace").trace,
                   model::find_profile("linux-6.18")});
    return out;
  }();
  return all;
}

void interleavings(benchmark::State& state, size_t which, bool cache, bool sleep) {
  const Scenario& s = scenarios()[which];
  model::InterleavingOptions o;
  o.cache_states = cache;
  o.sleep_sets = sleep;
  model::InterleavingResult r;
  for (auto _ : state) r = model::explore_interleavings(s.trace, *s.profile, s.trace.env, o);
  state.counters["expanded"] = static_cast<double>(r.expanded);
  state.counters["micro_steps"] = static_cast<double>(r.transitions);
  state.counters["interleavings"] = static_cast<double>(r.executions);
  state.counters["tuples"] = static_cast<double>(r.tuples.size());
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(r.transitions),
                                                     benchmark::Counter::kIsIterationInvariantRate);
}

// What a real target reports for a read: the digest of the bytes (the model
// describes them; a target hashes what it read).
Outcome as_observed(Outcome o) {
  if (o.kind != Outcome::Kind::Data || !o.data_known) return o;
  std::vector<uint8_t> bytes(static_cast<size_t>(o.value));
  materialize(o.data, bytes);
  o.digest = digest_bytes(bytes);
  return o;
}

// The calls of the witness order of `tuple`, all overlapping, and the statements
// after the block as the model runs them from there.
struct History {
  std::vector<CallRecord> calls;
  std::vector<SuffixCall> suffix;
};

History history_of(const Scenario& s, const model::AllowedTuple& tuple,
                   const model::BlockStart& prefix) {
  model::BlockMachine m(s.trace, *s.profile, s.trace.env);
  model::BlockConfig c = m.start(prefix.state, prefix.vars);
  History h;
  for (uint8_t t : tuple.witness) {
    const model::Settled done = m.advance(c, t);
    if (done.settled)
      h.calls.push_back(CallRecord{done.stmt, t, as_observed(done.outcome), 0, 1000});
  }
  std::sort(h.calls.begin(), h.calls.end(),
            [](const CallRecord& a, const CallRecord& b) { return a.stmt < b.stmt; });
  for (uint32_t i = s.trace.blocks.front().end; i < s.trace.stmts.size(); ++i) {
    const Statement& st = s.trace.stmts[i];
    const Outcome o = model::step(c.state, *s.profile, s.trace.env, bind_op(st.op, c.vars));
    if (st.bind >= 0) c.vars[static_cast<size_t>(st.bind)] = bound_value(o);
    h.suffix.push_back(SuffixCall{i, as_observed(o)});
  }
  return h;
}

void linearizability(benchmark::State& state, size_t which) {
  const Scenario& s = scenarios()[which];
  const model::InterleavingResult allowed =
      model::explore_interleavings(s.trace, *s.profile, s.trace.env);
  const model::BlockStart prefix = model::run_prefix(s.trace, *s.profile, s.trace.env);
  std::vector<History> histories;
  for (const model::AllowedTuple& t : allowed.tuples) histories.push_back(history_of(s, t, prefix));
  model::BlockMachine m(s.trace, *s.profile, s.trace.env);
  uint64_t nodes = 0, checked = 0, linearizable = 0;
  for (auto _ : state) {
    for (const History& h : histories) {
      LinearizabilityInput in;
      in.trace = &s.trace;
      in.profile = s.profile;
      in.env = s.trace.env;
      in.start = m.start(prefix.state, prefix.vars);
      in.calls = h.calls;
      in.suffix = h.suffix;
      const LinearizabilityResult r = check_linearizable(in);
      nodes += r.nodes;
      linearizable += r.linearizable;
      ++checked;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(checked));  // histories/s
  state.counters["nodes_per_history"] = checked ? double(nodes) / double(checked) : 0;
  state.counters["linearizable"] = checked ? double(linearizable) / double(checked) : 0;
}

const bool registered = [] {
  for (size_t i = 0; i < scenarios().size(); ++i) {
    const std::string& n = scenarios()[i].name;
    benchmark::RegisterBenchmark(("Interleavings/none/" + n).c_str(), interleavings, i, false,
                                 false);
    benchmark::RegisterBenchmark(("Interleavings/cache/" + n).c_str(), interleavings, i, true,
                                 false);
    benchmark::RegisterBenchmark(("Interleavings/cache+sleep/" + n).c_str(), interleavings, i, true,
                                 true);
    if (n.rfind("wide", 0) != 0)
      benchmark::RegisterBenchmark(("Linearizability/" + n).c_str(), linearizability, i);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
