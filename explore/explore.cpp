// The breadth-first search (see explore.h for the parallel scheme).
#include "explore/explore.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <ctime>
#include <cstring>
#include <exception>
#include <thread>
#include <unordered_map>

#include "explore/codec.h"
#include "explore/frontier.h"
#include "explore/invariants.h"
#include "explore/symmetry.h"
#include "model/model.h"
#include "trace/classify.h"

namespace loopcheck::model {

namespace {

inline constexpr uint32_t kMaxThreads = 16;
// A level is cut into chunks that the workers take one at a time, so a worker that
// drew cheap states takes more of them instead of waiting at the level's end. A
// provisional store mark names the chunk (1 + chunk, six bits of a fingerprint
// slot), hence at most 63: with two workers the one that finishes first then
// waits a 63rd of the level at most. Chunks of fewer states than kMinChunkStates
// would cost more in per-chunk frontiers and claims than they balance.
inline constexpr uint32_t kMaxChunks = kMaxMark;
inline constexpr uint64_t kMinChunkStates = 256;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct EdgeKeyHash {
  size_t operator()(const EdgeKey& k) const {
    return static_cast<size_t>(XXH3_64bits(&k.pre, sizeof k.pre) ^
                               (k.post * 0x9E3779B97F4A7C15ull) ^
                               (uint64_t{k.label} << 8 | k.outcome));
  }
};

// What one worker accumulates over the whole search. On its own cache lines:
// `generated` is written per state, next to another worker's.
struct alignas(64) WorkerTotals {
  uint64_t generated = 0;
  std::array<std::array<uint64_t, kErrnoClassCount>, kMaxOpLabels> coverage{};
  std::unordered_map<EdgeKey, Witness, EdgeKeyHash> edges;
  std::vector<Violation> violations;
};

// A chunk's share of the level being built: the states it found new, in its
// (parent, operation) order, and how it reached them.
struct Found {
  Frontier states;
  std::vector<PathStep> steps;  // chunks after the first (the first logs directly)
};

// Scratch space of one worker for one level.
struct Scratch {
  State parent, work;
  std::vector<uint64_t> layout;
  std::vector<uint8_t> record;
  std::string why;
};

class Explorer {
 public:
  explicit Explorer(const ExploreOptions& o)
      : o_(o),
        env_(scope_env()),
        objects_(scope_objects(o.scope)),
        initial_(initial_state(*o.profile, env_, objects_)),
        codec_(o.scope, initial_),
        domain_(make_domain(o.scope)),
        threads_(std::clamp<uint32_t>(o.threads, 1, kMaxThreads)),
        space_(o.frontier_memory_bytes, o.spill_dir),
        store_(o.store, threads_),
        totals_(threads_),
        found_(kMaxChunks),
        alphabets_(threads_, AlphabetCache(o.scope, domain_)),
        current_(&space_) {}

