// The breadth-first search (see explore.h for the parallel scheme).
#include "explore/explore.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <thread>
#include <unordered_map>

#include "explore/codec.h"
#include "explore/invariants.h"
#include "explore/symmetry.h"
#include "model/model.h"
#include "trace/classify.h"

namespace loopcheck::model {

namespace {

inline constexpr uint32_t kMaxThreads = 16;

// A level's states: records back to back.
struct Level {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> offsets;  // offsets.size() = states + 1
  void clear() {
    bytes.clear();
    offsets.assign(1, 0);
  }
  size_t size() const { return offsets.size() - 1; }
  std::span<const uint8_t> record(size_t i) const {
    return {bytes.data() + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i])};
  }
  void push(std::span<const uint8_t> r) {
    bytes.insert(bytes.end(), r.begin(), r.end());
    offsets.push_back(bytes.size());
  }
};

// A successor on its way to the partition that owns its hash.
struct Candidate {
  uint64_t hash;
  uint32_t parent;  // index in the current level
  uint16_t op;
  uint16_t len;
  uint64_t offset;  // into the outbox's bytes
};

struct Outbox {
  std::vector<Candidate> items;
  std::vector<uint8_t> bytes;
  void clear() {
    items.clear();
    bytes.clear();
  }
};

struct EdgeKeyHash {
  size_t operator()(const EdgeKey& k) const {
    return static_cast<size_t>(XXH3_64bits(&k.pre, sizeof k.pre) ^
                               (k.post * 0x9E3779B97F4A7C15ull) ^
                               (uint64_t{k.label} << 8 | k.outcome));
  }
};

// What one worker accumulates over the whole search.
struct WorkerTotals {
  uint64_t generated = 0;
  std::array<std::array<uint64_t, kErrnoClassCount>, kMaxOpLabels> coverage{};
  std::unordered_map<EdgeKey, Witness, EdgeKeyHash> edges;
  std::vector<Violation> violations;
};

uint32_t partition_of(uint64_t hash, uint32_t parts) {
  // The low 32 bits: the store's slot comes from the high ones.
  return static_cast<uint32_t>(((hash & 0xffffffffu) * parts) >> 32);
}

class Explorer {
 public:
  explicit Explorer(const ExploreOptions& o)
      : o_(o),
        env_(scope_env()),
        objects_(scope_objects(o.scope)),
        initial_(initial_state(*o.profile, env_, objects_)),
        codec_(o.scope, initial_),
        domain_(make_domain(o.scope)),
        threads_(std::clamp<uint32_t>(o.threads, 1, kMaxThreads)) {
    for (uint32_t t = 0; t < threads_; ++t) {
      stores_.emplace_back(o.store, 1024);
      totals_.emplace_back();
      outboxes_.emplace_back(threads_);
      fresh_.emplace_back();
    }
  }

  ExploreResult run() {
    const auto start = std::chrono::steady_clock::now();
    ExploreResult r;
    State root = initial_;
    if (o_.symmetry) canonicalize_fds(root);
    std::vector<uint8_t> buf(codec_.max_record_bytes());
    const size_t len = codec_.encode(root, buf.data());
    const std::span<const uint8_t> rec(buf.data(), len);
    const uint64_t h = XXH3_64bits(rec.data(), rec.size());
    stores_[partition_of(h, threads_)].insert(h, rec);
    current_.clear();
    current_.push(rec);
    r.log.push_back(PathStep{0, 0});
    r.depth_start.push_back(0);

    uint32_t depth = 0;
    uint64_t distinct = 1;
    for (;;) {
      const bool expand = depth < o_.scope.depth && distinct < o_.max_states;
      run_workers([&](uint32_t t) { expand_slice(t, depth, r.depth_start[depth], expand); });
      if (!expand) {
        r.stats.queue = current_.size();
        r.stats.complete = distinct < o_.max_states || depth >= o_.scope.depth;
        break;
      }
      run_workers([&](uint32_t t) { dedup_partition(t); });
      const uint32_t base = static_cast<uint32_t>(r.log.size());
      merge_fresh(r.depth_start[depth], r);
      distinct += r.log.size() - base;
      if (current_.size() == 0) {
        r.stats.exhausted = true;
        break;
      }
      ++depth;
      r.depth_start.push_back(base);
    }

    r.stats.depth_reached = depth;
    r.stats.distinct = distinct;
    for (const StateStore& s : stores_) r.stats.store_bytes += s.memory_bytes();
    if (o_.store == StoreMode::Fingerprint)
      r.stats.omission_probability = omission_probability(distinct);
    collect(r);
    r.stats.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.stats.states_per_second =
        r.stats.seconds > 0 ? static_cast<double>(r.stats.generated) / r.stats.seconds : 0;
    return r;
  }

