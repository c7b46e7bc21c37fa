// The wire protocol between the host side of the VM target (targets/vm/vm_target.h)
// and the agent running as /init in the guest (agent/agent_main.cpp).
//
// Both sides are built from this one file, so the format is defined once. It is a
// stream of frames over the guest's second serial port:
//
//     u32 payload length (little-endian, <= kMaxFramePayload) | u8 type | payload
//
// Every field is written explicitly with a fixed width (no struct dumps), so the
// host and the agent may be built by different compilers and flags (the agent is
// static and unsanitized, the host may carry ASan). A frame that does not decode
// exactly — short, long, an out-of-range enum — is a protocol error, never guessed.
//
// The conversation: the agent sends Ready once it can serve. Then, per trace, the
// host sends Start (objects and environment) and gets Started; one Exec per step,
// each answered by one Result; Reset puts the guest back to a freshly booted loop
// driver and is answered by ResetDone. Shutdown powers the guest off.
//
// The fuzzer's fast path is one round trip per program: RunProgram carries the
// Start request and every statement (with its variable references: the agent
// binds them as the host's lockstep would), and ProgramDone carries every
// outcome plus the quick reset's result. Per-step Exec frames cost a serial round
// trip each under TCG, which is most of a 16-op program's time.
//
// Only libc and trace/trace.h: the agent links no other library.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trace/trace.h"

namespace loopcheck::vm {

// 3: BLKSECDISCARD, fallocate; 4: fault, cgroup; 5: concurrent blocks (a program
// statement's thread, each outcome's call interval); 6: a block thread's kind
// (process threads); 7: partitions (an object's MBR table, an op's partition
// number, BLKRRPART, the start and partition sysfs attributes); 8: `uevents`
// (the op, and an outcome carrying the events).
inline constexpr uint32_t kProtocolVersion = 8;
inline constexpr uint32_t kMaxFramePayload = 64 * 1024;  // far above any Op, Outcome or message
inline constexpr size_t kFrameHeaderSize = 5;
inline constexpr size_t kMaxMessageSize = 4096;  // error texts are cut here

enum class FrameType : uint8_t {
  // guest -> host
  Ready = 1,        // ReadyInfo
  Started = 2,      // Reply
  Result = 3,       // Outcome
  ResetDone = 4,    // Reply
  ProgramDone = 5,  // ProgramReply
  // host -> guest
  Start = 10,       // StartRequest
  Exec = 11,        // Op
  Reset = 12,       // (empty)
  Shutdown = 13,    // (empty)
  RunProgram = 14,  // ProgramRequest
};

struct Frame {
  FrameType type = FrameType::Ready;
  std::vector<uint8_t> payload;
};

// What the guest tells the host when it can serve.
struct ReadyInfo {
  uint32_t protocol_version = kProtocolVersion;
  std::string kernel_release;    // uname -r inside the guest
  std::string backing_fs;        // the filesystem holding the trace's files ("ext4")
  uint32_t dio_align = 0;        // that filesystem's statx dio_offset_align (0: unknown)
  uint32_t bdev_block_size = 0;  // logical block size of its block device
};

// The sandbox objects of one trace, and how its steps run.
struct StartRequest {
  bool cap_sys_admin = true;        // false: run every step with CAP_SYS_ADMIN lowered
  bool cgroup = false;              // run every step from a non-root cgroup (@env cgroup)
  std::vector<ObjectDecl> objects;  // names, kinds, sizes, fills (positions are not sent)
};

// Started / ResetDone: whether it worked and, if not, why.
struct Reply {
  bool ok = true;
  std::string message;
};

// One statement of a program: the Op may read variables (Value::Var), which the
// agent binds to what earlier statements returned, exactly as oracle/lockstep does.
// A statement with thread k >= 1 belongs to a concurrent block (trace.h): the
// agent runs the block's contiguous threaded statements on one OS thread per
// block thread, released together.
struct ProgramStatement {
  Op op;
  int16_t bind = -1;                     // the variable slot this statement binds, or -1
  uint8_t thread = 0;                    // 0: sequential
  ThreadKind kind = ThreadKind::Thread;  // Process: the agent forks a child for the thread
};

// The guest's CLOCK_MONOTONIC around one statement's system call (nanoseconds).
struct CallInterval {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

// Start + every statement + a quick reset, in one frame.
struct ProgramRequest {
  StartRequest start;
  std::vector<ProgramStatement> statements;
};

struct ProgramReply {
  Reply started;                        // the sandbox set-up; no outcomes when it failed
  std::vector<Outcome> outcomes;        // one per statement, run to the end
  std::vector<CallInterval> intervals;  // one per statement (outcomes' calls)
  // The first step (1-based) after which /proc/sys/kernel/tainted changed (a
  // WARNING, an oops), 0 when it did not: which step to blame for a console report.
  uint32_t taint_step = 0;
  uint64_t taint = 0;  // the kernel's taint flags after the program
  Reply reset;         // the quick reset after the program (ok=false: leaked state)
  // Where the guest's time went (guest clock, microseconds): set-up (files),
  // the statements, the reset with its clean check.
  uint32_t start_us = 0, run_us = 0, reset_us = 0;
};

// Encoding: the whole frame (header included), ready to write.
std::vector<uint8_t> encode_ready(const ReadyInfo& info);
std::vector<uint8_t> encode_start(const StartRequest& request);
std::vector<uint8_t> encode_reply(FrameType type, const Reply& reply);
std::vector<uint8_t> encode_op(const Op& op);
std::vector<uint8_t> encode_outcome(const Outcome& outcome);
std::vector<uint8_t> encode_empty(FrameType type);
std::vector<uint8_t> encode_program(const ProgramRequest& request);
std::vector<uint8_t> encode_program_reply(const ProgramReply& reply);

// Decoding a payload; nullopt when it is malformed.
std::optional<ReadyInfo> decode_ready(std::span<const uint8_t> payload);
std::optional<StartRequest> decode_start(std::span<const uint8_t> payload);
std::optional<Reply> decode_reply(std::span<const uint8_t> payload);
std::optional<Op> decode_op(std::span<const uint8_t> payload);
std::optional<Outcome> decode_outcome(std::span<const uint8_t> payload);
std::optional<ProgramRequest> decode_program(std::span<const uint8_t> payload);
std::optional<ProgramReply> decode_program_reply(std::span<const uint8_t> payload);

// Incremental frame splitting for a byte stream: feed() what arrived, then take
// frames with next() until it returns nullopt. A header announcing more than
// kMaxFramePayload (a corrupt stream) sets broken() and stops all decoding.
class FrameReader {
 public:
  void feed(std::span<const uint8_t> bytes);
  std::optional<Frame> next();
  bool broken() const { return broken_; }
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  std::vector<uint8_t> buffer_;
  size_t consumed_ = 0;
  bool broken_ = false;
};

std::string_view frame_type_name(FrameType type);

}  // namespace loopcheck::vm
