// A concurrent block on the model, one micro-step at a time: the configuration
// (model state, each thread's position, variables, outcomes so far) and the step
// of one thread. The interleaving explorer (interleavings.h) and the
// linearizability checker (oracle/linearizability.h) both drive it, so both
// agree on what a thread may do next.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "model/concurrency.h"
#include "model/model.h"
#include "trace/trace.h"

namespace loopcheck::model {

// A sysfs read of a loop/ attribute is two steps: open(2) finds the file, read(2)
// asks its show(). Between them the attribute group may go (loop_sysfs_exit at a
// teardown, del_gendisk at a removal): kernfs then fails the read of the open
// file with ENODEV (kernfs_fop_read_iter: kernfs_get_active), also after a rebind
// added a new group. Settled on 6.1.0-56 in QEMU: a reader racing the autoclear
// teardown got ENODEV (corpus/concurrency/common/autoclear_last_close.trace).
//
// An open of an existing loop device is two steps too (model::open_refusal).
enum SecondHalf : uint32_t {
  kNoSecondHalf = 0,
  kSysfsOpen = 1,    // a sysfs file opened, its read to come
  kSysfsDead = 2,    // ... whose attribute group has gone since: ENODEV
  kOpenInstall = 3,  // an open past its checks, the opener to be counted
};

struct ThreadCursor {
  uint32_t next = 0;                           // statements of the thread started
  uint32_t pending_device = kNoPendingDevice;  // the started statement's work left
  uint32_t half = kNoSecondHalf;               // the started statement's second step
  uint32_t half_device = 0;                    // the device that step is about
};

// What a micro-step settled: a statement's outcome is decided at its first step,
// except a sysfs read's (at its read).
struct Settled {
  bool settled = false;
  uint32_t stmt = 0;  // Trace::stmts index
  Outcome outcome;
};

struct BlockConfig {
  State state;
  std::array<ThreadCursor, kMaxThreads> threads{};
  std::array<int64_t, kMaxVars> vars{};  // the model's values (unbound: -1)
  OutcomeTuple tuple;                    // outcomes of the statements started so far
};

class BlockMachine {
 public:
  // `vars`: the model's variables after the statements before the block.
  BlockMachine(const Trace& trace, const Profile& profile, const Env& env);

  size_t thread_count() const { return thread_stmts_.size(); }
  // Trace::stmts indices of thread t's statements, in order.
  std::span<const uint32_t> statements(size_t t) const { return thread_stmts_[t]; }

  // A configuration at the block's start, from the state and variables the
  // statements before it left.
  BlockConfig start(const State& state, std::span<const int64_t> vars) const;

  bool thread_done(const BlockConfig& c, size_t t) const;
  bool all_done(const BlockConfig& c) const;
  // Not done and not waiting on a lock pending work holds (model::blocked).
  bool enabled(const BlockConfig& c, size_t t) const;
  // Whether thread t's next micro-step starts a statement (else it finishes one).
  bool starts_statement(const BlockConfig& c, size_t t) const;
  // The statement thread t's next micro-step belongs to (Trace::stmts index).
  uint32_t current_statement(const BlockConfig& c, size_t t) const;
  // The next statement's op with the model's variables bound.
  Op bound_op(const BlockConfig& c, size_t t) const;

  // One micro-step of thread t. The step that settles a statement's outcome
  // records it in the tuple (and binds its variable); `observed` follows that
  // branch of an envelope (model.h).
  Settled advance(BlockConfig& c, size_t t, const Outcome* observed = nullptr) const;

 private:
  Settled settle(BlockConfig& c, uint32_t at, const Outcome& outcome,
                 const Outcome* observed) const;
  Settled start_statement(BlockConfig& c, size_t t, const Outcome* observed) const;
  Settled second_half(BlockConfig& c, size_t t, const Outcome* observed) const;
  // Open sysfs files whose attribute group a step removed are dead.
  void kill_removed_sysfs_files(BlockConfig& c) const;

  const Trace& trace_;
  const Profile& profile_;
  const Env& env_;
  uint32_t first_ = 0;
  std::vector<std::vector<uint32_t>> thread_stmts_;
};

// 128-bit digest of a configuration (state bytes, cursors, variables, tuple).
struct ConfigKey {
  uint64_t lo = 0, hi = 0;
  friend bool operator==(const ConfigKey&, const ConfigKey&) = default;
};
struct ConfigKeyHash {
  size_t operator()(const ConfigKey& k) const { return static_cast<size_t>(k.lo ^ (k.hi * 31)); }
};
ConfigKey config_key(const BlockConfig& c);

}  // namespace loopcheck::model
