// The linearizability check (see linearizability.h).
#include "oracle/linearizability.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <limits>
#include <unordered_set>

#include "model/model.h"
#include "oracle/compare.h"
#include "trace/bind.h"
#include "trace/print.h"

namespace loopcheck {

namespace {

// An fd number depends on when the kernel reserved it (get_unused_fd_flags, before
// the open itself), not on where the open takes effect: any fd matches any fd.
bool explains(const Outcome& model, const Outcome& observed, Renaming& names) {
  if (model.kind == Outcome::Kind::Value && model.role == ValueRole::Fd)
    return observed.kind == Outcome::Kind::Value && observed.value >= 0;
  return compare_outcomes(model, observed, {}, names).equal;
}

struct Node {
  model::BlockConfig config;
  Renaming names;
  int64_t t_ns = std::numeric_limits<int64_t>::min();
};

struct FailedKey {
  model::ConfigKey config;
  uint64_t names = 0;
  int64_t t_ns = 0;
  friend bool operator==(const FailedKey&, const FailedKey&) = default;
};
struct FailedKeyHash {
  size_t operator()(const FailedKey& k) const {
    return model::ConfigKeyHash{}(k.config) ^ (k.names * 0x9E3779B97F4A7C15ull) ^
           static_cast<size_t>(k.t_ns);
  }
};

class Checker {
 public:
  explicit Checker(const LinearizabilityInput& in)
      : in_(in), machine_(*in.trace, *in.profile, in.env) {
    first_ = in.trace->blocks.front().first;
    by_stmt_.resize(in.trace->blocks.front().end - first_, nullptr);
    for (const CallRecord& c : in.calls) by_stmt_[c.stmt - first_] = &c;
    for ([[maybe_unused]] const CallRecord* c : by_stmt_)
      assert(c && "a history holds every block statement");
  }

  LinearizabilityResult run() {
    LinearizabilityResult r;
    Node root{in_.start, in_.names, std::numeric_limits<int64_t>::min()};
    r.linearizable = search(root);
    r.complete = complete_;
    r.nodes = nodes_;
    if (r.linearizable) {
      r.witness = path_;
    } else {
      r.why = why_;
      r.signature = signature_;
    }
    return r;
  }

 private:
  const LinearizabilityInput& in_;
  model::BlockMachine machine_;
  uint32_t first_ = 0;
  std::vector<const CallRecord*> by_stmt_;
  std::unordered_set<FailedKey, FailedKeyHash> failed_;
  std::vector<uint8_t> path_;
  uint64_t nodes_ = 0;
  bool complete_ = true;
  size_t deepest_ = 0;
  std::string why_ = "no micro-step fits the calls' intervals";
  std::string signature_ = "unexplained history: no micro-step fits the calls' intervals";

  const CallRecord& call_of(const model::BlockConfig& c, size_t t) const {
    return *by_stmt_[machine_.current_statement(c, t) - first_];
  }

  // The earliest end among calls not finished yet: no step may come after it.
  int64_t deadline(const model::BlockConfig& c) const {
    int64_t end = std::numeric_limits<int64_t>::max();
    for (size_t t = 0; t < machine_.thread_count(); ++t) {
      const std::span<const uint32_t> stmts = machine_.statements(t);
      size_t k = c.threads[t].next;
      if (!machine_.starts_statement(c, t)) --k;  // its work is still pending
      for (; k < stmts.size(); ++k) end = std::min(end, by_stmt_[stmts[k] - first_]->end_ns);
    }
    return end;
  }

  void note_mismatch(const Statement& st, const Outcome& model, const Outcome& observed) {
    if (path_.size() + 1 < deepest_) return;
    deepest_ = path_.size() + 1;
    why_ = fmt::format(
        "line {}: `{}` returned {}; after {} step(s) of the best order found the "
        "model says {}",
        st.pos.line, print_statement(*in_.trace, st), format_outcome(observed), path_.size(),
        format_outcome(model));
    // What deduplication compares: no line number, no step count (a minimized
    // trace keeps the signature).
    signature_ = fmt::format("unexplained history ({}): `{}` returned {} where the model says {}",
                             in_.profile->name, print_statement(*in_.trace, st),
                             format_outcome(observed), format_outcome(model));
  }

  bool search(const Node& n) {
    if (++nodes_ > in_.max_nodes) {
      complete_ = false;
      return false;
    }
    if (machine_.all_done(n.config)) return suffix_holds(n);
    const FailedKey key{model::config_key(n.config), n.names.digest(), n.t_ns};
    if (failed_.count(key)) return false;
    const int64_t limit = deadline(n.config);
    for (size_t t = 0; t < machine_.thread_count() && complete_; ++t) {
      if (!machine_.enabled(n.config, t)) continue;
      const CallRecord& call = call_of(n.config, t);
      Node child = n;
      child.t_ns = std::max(n.t_ns, call.start_ns);
      if (child.t_ns > limit) continue;
      const model::Settled s = machine_.advance(child.config, t, &call.outcome);
      if (s.settled && !explains(s.outcome, call.outcome, child.names)) {
        note_mismatch(in_.trace->stmts[call.stmt], s.outcome, call.outcome);
        continue;
      }
      path_.push_back(static_cast<uint8_t>(t));
      if (search(child)) return true;
      path_.pop_back();
    }
    if (complete_) failed_.insert(key);
    return false;
  }

  // The statements after the block, in order, from where this order left the model.
  bool suffix_holds(const Node& n) {
    model::State state = n.config.state;
    std::array<int64_t, kMaxVars> vars = n.config.vars;
    Renaming names = n.names;
    for (const SuffixCall& call : in_.suffix) {
      const Statement& st = in_.trace->stmts[call.stmt];
      const Outcome m =
          model::step(state, *in_.profile, in_.env, bind_op(st.op, vars), call.outcome);
      if (!explains(m, call.outcome, names)) {
        note_mismatch(st, m, call.outcome);
        return false;
      }
      if (st.bind >= 0) vars[static_cast<size_t>(st.bind)] = bound_value(m);
    }
    return true;
  }
};

}  // namespace

LinearizabilityResult check_linearizable(const LinearizabilityInput& input) {
  assert(input.trace && input.profile && input.trace->blocks.size() == 1);
  const auto began = std::chrono::steady_clock::now();
  LinearizabilityResult r = Checker(input).run();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  return r;
}

}  // namespace loopcheck
