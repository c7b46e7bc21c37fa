// The VM wire protocol: every message survives encode/decode exactly, and
// anything malformed (short, long, out-of-range enums, oversized frames) is
// rejected rather than guessed at.
#include <gtest/gtest.h>

#include "targets/vm/protocol.h"

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
  o.status.name.len = 64;
  o.status.name.bytes.fill('x');
  o.digest = 0x620797930ab0991aull;
  o.set_text("img (deleted)");
  std::optional<Outcome> back = decode_outcome(payload_of(encode_outcome(o)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->kind, o.kind);
  EXPECT_EQ(back->role, o.role);
  EXPECT_EQ(back->value, o.value);
  EXPECT_EQ(back->status, o.status);
  EXPECT_EQ(back->digest, o.digest);
  EXPECT_EQ(back->text_view(), "img (deleted)");

  Outcome err = Outcome::error(EBUSY);
  std::optional<Outcome> err_back = decode_outcome(payload_of(encode_outcome(err)));
  ASSERT_TRUE(err_back.has_value());
  EXPECT_EQ(err_back->kind, Outcome::Kind::Error);
  EXPECT_EQ(err_back->err, EBUSY);
}

TEST(VmProtocol, StartReadyAndRepliesRoundTrip) {
  StartRequest start;
  start.cap_sys_admin = false;
  start.objects.push_back({ObjectDecl::Kind::File, "img", 65536, 0x77, {}});
  start.objects.push_back({ObjectDecl::Kind::Dir, "d", 0, 0, {}});
  std::optional<StartRequest> start_back = decode_start(payload_of(encode_start(start)));
  ASSERT_TRUE(start_back.has_value());
  EXPECT_FALSE(start_back->cap_sys_admin);
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
  bad_kind[0] = static_cast<uint8_t>(OpKind::Sysfs) + 1;
  EXPECT_FALSE(decode_op(bad_kind).has_value());
  // An object name that would escape the sandbox directory.
  StartRequest start;
  start.objects.push_back({ObjectDecl::Kind::File, "../etc", 0, 0, {}});
  EXPECT_FALSE(decode_start(payload_of(encode_start(start))).has_value());
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
