// The interleaving search (see interleavings.h).
#include "explore/interleavings.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <map>
#include <unordered_map>

#include "explore/block_machine.h"
#include "trace/bind.h"

namespace loopcheck::model {

BlockStart run_prefix(const Trace& trace, const Profile& profile, const Env& env) {
  assert(trace.concurrent());
  BlockStart b{initial_state(profile, env, trace.objects), std::vector<int64_t>(kMaxVars, -1)};
  for (uint32_t i = 0; i < trace.blocks.front().first; ++i) {
    const Statement& st = trace.stmts[i];
    const Outcome o = step(b.state, profile, env, bind_op(st.op, b.vars));
    if (st.bind >= 0) b.vars[static_cast<size_t>(st.bind)] = bound_value(o);
  }
  return b;
}

namespace {

using SleepSet = uint32_t;  // bit t: thread t sleeps

class Search {
 public:
  Search(const Trace& trace, const Profile& profile, const Env& env,
         const InterleavingOptions& options)
      : machine_(trace, profile, env), profile_(profile), env_(env), options_(options) {}

  void run(const BlockConfig& start, InterleavingResult& out) {
    out_ = &out;
    visit(start, 0);
    for (auto& [tuple, witness] : tuples_) out.tuples.push_back(AllowedTuple{tuple, witness});
  }

 private:
  BlockMachine machine_;
  const Profile& profile_;
  const Env& env_;
  const InterleavingOptions& options_;
  InterleavingResult* out_ = nullptr;
  std::unordered_map<ConfigKey, SleepSet, ConfigKeyHash> seen_;
  std::map<OutcomeTuple, std::vector<uint8_t>> tuples_;
  std::vector<uint8_t> path_;

  // False when the configuration needs no (further) expansion with `sleep`.
  bool admit(const BlockConfig& c, SleepSet& sleep) {
    if (!options_.cache_states) return true;
    auto [it, fresh] = seen_.try_emplace(config_key(c), sleep);
    if (fresh) return true;
    // Explored before with fewer threads asleep: nothing new (Godefroid's rule).
    if ((it->second & ~sleep) == 0) return false;
    sleep &= it->second;
    it->second = sleep;
    return true;
  }

  void check(const BlockConfig& c) {
    std::string why;
    if (check_invariants(c.state, profile_, env_, &why) || out_->violations.size() >= 10) return;
    std::string where = "after threads";
    for (uint8_t t : path_) where += " " + std::to_string(t);
    out_->violations.push_back(why + " (" + where + ")");
  }

  void visit(const BlockConfig& c, SleepSet sleep) {
    if (!out_->complete) return;
    if (!admit(c, sleep)) return;
    if (++out_->expanded > options_.max_configs) {
      out_->complete = false;
      return;
    }
    check(c);
    if (machine_.all_done(c)) {
      ++out_->executions;
      tuples_.try_emplace(c.tuple, path_);
      return;
    }
    SleepSet done = 0;
    bool any = false;
    for (size_t t = 0; t < machine_.thread_count(); ++t) {
      if (!machine_.enabled(c, t)) continue;
      any = true;
      if (sleep & (1u << t)) continue;
      expand(c, t, options_.sleep_sets ? child_sleep(c, t, sleep | done) : 0);
      done |= 1u << t;
    }
    assert(any && "a block cannot deadlock: pending work never waits");
    (void)any;
  }

  // Thread t's step, and on an envelope its other branch too.
  void expand(const BlockConfig& c, size_t t, SleepSet sleep) {
    BlockConfig next = c;
    const Settled s = machine_.advance(next, t);
    ++out_->transitions;
    path_.push_back(static_cast<uint8_t>(t));
    visit(next, sleep);
    if (s.settled && s.outcome.also_err != 0) {
      BlockConfig other = c;
      const Outcome err = Outcome::error(s.outcome.also_err);
      machine_.advance(other, t, &err);
      ++out_->transitions;
      visit(other, 0);  // a branch of its own: no sleeping threads carried over
    }
    path_.pop_back();
  }

  // The threads of `candidates` whose step commutes with t's from c stay asleep.
  SleepSet child_sleep(const BlockConfig& c, size_t t, SleepSet candidates) {
    SleepSet keep = 0;
    for (size_t u = 0; u < machine_.thread_count(); ++u)
      if ((candidates & (1u << u)) && u != t && independent(c, t, u)) keep |= 1u << u;
    return keep;
  }

  // t then u reaches the same configuration as u then t, with the same outcomes
  // and neither step's enabledness changed by the other.
  bool independent(const BlockConfig& c, size_t t, size_t u) {
    ++out_->independence_checks;
    BlockConfig tu = c, ut = c;
    const Settled st = machine_.advance(tu, t);
    if (!machine_.enabled(tu, u) || st.outcome.also_err != 0) return false;
    const Settled su = machine_.advance(tu, u);
    const Settled su2 = machine_.advance(ut, u);
    if (!machine_.enabled(ut, t) || su.outcome.also_err != 0 || su2.outcome.also_err != 0)
      return false;
    machine_.advance(ut, t);
    out_->transitions += 4;
    return config_key(tu) == config_key(ut);
  }
};

}  // namespace

InterleavingResult explore_interleavings(const Trace& trace, const Profile& profile, const Env& env,
                                         const InterleavingOptions& options) {
  const auto began = std::chrono::steady_clock::now();
  InterleavingResult r;
  assert(trace.blocks.size() == 1);
  const BlockStart prefix = run_prefix(trace, profile, env);
  Search search(trace, profile, env, options);
  BlockMachine machine(trace, profile, env);
  search.run(machine.start(prefix.state, prefix.vars), r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  return r;
}

}  // namespace loopcheck::model
