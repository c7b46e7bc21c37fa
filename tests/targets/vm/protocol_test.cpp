// The VM wire protocol: every message survives encode/decode exactly, and
// anything malformed (short, long, out-of-range enums, oversized frames) is
// rejected rather than guessed at.
#include <gtest/gtest.h>

#include <cerrno>

#include "targets/vm/protocol.h"
#include "trace/ops.h"

namespace loopcheck::vm {
namespace {

std::span<const uint8_t> payload_of(const std::vector<uint8_t>& frame) {
  return std::span<const uint8_t>(frame).subspan(kFrameHeaderSize);
}

Op sample_op() {
  Op op;
  op.kind = OpKind::Ioctl;
  op.subject = Value::literal(5);
  op.req = Req::LoopConfigure;
  op.arg_kind = ArgKind::Struct;
  op.fields.set(Field::Fd, Value::literal(4));
  op.fields.set(Field::BlockSize, Value::literal(4096));
  op.fields.set(Field::Offset, Value::signed_literal(-512));
  op.fields.set(Field::Flags, Value::literal(kLoAutoclear | kLoReadOnly));
  op.fields.name.len = 3;
  op.fields.name.bytes[0] = 'i';
  op.fields.name.bytes[1] = 'm';
  op.fields.name.bytes[2] = 'g';
  op.offset = Value::literal(0xffff'ffff'ffffull);
  op.length = 8192;
  op.seed = 0xdeadbeef;
  op.attr = SysAttr::QueueMinimumIoSize;
  return op;
}

TEST(VmProtocol, OpRoundTripsExactly) {
  Op op = sample_op();
  std::vector<uint8_t> frame = encode_op(op);
  ASSERT_EQ(frame[4], static_cast<uint8_t>(FrameType::Exec));
  std::optional<Op> back = decode_op(payload_of(frame));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, op);
  // An ioctl pointer that faults, and a file's allocation: the newest kinds.
  op.arg_kind = ArgKind::Fault;
  EXPECT_EQ(decode_op(payload_of(encode_op(op))), op);
  const Op allocated = op_allocated(1);
  EXPECT_EQ(decode_op(payload_of(encode_op(allocated))), allocated);
}

TEST(VmProtocol, OutcomeRoundTripsEveryObservableField) {
  Outcome o;
  o.kind = Outcome::Kind::Status;
  o.role = ValueRole::DevIndex;
  o.err = 0;
  o.value = -7;
  o.status.device = 0x10301;
  o.status.inode = 123456789;
  o.status.offset = 1ull << 40;
  o.status.sizelimit = 4096;
  o.status.flags = kLoAutoclear;
  o.status.name.len = 3;
  o.status.name.bytes.fill('x');  // bytes past the name's end still travel exactly
  o.status.name.bytes[3] = 0;
  std::optional<Outcome> back = decode_outcome(payload_of(encode_outcome(o)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->kind, o.kind);
  EXPECT_EQ(back->role, o.role);
  EXPECT_EQ(back->value, o.value);
  EXPECT_EQ(back->status, o.status);

  // Each kind carries what it observes: a read its count and digest, sysfs its text.
  Outcome data = Outcome::ok(4096);
  data.kind = Outcome::Kind::Data;
  data.digest = 0x620797930ab0991aull;
  std::optional<Outcome> data_back = decode_outcome(payload_of(encode_outcome(data)));
  ASSERT_TRUE(data_back.has_value());
  EXPECT_EQ(data_back->value, 4096);
  EXPECT_EQ(data_back->digest, data.digest);
  Outcome text;
  text.kind = Outcome::Kind::Text;
  text.set_text("img (deleted)");
  std::optional<Outcome> text_back = decode_outcome(payload_of(encode_outcome(text)));
  ASSERT_TRUE(text_back.has_value());
  EXPECT_EQ(text_back->text_view(), "img (deleted)");

  // `uevents` its events, in order, with their detail and partition, and the
  // listener's loss.
  UeventList events;
  events.push({UeventAction::Change, UeventDetail::Resize, 0, 0, 7});
  events.push({UeventAction::Remove, UeventDetail::None, 3, 0, 1048575});
  events.lost = 1;
  std::optional<Outcome> events_back =
      decode_outcome(payload_of(encode_outcome(Outcome::events(events))));
  ASSERT_TRUE(events_back.has_value());
  EXPECT_EQ(events_back->kind, Outcome::Kind::Uevents);
  EXPECT_EQ(events_back->uevents, events);
  const std::vector<uint8_t> frame = encode_outcome(Outcome::events(events));
  std::vector<uint8_t> too_many(frame.begin() + kFrameHeaderSize, frame.end());
  too_many[4] = kMaxUevents + 1;  // kind, role, err 0, value 0, then the count
  EXPECT_FALSE(decode_outcome(too_many).has_value());

  Outcome err = Outcome::error(EBUSY);
  std::optional<Outcome> err_back = decode_outcome(payload_of(encode_outcome(err)));
  ASSERT_TRUE(err_back.has_value());
  EXPECT_EQ(err_back->kind, Outcome::Kind::Error);
  EXPECT_EQ(err_back->err, EBUSY);
}

TEST(VmProtocol, StartReadyAndRepliesRoundTrip) {
  StartRequest start;
  start.cap_sys_admin = false;
  start.cgroup = true;
  start.objects.push_back({ObjectDecl::Kind::File, "img", 65536, 0x77, {}});
  start.objects.push_back({ObjectDecl::Kind::Dir, "d", 0, 0, {}});
  std::optional<StartRequest> start_back = decode_start(payload_of(encode_start(start)));
  ASSERT_TRUE(start_back.has_value());
  EXPECT_FALSE(start_back->cap_sys_admin);
  EXPECT_TRUE(start_back->cgroup);
  EXPECT_EQ(start_back->objects, start.objects);

  ReadyInfo ready{kProtocolVersion, "6.1.0-56-cloud-amd64", "ext4", 512, 512};
  std::optional<ReadyInfo> ready_back = decode_ready(payload_of(encode_ready(ready)));
  ASSERT_TRUE(ready_back.has_value());
  EXPECT_EQ(ready_back->kernel_release, ready.kernel_release);
  EXPECT_EQ(ready_back->dio_align, 512u);

  std::optional<Reply> reply =
      decode_reply(payload_of(encode_reply(FrameType::ResetDone, {false, "busy"})));
  ASSERT_TRUE(reply.has_value());
  EXPECT_FALSE(reply->ok);
  EXPECT_EQ(reply->message, "busy");
}

TEST(VmProtocol, MalformedPayloadsAreRejected) {
  std::vector<uint8_t> frame = encode_op(sample_op());
  std::vector<uint8_t> payload(frame.begin() + kFrameHeaderSize, frame.end());
  // Short by one byte, long by one byte.
  EXPECT_FALSE(decode_op(std::span<const uint8_t>(payload).first(payload.size() - 1)).has_value());
  std::vector<uint8_t> longer = payload;
  longer.push_back(0);
  EXPECT_FALSE(decode_op(longer).has_value());
  // An OpKind past the last one.
  std::vector<uint8_t> bad_kind = payload;
  bad_kind[0] = static_cast<uint8_t>(OpKind::Uevents) + 1;
  EXPECT_FALSE(decode_op(bad_kind).has_value());
  // An object name that would escape the sandbox directory.
  StartRequest start;
  start.objects.push_back({ObjectDecl::Kind::File, "../etc", 0, 0, {}});
  EXPECT_FALSE(decode_start(payload_of(encode_start(start))).has_value());
}

TEST(VmProtocol, AProgramKeepsItsVariablesAndBindings) {
  ProgramRequest request;
  request.start.cap_sys_admin = false;
  request.start.objects.push_back({ObjectDecl::Kind::File, "img", 65536, 0xcd, {}});
  Op open_ctl;
  open_ctl.kind = OpKind::Open;
  open_ctl.node = Node::LoopControl;
  Op add = sample_op();
  add.subject = Value::variable(0);  // the agent binds it: the fd statement 0 returned
  add.fields.set(Field::Fd, Value::variable(63));
  request.statements = {{open_ctl, 0, 0}, {add, -1, 1}, {sample_op(), 63, 2}};
  std::vector<uint8_t> frame = encode_program(request);
  ASSERT_EQ(frame[4], static_cast<uint8_t>(FrameType::RunProgram));
  std::optional<ProgramRequest> back = decode_program(payload_of(frame));
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->start.cap_sys_admin);
  EXPECT_EQ(back->start.objects, request.start.objects);
  ASSERT_EQ(back->statements.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->statements[i].op, request.statements[i].op) << i;
    EXPECT_EQ(back->statements[i].bind, request.statements[i].bind) << i;
    EXPECT_EQ(back->statements[i].thread, request.statements[i].thread) << i;
  }
  // A thread past the block's bound is a corrupt frame.
  std::span<const uint8_t> view = payload_of(frame);
  std::vector<uint8_t> payload(view.begin(), view.end());
  payload.back() = kMaxThreads + 1;
  EXPECT_FALSE(decode_program(payload).has_value());
}

