// The block machine (see block_machine.h).
#include "explore/block_machine.h"

#include <xxhash.h>

#include <cassert>

#include "trace/bind.h"
#include "trace/outcome_tuple.h"

namespace loopcheck::model {

BlockMachine::BlockMachine(const Trace& trace, const Profile& profile, const Env& env)
    : trace_(trace), profile_(profile), env_(env) {
  assert(trace.blocks.size() == 1);
  const ConcurrentBlock& b = trace.blocks.front();
  first_ = b.first;
  thread_stmts_.resize(b.threads.size());
  for (uint32_t i = b.first; i < b.end; ++i) {
    const uint8_t t = trace.stmts[i].thread;
    assert(t >= 1 && t <= b.threads.size());
    thread_stmts_[t - 1u].push_back(i);
  }
}

BlockConfig BlockMachine::start(const State& state, std::span<const int64_t> vars) const {
  BlockConfig c;
  c.state = state;
  assert(vars.size() <= c.vars.size());
  std::copy(vars.begin(), vars.end(), c.vars.begin());
  c.tuple.count = static_cast<uint8_t>(trace_.blocks.front().end - first_);
  return c;
}

bool BlockMachine::thread_done(const BlockConfig& c, size_t t) const {
  return c.threads[t].next >= thread_stmts_[t].size() &&
         c.threads[t].pending_device == kNoPendingDevice;
}

bool BlockMachine::all_done(const BlockConfig& c) const {
  for (size_t t = 0; t < thread_stmts_.size(); ++t)
    if (!thread_done(c, t)) return false;
  return true;
}

bool BlockMachine::starts_statement(const BlockConfig& c, size_t t) const {
  return c.threads[t].pending_device == kNoPendingDevice;
}

uint32_t BlockMachine::current_statement(const BlockConfig& c, size_t t) const {
  const ThreadCursor& cur = c.threads[t];
  const size_t k = starts_statement(c, t) ? cur.next : cur.next - 1u;
  assert(k < thread_stmts_[t].size());
  return thread_stmts_[t][k];
}

Op BlockMachine::bound_op(const BlockConfig& c, size_t t) const {
  return bind_op(trace_.stmts[current_statement(c, t)].op, c.vars);
}

bool BlockMachine::enabled(const BlockConfig& c, size_t t) const {
  if (thread_done(c, t)) return false;
  if (!starts_statement(c, t)) return true;  // finishing never waits
  return !blocked(c.state, bound_op(c, t));
}

Outcome BlockMachine::advance(BlockConfig& c, size_t t, const Outcome* observed) const {
  ThreadCursor& cur = c.threads[t];
  if (!starts_statement(c, t)) {
    finish_pending(c.state, profile_, env_, cur.pending_device);
    cur.pending_device = kNoPendingDevice;
    return Outcome::skipped();
  }
  const uint32_t at = current_statement(c, t);
  const Statement& st = trace_.stmts[at];
  const Op op = bind_op(st.op, c.vars);
  const SplitStep r = observed ? step_split(c.state, profile_, env_, op, *observed)
                               : step_split(c.state, profile_, env_, op);
  cur.pending_device = r.pending_device;
  ++cur.next;
  // On an envelope's other branch (the model's alternative errno) the statement
  // returned that errno: the tuple and the variable show it.
  const bool other_branch = observed && observed->kind == Outcome::Kind::Error &&
                            r.outcome.also_err != 0 && r.outcome.also_err == observed->err;
  const Outcome shown = other_branch ? Outcome::error(observed->err) : r.outcome;
  c.tuple.at[at - first_] = tuple_outcome(shown);
  if (st.bind >= 0)
    c.vars[static_cast<size_t>(st.bind)] = shown.kind == Outcome::Kind::Value ? shown.value : -1;
  return r.outcome;
}

ConfigKey config_key(const BlockConfig& c) {
  XXH3_state_t* h = XXH3_createState();
  XXH3_128bits_reset(h);
  XXH3_128bits_update(h, &c.state, sizeof c.state);
  XXH3_128bits_update(h, c.threads.data(), sizeof c.threads);
  XXH3_128bits_update(h, c.vars.data(), sizeof c.vars);
  // Field by field: TupleOutcome has padding bytes.
  for (size_t i = 0; i < c.tuple.count; ++i) {
    const TupleOutcome& o = c.tuple.at[i];
    const int64_t fields[3] = {static_cast<int64_t>(o.kind), o.err, o.value};
    XXH3_128bits_update(h, fields, sizeof fields);
  }
  const XXH128_hash_t d = XXH3_128bits_digest(h);
  XXH3_freeState(h);
  return ConfigKey{d.low64, d.high64};
}

}  // namespace loopcheck::model