  ExploreResult run() {
    const auto start = std::chrono::steady_clock::now();
    const double start_cpu_seconds = thread_cpu_seconds();
    ExploreResult r;
    seed(r);
    uint32_t depth = 0;
    uint64_t distinct = 1;
    for (;;) {
      const bool expand = depth < o_.scope.depth && distinct < o_.max_states;
      const auto base = static_cast<uint32_t>(r.log.size());
      chunks_ = chunk_count(current_.size());
      next_chunk_.store(0, std::memory_order_relaxed);
      run_workers([&](uint32_t t) { expand_chunks(t, depth, r.depth_start[depth], expand, r); });
      if (!expand) {
        r.stats.queue = current_.size();
        r.stats.complete = distinct < o_.max_states || depth >= o_.scope.depth;
        break;
      }
      current_.clear();
      if (chunks_ > 1) {
        next_chunk_.store(1, std::memory_order_relaxed);  // chunk 0 need not claim
        run_workers([&](uint32_t) { claim_chunks(); });
      }
      next_level(r);
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
    collect(r);
    r.stats.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.stats.states_per_second =
        r.stats.seconds > 0 ? static_cast<double>(r.stats.generated) / r.stats.seconds : 0;
    const double serial_cpu_seconds =
        thread_cpu_seconds() - start_cpu_seconds - phases_.main_cpu_seconds;
    r.stats.cpu_seconds = phases_.cpu_seconds + serial_cpu_seconds;
    r.stats.critical_cpu_seconds = phases_.critical_cpu_seconds + serial_cpu_seconds;
    return r;
  }

 private:
  // Runs f(0..threads-1) at once; a worker's exception (a full spill disk) is
  // rethrown here once all have stopped.
  template <class F>
  void run_workers(F f) {
    std::array<double, kMaxThreads> cpu_seconds{};
    std::vector<std::exception_ptr> errors(threads_);
    auto guarded = [&](uint32_t t) {
      const double start_seconds = thread_cpu_seconds();
      try {
        f(t);
      } catch (...) {
        errors[t] = std::current_exception();
      }
      cpu_seconds[t] = thread_cpu_seconds() - start_seconds;
    };
    std::vector<std::thread> pool;
    for (uint32_t t = 1; t < threads_; ++t) pool.emplace_back(guarded, t);
    guarded(0);
    for (std::thread& th : pool) th.join();
    store_.reclaim_all();  // no worker holds a table now
    phases_.main_cpu_seconds += cpu_seconds[0];
    for (uint32_t t = 0; t < threads_; ++t) phases_.cpu_seconds += cpu_seconds[t];
    phases_.critical_cpu_seconds += *std::max_element(cpu_seconds.begin(), cpu_seconds.end());
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
  }

  Scratch scratch() const {
    return Scratch{initial_,
                   initial_,
                   std::vector<uint64_t>(codec_.layout_words()),
                   std::vector<uint8_t>(codec_.max_record_bytes()),
                   {}};
  }

  // The fingerprint of s.layout: XXH3 of the layout itself (one pass over ~1.4 KB
  // at the largest scopes), cheaper than building the record first, which only
  // the exact store needs (in s.record, returned in `rec`; empty otherwise).
  uint64_t fingerprint(Scratch& s, std::span<const uint8_t>& rec) const {
    rec = {};
    if (o_.store == StoreMode::Exact)
      rec = {s.record.data(), codec_.encode_layout(s.layout.data(), s.record.data())};
    return XXH3_64bits(s.layout.data(), codec_.layout_words() * sizeof(uint64_t));
  }

  // The initial state: stored, logged, and the whole of level 0.
  void seed(ExploreResult& r) {
    Scratch s = scratch();
    State root = initial_;
    if (o_.symmetry) canonicalize_fds(root);
    codec_.pack(root, s.layout.data());
    std::span<const uint8_t> rec;
    const uint64_t h = fingerprint(s, rec);
    store_.offer(h, rec, 0);
    FrontierWriter w(space_, codec_.layout_words());
    w.push(s.layout.data());
    current_ = w.finish();
    r.log.push_back(PathStep{0, 0});
    r.depth_start.push_back(0);
  }

  // How many chunks a level of n states is cut into: one for one worker (its
  // states then go to the store settled, with no claim pass).
  uint32_t chunk_count(uint64_t n) const {
    if (threads_ == 1) return 1;
    const uint64_t chunks = (n + kMinChunkStates - 1) / kMinChunkStates;
    return static_cast<uint32_t>(std::clamp<uint64_t>(chunks, 1, kMaxChunks));
  }

  // The next chunk no worker has taken yet (`chunks_` once all are taken).
  uint32_t take_chunk() {
    const uint32_t c = next_chunk_.fetch_add(1, std::memory_order_relaxed);
    return std::min(c, chunks_);
  }

  // Worker t: expands chunks of the level until none is left. Chunks are taken in
  // increasing order, so each worker still meets states in increasing id order
  // (its first max_violations violations are its lowest ones).
  void expand_chunks(uint32_t t, uint32_t depth, uint32_t level_base, bool expand,
                     ExploreResult& r) {
    FrontierReader reader(current_, codec_.layout_words());
    FrontierWriter writer(space_, codec_.layout_words());
    Scratch s = scratch();
    for (uint32_t c = take_chunk(); c < chunks_; c = take_chunk()) {
      // The first chunk's finds are final (it leads all of them) and come first in
      // the next level: they go straight to the log, which nothing else touches
      // until the level is done.
      std::vector<PathStep>& steps = c == 0 ? r.log : found_[c].steps;
      expand_chunk(t, c, depth, level_base, expand, {reader, writer, s, steps});
      found_[c].states = writer.finish();
    }
  }

  // What a worker reads, writes and computes with while it expands a chunk.
  struct ChunkIo {
    FrontierReader& reader;
    FrontierWriter& writer;
    Scratch& s;
    std::vector<PathStep>& steps;
  };

  // Decodes chunk c of the level, checks invariants, and (unless at the depth
  // bound) tries every operation, keeping the successors new to the store.
  void expand_chunk(uint32_t t, uint32_t c, uint32_t depth, uint32_t level_base, bool expand,
                    ChunkIo io) {
    WorkerTotals& w = totals_[t];
    const uint64_t n = current_.size();
    const uint64_t lo = n * c / chunks_, hi = n * (c + 1) / chunks_;
    const auto mark = static_cast<uint8_t>(chunks_ > 1 ? c + 1 : 0);
    io.reader.seek(lo);
    for (uint64_t i = lo; i < hi; ++i) {
      codec_.unpack(io.reader.next(), io.s.parent);
      const uint32_t id = level_base + static_cast<uint32_t>(i);
      const bool holds = check_invariants(io.s.parent, *o_.profile, env_, &io.s.why) &&
                         check_explore_invariants(io.s.parent, &io.s.why);
      if (!holds && w.violations.size() < o_.max_violations)
        w.violations.push_back(Violation{id, depth, io.s.why});
      if (expand) expand_state(t, id, depth, mark, io);
      store_.quiescent(t);  // between states: no table read without the lock is held
    }
  }

  // Tries every operation of s.parent (state `id`).
  void expand_state(uint32_t t, uint32_t id, uint32_t depth, uint8_t mark, ChunkIo io) {
    WorkerTotals& w = totals_[t];
    Scratch& s = io.s;
    const std::vector<Op>& ops = alphabets_[t].get(s.parent);
    assert(ops.size() <= UINT16_MAX);
    const AbstractClass pre = abstract_class(s.parent);
    for (size_t k = 0; k < ops.size(); ++k) {
      codec_.restore(s.work, s.parent);
      const Outcome out = step(s.work, *o_.profile, env_, ops[k]);
      if (o_.symmetry && fds_may_move(s.parent, s.work)) canonicalize_fds(s.work);
      assert(!o_.symmetry || is_canonical(s.work));
      codec_.pack(s.work, s.layout.data());
      std::span<const uint8_t> rec;
      const uint64_t h = fingerprint(s, rec);
      store_.prefetch(h);  // the bookkeeping below hides the table's cache miss
      const int label = op_label(ops[k]);
      const int cls = errno_class(out);
      ++w.coverage[label][cls];
      const EdgeKey key{pre, static_cast<uint8_t>(label), static_cast<uint8_t>(cls),
                        abstract_class(s.work)};
      auto [it, added] = w.edges.try_emplace(key, Witness{id, static_cast<uint16_t>(k), depth, 0});
      ++it->second.count;
      (void)added;
      if (!store_.offer(h, rec, mark)) continue;
      io.writer.push(s.layout.data());
      io.steps.push_back(PathStep{id, static_cast<uint16_t>(k)});
    }
    w.generated += ops.size();
  }

  static bool is_canonical(const State& s) {
    State c = s;
    canonicalize_fds(c);
    return c == s;
  }

  // Whether canonicalize_fds could change `work`, a successor of the canonical
  // `parent`: only through what its sort key reads, the descriptions and the devices'
  // backing references. Most operations (status, block size, capacity, a failed
  // call) change neither, and the state is then canonical already.
  bool fds_may_move(const State& parent, const State& work) const {
    const size_t descs = o_.scope.fds + o_.scope.devices;
    if (parent.device_count != work.device_count ||
        std::memcmp(parent.descs.data(), work.descs.data(), descs * sizeof(Desc)) != 0)
      return true;
    for (uint32_t i = 0; i < o_.scope.devices; ++i)
      if (parent.devices[i].state != work.devices[i].state ||
          parent.devices[i].backing_desc != work.devices[i].backing_desc)
        return true;
    return false;
  }

  // Several chunks: each keeps the states it found that no earlier chunk found.
  // The first chunk leads everything it found (mark 1 is the lowest), and its
  // marks act as settled ones, so it has nothing to do.
  void claim_chunks() {
    FrontierWriter writer(space_, codec_.layout_words());
    Scratch s = scratch();
    for (uint32_t c = take_chunk(); c < chunks_; c = take_chunk()) {
      assert(c > 0);
      claim_found(c, writer, s);
    }
  }

  void claim_found(uint32_t c, FrontierWriter& writer, Scratch& s) {
    Found& f = found_[c];
    FrontierReader reader(f.states, codec_.layout_words());
    reader.seek(0);
    size_t kept = 0;
    for (const PathStep& step : f.steps) {
      const uint64_t* layout = reader.next();
      std::copy(layout, layout + codec_.layout_words(), s.layout.begin());
      std::span<const uint8_t> rec;
      const uint64_t h = fingerprint(s, rec);
      if (!store_.claim(h, rec, static_cast<uint8_t>(c + 1))) continue;
      writer.push(s.layout.data());
      f.steps[kept++] = step;
    }
    f.steps.resize(kept);
    f.states = writer.finish();
  }

  // The next level: the chunks' finds, in chunk order — (parent, operation) order.
  void next_level(ExploreResult& r) {
    const std::span<Found> found(found_.data(), chunks_);
    if (chunks_ > 1) {
      size_t total = r.log.size();
      for (const Found& f : found.subspan(1)) total += f.steps.size();
      r.log.reserve(total);
      for (Found& f : found.subspan(1)) {
        r.log.insert(r.log.end(), f.steps.begin(), f.steps.end());
        std::vector<PathStep>().swap(f.steps);
      }
    }
    for (Found& f : found) current_.append(std::move(f.states));
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
    r.stats.store_bytes = store_.memory_bytes();
    if (o_.store == StoreMode::Fingerprint)
      r.stats.omission_probability = omission_probability(r.stats.distinct);
    r.stats.log_bytes = r.log.capacity() * sizeof(PathStep);
    r.stats.marks_bytes = store_.marks_bytes();
    r.stats.frontier_peak_bytes = space_.peak_memory_bytes();
    r.stats.frontier_spilled_bytes = space_.spilled_bytes();
  }

  const ExploreOptions& o_;
  Env env_;
  std::vector<ObjectDecl> objects_;
  State initial_;
  StateCodec codec_;
  ArgDomain domain_;
  uint32_t threads_;
  FrontierSpace space_;  // before every Frontier: they give their memory back to it
  ShardedStore store_;
  std::vector<WorkerTotals> totals_;
  struct PhaseTimes {
    double cpu_seconds = 0;           // all workers
    double critical_cpu_seconds = 0;  // the busiest worker of each phase
    double main_cpu_seconds = 0;      // worker 0, which is the calling thread
  } phases_;
  std::vector<Found> found_;  // per chunk
  uint32_t chunks_ = 1;       // of the level being expanded
  // The next chunk to take, apart from what the workers write.
  alignas(64) std::atomic<uint32_t> next_chunk_{0};
  std::vector<AlphabetCache> alphabets_;
  Frontier current_;
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
    concrete.uevents = UeventList{};  // read as the step is taken (StateCodec::restore)
  }
  path.end = concrete;
  return path;
}

}  // namespace loopcheck::model