TEST(VmProtocol, AProgramReplyCarriesOutcomesTaintAndTheReset) {
  ProgramReply reply;
  reply.outcomes = {Outcome::ok(3, ValueRole::Fd), Outcome::error(EBUSY), Outcome::skipped()};
  reply.intervals = {{100, 250}, {120, 130}, {300, 300}};
  reply.taint_step = 2;
  reply.taint = 512;  // TAINT_WARN
  reply.reset = {false, "leaked state after the reset: loop.ko's reference count is 1"};
  std::optional<ProgramReply> back = decode_program_reply(payload_of(encode_program_reply(reply)));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->started.ok);
  ASSERT_EQ(back->outcomes.size(), 3u);
  EXPECT_EQ(back->outcomes[0].value, 3);
  EXPECT_EQ(back->outcomes[0].role, ValueRole::Fd);
  EXPECT_EQ(back->outcomes[1].err, EBUSY);
  EXPECT_EQ(back->outcomes[2].kind, Outcome::Kind::Skipped);
  ASSERT_EQ(back->intervals.size(), 3u);
  EXPECT_EQ(back->intervals[0].start_ns, 100);
  EXPECT_EQ(back->intervals[1].end_ns, 130);
  EXPECT_EQ(back->taint_step, 2u);
  EXPECT_EQ(back->taint, 512u);
  EXPECT_FALSE(back->reset.ok);
  EXPECT_EQ(back->reset.message, reply.reset.message);
}