 private:
  template <class F>
  void run_workers(F f) {
    if (threads_ == 1) {
      f(0);
      return;
    }
    std::vector<std::thread> pool;
    for (uint32_t t = 1; t < threads_; ++t) pool.emplace_back(f, t);
    f(0);
    for (std::thread& th : pool) th.join();
  }

  // Worker t: decode its slice of the level, check invariants, and (unless at the
  // depth bound) try every operation, routing successors to their partitions.
  void expand_slice(uint32_t t, uint32_t depth, uint32_t level_base, bool expand) {
    WorkerTotals& w = totals_[t];
    for (Outbox& box : outboxes_[t]) box.clear();
    const size_t n = current_.size();
    const size_t lo = n * t / threads_, hi = n * (t + 1) / threads_;
    State parent{}, work{};
    parent = initial_;
    work = initial_;
    std::vector<Op> ops;
    std::vector<uint8_t> buf(codec_.max_record_bytes());
    std::string why;
    for (size_t i = lo; i < hi; ++i) {
      codec_.decode(current_.record(i), parent);
      const uint32_t id = level_base + static_cast<uint32_t>(i);
      const bool holds = check_invariants(parent, *o_.profile, env_, &why) &&
                         check_explore_invariants(parent, &why);
      if (!holds && w.violations.size() < o_.max_violations)
        w.violations.push_back(Violation{id, depth, why});
      if (!expand) continue;
      alphabet(parent, o_.scope, domain_, ops);
      assert(ops.size() <= UINT16_MAX);
      const AbstractClass pre = abstract_class(parent);
      for (size_t k = 0; k < ops.size(); ++k) {
        codec_.restore(work, parent);
        const Outcome out = step(work, *o_.profile, env_, ops[k]);
        if (o_.symmetry) canonicalize_fds(work);
        const int label = op_label(ops[k]);
        const int cls = errno_class(out);
        ++w.coverage[label][cls];
        const EdgeKey key{pre, static_cast<uint8_t>(label), static_cast<uint8_t>(cls),
                          abstract_class(work)};
        auto [it, added] =
            w.edges.try_emplace(key, Witness{id, static_cast<uint16_t>(k), depth, 0});
        ++it->second.count;
        (void)added;
        const size_t len = codec_.encode(work, buf.data());
        const uint64_t h = XXH3_64bits(buf.data(), len);
        Outbox& box = outboxes_[t][partition_of(h, threads_)];
        box.items.push_back(Candidate{h, static_cast<uint32_t>(i), static_cast<uint16_t>(k),
                                      static_cast<uint16_t>(len), box.bytes.size()});
        box.bytes.insert(box.bytes.end(), buf.begin(),
                         buf.begin() + static_cast<std::ptrdiff_t>(len));
      }
      w.generated += ops.size();
    }
  }

  // Worker t owns partition t: candidates arrive from every worker's outbox in
  // worker order, which is (parent, op) order, so the first copy kept is the
  // BFS-first one.
  void dedup_partition(uint32_t t) {
    Fresh& f = fresh_[t];
    f.items.clear();
    f.level.clear();
    for (uint32_t src = 0; src < threads_; ++src) {
      const Outbox& box = outboxes_[src][t];
      for (const Candidate& c : box.items) {
        const std::span<const uint8_t> rec(box.bytes.data() + c.offset, c.len);
        if (!stores_[t].insert(c.hash, rec)) continue;
        f.items.push_back(PathStep{c.parent, c.op});
        f.level.push(rec);
      }
    }
  }

