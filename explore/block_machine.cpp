// The block machine (see block_machine.h).
#include "explore/block_machine.h"

#include <xxhash.h>

#include <cassert>
#include <cerrno>

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
  return c.threads[t].next >= thread_stmts_[t].size() && starts_statement(c, t);
}

bool BlockMachine::all_done(const BlockConfig& c) const {
  for (size_t t = 0; t < thread_stmts_.size(); ++t)
    if (!thread_done(c, t)) return false;
  return true;
}

bool BlockMachine::starts_statement(const BlockConfig& c, size_t t) const {
  return c.threads[t].pending_device == kNoPendingDevice && c.threads[t].half == kNoSecondHalf;
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
  const Op op = bound_op(c, t);
  if (blocked(c.state, op)) return false;
  // An open between its two steps holds the device's disk->open_mutex.
  for (size_t u = 0; u < thread_stmts_.size(); ++u)
    if (u != t && c.threads[u].half == kOpenInstall &&
        needs_open_mutex(c.state, op, c.threads[u].half_device))
      return false;
  return true;
}

namespace {

bool is_loop_attr(SysAttr a) {
  switch (a) {
    case SysAttr::LoopBackingFile:
    case SysAttr::LoopOffset:
    case SysAttr::LoopSizelimit:
    case SysAttr::LoopAutoclear:
    case SysAttr::LoopPartscan:
    case SysAttr::LoopDio:
      return true;
    default:
      return false;
  }
}

}  // namespace

void BlockMachine::kill_removed_sysfs_files(BlockConfig& c) const {
  for (ThreadCursor& cur : c.threads) {
    if (cur.half != kSysfsOpen) continue;
    const Device* d = find_device(c.state, cur.half_device);
    if (!d || !has_backing(d->state)) cur.half = kSysfsDead;
  }
}

Settled BlockMachine::settle(BlockConfig& c, uint32_t at, const Outcome& outcome,
                             const Outcome* observed) const {
  // On an envelope's other branch (the model's alternative errno) the statement
  // returned that errno: the tuple and the variable show it.
  const bool other_branch = observed && observed->kind == Outcome::Kind::Error &&
                            outcome.also_err != 0 && outcome.also_err == observed->err;
  const Outcome shown = other_branch ? Outcome::error(observed->err) : outcome;
  c.tuple.at[at - first_] = tuple_outcome(shown);
  const int16_t bind = trace_.stmts[at].bind;
  if (bind >= 0) c.vars[static_cast<size_t>(bind)] = bound_value(shown);
  return Settled{true, at, outcome};
}

Settled BlockMachine::start_statement(BlockConfig& c, size_t t, const Outcome* observed) const {
  ThreadCursor& cur = c.threads[t];
  const uint32_t at = current_statement(c, t);
  const Op op = bind_op(trace_.stmts[at].op, c.vars);
  ++cur.next;
  if (op.kind == OpKind::Sysfs && is_loop_attr(op.attr)) {
    const Device* d = find_device(c.state, op.subject.lit);
    if (d && has_backing(d->state)) {  // the file exists: opened, read later
      cur.half = kSysfsOpen;
      cur.half_device = d->index;
      return Settled{false, at, Outcome::skipped()};
    }
  }
  if (op.kind == OpKind::Open && op.node == Node::Loop && find_device(c.state, op.subject.lit)) {
    const int refused = open_refusal(c.state, profile_, env_, op);
    if (refused) return settle(c, at, Outcome::error(refused), observed);
    cur.half = kOpenInstall;  // past lo_open; the opener is counted next
    cur.half_device = static_cast<uint32_t>(op.subject.lit);
    return Settled{false, at, Outcome::skipped()};
  }
  const SplitStep r = observed ? step_split(c.state, profile_, env_, op, *observed)
                               : step_split(c.state, profile_, env_, op);
  cur.pending_device = r.pending_device;
  kill_removed_sysfs_files(c);
  return settle(c, at, r.outcome, observed);
}

// The read of an opened sysfs file, or the counting of an opener.
Settled BlockMachine::second_half(BlockConfig& c, size_t t, const Outcome* observed) const {
  ThreadCursor& cur = c.threads[t];
  const uint32_t at = current_statement(c, t);
  const uint32_t half = cur.half;
  cur.half = kNoSecondHalf;
  cur.half_device = 0;
  if (half == kSysfsDead) return settle(c, at, Outcome::error(ENODEV), observed);
  const Op op = bind_op(trace_.stmts[at].op, c.vars);
  Outcome o;
  if (half == kOpenInstall) {
    o = finish_open(c.state, profile_, env_, op, observed);
  } else {
    o = observed ? step(c.state, profile_, env_, op, *observed) : step(c.state, profile_, env_, op);
  }
  kill_removed_sysfs_files(c);
  return settle(c, at, o, observed);
}

Settled BlockMachine::advance(BlockConfig& c, size_t t, const Outcome* observed) const {
  ThreadCursor& cur = c.threads[t];
  if (cur.half != kNoSecondHalf) return second_half(c, t, observed);
  if (cur.pending_device != kNoPendingDevice) {
    finish_pending(c.state, profile_, env_, cur.pending_device);
    cur.pending_device = kNoPendingDevice;
    kill_removed_sysfs_files(c);
    return Settled{};
  }
  return start_statement(c, t, observed);
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