TEST(VmProtocol, ABindingOrVariableOutsideTheSlotsIsRejected) {
  ProgramRequest request;
  Op op = sample_op();
  request.statements = {{op, 5}};
  std::vector<uint8_t> frame = encode_program(request);
  std::vector<uint8_t> payload(frame.begin() + kFrameHeaderSize, frame.end());
  ASSERT_TRUE(decode_program(payload).has_value());
  // The bind slot is the two bytes before the thread, the payload's last byte: 64
  // is one past the last slot.
  payload[payload.size() - 3] = kMaxVars;
  EXPECT_FALSE(decode_program(payload).has_value());
  // An Exec frame whose subject names a variable: a host bug, never executed.
  std::vector<uint8_t> exec = encode_op(op);
  std::vector<uint8_t> exec_payload(exec.begin() + kFrameHeaderSize, exec.end());
  ASSERT_EQ(exec_payload[6], 5) << "sample_op's subject, literal 5, one LEB128 byte";
  exec_payload[5] |= 2;  // the subject's flags: a variable slot (slot 5)
  EXPECT_FALSE(decode_op(exec_payload).has_value());
}

TEST(VmProtocol, FrameReaderSplitsAStreamFedByteByByte) {
  std::vector<uint8_t> stream = encode_op(sample_op());
  std::vector<uint8_t> second = encode_empty(FrameType::Reset);
  stream.insert(stream.end(), second.begin(), second.end());
  FrameReader reader;
  std::vector<Frame> frames;
  for (uint8_t byte : stream) {
    reader.feed({&byte, 1});
    while (std::optional<Frame> f = reader.next()) frames.push_back(*f);
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, FrameType::Exec);
  EXPECT_EQ(decode_op(frames[0].payload), sample_op());
  EXPECT_EQ(frames[1].type, FrameType::Reset);
  EXPECT_TRUE(frames[1].payload.empty());
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(VmProtocol, OversizedFrameHeaderBreaksTheStream) {
  FrameReader reader;
  uint32_t too_big = kMaxFramePayload + 1;
  uint8_t header[kFrameHeaderSize] = {
      static_cast<uint8_t>(too_big), static_cast<uint8_t>(too_big >> 8),
      static_cast<uint8_t>(too_big >> 16), static_cast<uint8_t>(too_big >> 24),
      static_cast<uint8_t>(FrameType::Result)};
  reader.feed(header);
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.broken());
}

}  // namespace
}  // namespace loopcheck::vm