  // The next level: every partition's new states merged by (parent, op).
  void merge_fresh(uint32_t level_base, ExploreResult& r) {
    next_.clear();
    std::array<size_t, kMaxThreads> at{};
    for (;;) {
      int best = -1;
      for (uint32_t t = 0; t < threads_; ++t) {
        if (at[t] >= fresh_[t].items.size()) continue;
        const PathStep& s = fresh_[t].items[at[t]];
        if (best < 0 || std::tie(s.parent, s.op) < std::tie(fresh_[best].items[at[best]].parent,
                                                            fresh_[best].items[at[best]].op))
          best = static_cast<int>(t);
      }
      if (best < 0) break;
      const PathStep& s = fresh_[best].items[at[best]];
      r.log.push_back(PathStep{level_base + s.parent, s.op});
      next_.push(fresh_[best].level.record(at[best]));
      ++at[best];
    }
    std::swap(current_, next_);
  }

  void collect(ExploreResult& r) {
    for (const WorkerTotals& w : totals_) {
      r.stats.generated += w.generated;
      for (int l = 0; l < kMaxOpLabels; ++l)
        for (int c = 0; c < kErrnoClassCount; ++c)
          if (w.coverage[l][c]) r.coverage[{l, c}] += w.coverage[l][c];
      for (const auto& [key, wit] : w.edges) {
        auto [it, added] = r.edges.try_emplace(key, wit);
        if (!added) {
          const uint64_t count = it->second.count + wit.count;
          if (std::tie(wit.parent, wit.op) < std::tie(it->second.parent, it->second.op))
            it->second = wit;
          it->second.count = count;
        }
      }
      r.violations.insert(r.violations.end(), w.violations.begin(), w.violations.end());
    }
    std::sort(r.violations.begin(), r.violations.end(),
              [](const Violation& a, const Violation& b) { return a.state < b.state; });
    if (r.violations.size() > o_.max_violations) r.violations.resize(o_.max_violations);
  }

  struct Fresh {
    std::vector<PathStep> items;
    Level level;
  };

  const ExploreOptions& o_;
  Env env_;
  std::vector<ObjectDecl> objects_;
  State initial_;
  StateCodec codec_;
  ArgDomain domain_;
  uint32_t threads_;
  std::vector<StateStore> stores_;
  std::vector<WorkerTotals> totals_;
  std::vector<std::vector<Outbox>> outboxes_;  // [source worker][destination partition]
  std::vector<Fresh> fresh_;
  Level current_, next_;
};

// Translates an operation written against the canonical state into the fds of the
// concrete state it stands for.
Op to_concrete(Op op, const FdRenaming& renaming) {
  auto fd = [&](Value& v) {
    if (v.lit < renaming.original.size() && renaming.original[v.lit] != 0)
      v.lit = renaming.original[v.lit];
  };
  if (op.kind == OpKind::Open) return op;
  fd(op.subject);
  if (op.kind == OpKind::Ioctl) {
    if (op.req == Req::LoopSetFd || op.req == Req::LoopChangeFd) fd(op.arg);
    if (op.req == Req::LoopConfigure && op.fields.has(Field::Fd))
      fd(op.fields.value[static_cast<int>(Field::Fd)]);
  }
  return op;
}

}  // namespace

ExploreResult explore(const ExploreOptions& options) {
  assert(*scope_error(options.scope) == '\0');
  return Explorer(options).run();
}

ConcretePath explore_path(const ExploreOptions& options, const ExploreResult& result, uint32_t id,
                          int extra_op) {
  assert(id < result.log.size());
  std::vector<uint16_t> steps;
  if (extra_op >= 0) steps.push_back(static_cast<uint16_t>(extra_op));
  for (uint32_t s = id; s != 0; s = result.log[s].parent) steps.push_back(result.log[s].op);
  std::reverse(steps.begin(), steps.end());

  const Env env = scope_env();
  const std::vector<ObjectDecl> objects = scope_objects(options.scope);
  const ArgDomain domain = make_domain(options.scope);
  State concrete = initial_state(*options.profile, env, objects);
  ConcretePath path;
  std::vector<Op> ops;
  for (uint16_t k : steps) {
    State canonical = concrete;
    FdRenaming renaming;
    if (options.symmetry) {
      canonicalize_fds(canonical, &renaming);
    } else {
      for (uint32_t fd = 0; fd < renaming.original.size(); ++fd) renaming.original[fd] = fd;
    }
    alphabet(canonical, options.scope, domain, ops);
    assert(k < ops.size());
    const Op op = to_concrete(ops[k], renaming);
    path.before.push_back(abstract_class(concrete));
    path.outcomes.push_back(step(concrete, *options.profile, env, op));
    path.ops.push_back(op);
  }
  path.end = concrete;
  return path;
}

}  // namespace loopcheck::model
