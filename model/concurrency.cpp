// Split steps for concurrent blocks (see concurrency.h).
#include "model/concurrency.h"

#include <cassert>

#include "model/machine.h"

namespace loopcheck::model {

namespace {

SplitStep run_split(Machine& m, const Op& op) {
  m.split = true;
  SplitStep r;
  r.outcome = dispatch(m, op);
  r.pending_device = m.deferred_device;
  assert(r.pending_device == kNoPendingDevice || m.device(r.pending_device) != nullptr);
  return r;
}

}  // namespace

SplitStep step_split(State& state, const Profile& profile, const Env& env, const Op& op) {
  Machine m{state, profile, env};
  return run_split(m, op);
}

SplitStep step_split(State& state, const Profile& profile, const Env& env, const Op& op,
                     const Outcome& observed) {
  Machine m{state, profile, env, &observed};
  return run_split(m, op);
}

void finish_pending(State& state, const Profile& profile, const Env& env, uint32_t device) {
  Machine m{state, profile, env};
  m.split = true;  // its events interleave with the other threads' (model/uevents.cpp)
  Device* dev = m.device(device);
  assert(dev && dev->pending != Pending::None);
  const Pending kind = dev->pending;
  dev->pending = Pending::None;
  if (kind == Pending::Remove) {
    assert(dev->state == DevState::Deleting);
    m.remove_device(device);  // loop_remove: del_gendisk, idr_remove
    return;
  }
  assert(dev->state == DevState::Rundown);
  m.teardown(*dev);  // __loop_clr_fd
}

int open_refusal(const State& state, const Profile& profile, const Env& env, const Op& op) {
  State scratch = state;  // the checks only read it
  Machine m{scratch, profile, env};
  return m.open_loop_refusal(op);
}

Outcome finish_open(State& state, const Profile& profile, const Env& env, const Op& op,
                    const Outcome* observed) {
  Machine m{state, profile, env, observed};
  m.open_checked = true;
  m.split = true;
  return dispatch(m, op);
}

bool needs_open_mutex(const State& state, const Op& op, uint32_t device) {
  if (op.kind == OpKind::Open) return op.node == Node::Loop && op.subject.lit == device;
  if (op.kind == OpKind::Ioctl && op.req == Req::LoopCtlRemove)
    return op.arg_kind == ArgKind::Number && op.arg.lit == device;
  if (op.kind != OpKind::Close) return false;
  for (const Desc& d : state.descs)
    if (d.kind == DescKind::Loop && d.fd != 0 && d.fd == op.subject.lit) return d.device == device;
  return false;
}

const Device* find_device(const State& state, uint64_t index) {
  for (int i = 0; i < state.device_count; ++i)
    if (state.devices[i].index == index) return &state.devices[i];
  return nullptr;
}

bool blocked(const State& state, const Op& op) {
  if (op.kind != OpKind::Open || op.node != Node::Loop) return false;
  const Device* d = find_device(state, op.subject.lit);
  return d && d->pending == Pending::ReleaseTeardown;
}

}  // namespace loopcheck::model
