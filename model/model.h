// The reference model's public face: an initial state from a trace's environment
// and sandbox objects, and a pure step function.
//
//   State s = initial_state(profile, env, objects);
//   Outcome o = step(s, profile, env, op);   // op: literal values only (trace/bind.h)
//
// No I/O, no clocks, no globals, no heap allocation inside step() on the control
// path. State is a value: copy it, compare it, hash it (the explorer relies on that).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "model/profile.h"
#include "model/state.h"
#include "trace/trace.h"

namespace loopcheck::model {

State initial_state(const Profile& profile, const Env& env, std::span<const ObjectDecl> objects);

Outcome step(State& state, const Profile& profile, const Env& env, const Op& op);

// The same step, once a target has run it: where the model allows several outcomes
// (an envelope: whether readahead left a block cached, whether a pre-created device
// has a write cache), the state goes on along the branch `observed` shows, as
// SibylFS checks a trace against every transition its spec allows. The outcome
// returned is the model's all the same, envelope included: the model did not
// predict which branch; it only stops forgetting which one was taken.
Outcome step(State& state, const Profile& profile, const Env& env, const Op& op,
             const Outcome& observed);

// One line per interesting device/fd, for divergence reports.
std::string summarize(const State& state);

// Invariants that must hold in every reachable state (docs/invariants.md).
// Returns false and a reason naming the invariant when one is violated.
bool check_invariants(const State& state, const Profile& profile, const Env& env, std::string* why);

}  // namespace loopcheck::model
