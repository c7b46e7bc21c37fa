#include "targets/vm/protocol.h"

#include <cassert>
#include <cstring>

namespace loopcheck::vm {
namespace {

// Little-endian, fixed-width writer into one frame.
class Writer {
 public:
  explicit Writer(FrameType type) {
    bytes_.resize(kFrameHeaderSize);
    bytes_[4] = static_cast<uint8_t>(type);
  }
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u16(uint16_t v) { uint_le(v, 2); }
  void u32(uint32_t v) { uint_le(v, 4); }
  void u64(uint64_t v) { uint_le(v, 8); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void str(std::string_view s) {
    size_t n = std::min(s.size(), kMaxMessageSize);
    u16(static_cast<uint16_t>(n));
    bytes_.insert(bytes_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
  }
  std::vector<uint8_t> finish() {
    size_t payload = bytes_.size() - kFrameHeaderSize;
    assert(payload <= kMaxFramePayload);
    for (int i = 0; i < 4; ++i)
      bytes_[static_cast<size_t>(i)] = static_cast<uint8_t>(payload >> (8 * i));
    return std::move(bytes_);
  }

 private:
  void uint_le(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

// The matching reader; any read past the end marks the payload bad.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint8_t u8() { return static_cast<uint8_t>(uint_le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(uint_le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(uint_le(4)); }
  uint64_t u64() { return uint_le(8); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  std::string str() {
    size_t n = u16();
    if (n > kMaxMessageSize || !take(n)) return {};
    return std::string(reinterpret_cast<const char*>(bytes_.data() + pos_ - n), n);
  }
  // An enum stored as u8, checked against its last valid value.
  template <typename E>
  E enumeration(E last) {
    uint8_t v = u8();
    if (v > static_cast<uint8_t>(last)) bad_ = true;
    return static_cast<E>(v);
  }
  bool done_cleanly() const { return !bad_ && pos_ == bytes_.size(); }

 private:
  bool take(size_t n) {
    if (bad_ || bytes_.size() - pos_ < n) {
      bad_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }
  uint64_t uint_le(int width) {
    if (!take(static_cast<size_t>(width))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < width; ++i)
      v |= uint64_t{bytes_[pos_ - static_cast<size_t>(width) + static_cast<size_t>(i)]} << (8 * i);
    return v;
  }
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool bad_ = false;
};

void write_value(Writer& w, const Value& v) {
  // Targets only ever see literals (trace/bind.h); a variable here is a bug.
  assert(v.is_literal());
  w.u8(v.negative ? 1 : 0);
  w.u64(v.lit);
}

Value read_value(Reader& r) {
  bool negative = r.u8() != 0;
  Value v = Value::literal(r.u64());
  v.negative = negative;
  return v;
}

void write_name(Writer& w, const Name64& name) {
  w.u8(name.len);
  for (char c : name.bytes) w.u8(static_cast<uint8_t>(c));
}

Name64 read_name(Reader& r) {
  Name64 name;
  name.len = r.u8();
  for (char& c : name.bytes) c = static_cast<char>(r.u8());
  return name;
}

template <typename T>
std::optional<T> finished(const Reader& r, T value) {
  if (!r.done_cleanly()) return std::nullopt;
  return value;
}

}  // namespace

std::vector<uint8_t> encode_ready(const ReadyInfo& info) {
  Writer w(FrameType::Ready);
  w.u32(info.protocol_version);
  w.str(info.kernel_release);
  w.str(info.backing_fs);
  w.u32(info.dio_align);
  w.u32(info.bdev_block_size);
  return w.finish();
}

std::optional<ReadyInfo> decode_ready(std::span<const uint8_t> payload) {
  Reader r(payload);
  ReadyInfo info;
  info.protocol_version = r.u32();
  info.kernel_release = r.str();
  info.backing_fs = r.str();
  info.dio_align = r.u32();
  info.bdev_block_size = r.u32();
  return finished(r, info);
}

std::vector<uint8_t> encode_start(const StartRequest& request) {
  assert(request.objects.size() <= static_cast<size_t>(kMaxObjects));
  Writer w(FrameType::Start);
  w.u8(request.cap_sys_admin ? 1 : 0);
  w.u8(static_cast<uint8_t>(request.objects.size()));
  for (const ObjectDecl& o : request.objects) {
    w.u8(static_cast<uint8_t>(o.kind));
    w.str(o.name);
    w.u64(o.size);
    w.u8(o.fill);
  }
  return w.finish();
}

std::optional<StartRequest> decode_start(std::span<const uint8_t> payload) {
  Reader r(payload);
  StartRequest request;
  request.cap_sys_admin = r.u8() != 0;
  size_t count = r.u8();
  if (count > static_cast<size_t>(kMaxObjects)) return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    ObjectDecl o;
    o.kind = r.enumeration(ObjectDecl::Kind::Dir);
    o.name = r.str();
    o.size = r.u64();
    o.fill = r.u8();
    // Names become paths in the guest: only the language's own name shape.
    if (o.name.empty() || o.name.find('/') != std::string::npos || o.name[0] == '.')
      return std::nullopt;
    request.objects.push_back(std::move(o));
  }
  return finished(r, request);
}

std::vector<uint8_t> encode_reply(FrameType type, const Reply& reply) {
  assert(type == FrameType::Started || type == FrameType::ResetDone);
  Writer w(type);
  w.u8(reply.ok ? 1 : 0);
  w.str(reply.message);
  return w.finish();
}

std::optional<Reply> decode_reply(std::span<const uint8_t> payload) {
  Reader r(payload);
  Reply reply;
  reply.ok = r.u8() != 0;
  reply.message = r.str();
  return finished(r, reply);
}

std::vector<uint8_t> encode_op(const Op& op) {
  Writer w(FrameType::Exec);
  w.u8(static_cast<uint8_t>(op.kind));
  w.u8(static_cast<uint8_t>(op.node));
  w.u8(op.object);
  w.u8(static_cast<uint8_t>(op.access));
  w.u8(op.open_flags);
  write_value(w, op.subject);
  w.u8(static_cast<uint8_t>(op.req));
  w.u64(op.raw_req);
  w.u8(static_cast<uint8_t>(op.arg_kind));
  write_value(w, op.arg);
  w.u16(op.fields.present);
  for (const Value& v : op.fields.value) write_value(w, v);
  write_name(w, op.fields.name);
  write_value(w, op.offset);
  w.u64(op.length);
  w.u32(op.seed);
  w.u8(static_cast<uint8_t>(op.attr));
  return w.finish();
}

std::optional<Op> decode_op(std::span<const uint8_t> payload) {
  Reader r(payload);
  Op op;
  op.kind = r.enumeration(OpKind::Sysfs);
  op.node = r.enumeration(Node::Dir);
  op.object = r.u8();
  op.access = r.enumeration(Access::Rw);
  op.open_flags = r.u8();
  op.subject = read_value(r);
  op.req = r.enumeration(Req::Unknown);
  op.raw_req = r.u64();
  op.arg_kind = r.enumeration(ArgKind::Null);
  op.arg = read_value(r);
  op.fields.present = r.u16();
  for (Value& v : op.fields.value) v = read_value(r);
  op.fields.name = read_name(r);
  op.offset = read_value(r);
  op.length = r.u64();
  op.seed = r.u32();
  op.attr = r.enumeration(SysAttr::QueueMinimumIoSize);
  if (op.length > kMaxIoLength || op.fields.name.len > kNameSize) return std::nullopt;
  return finished(r, op);
}

std::vector<uint8_t> encode_outcome(const Outcome& o) {
  Writer w(FrameType::Result);
  w.u8(static_cast<uint8_t>(o.kind));
  w.u8(static_cast<uint8_t>(o.role));
  w.u32(static_cast<uint32_t>(o.err));
  w.i64(o.value);
  const StatusInfo& s = o.status;
  w.u64(s.device);
  w.u64(s.inode);
  w.u64(s.rdevice);
  w.u64(s.offset);
  w.u64(s.sizelimit);
  w.u32(s.number);
  w.u32(s.encrypt_type);
  w.u32(s.encrypt_key_size);
  w.u32(s.flags);
  write_name(w, s.name);
  w.u64(o.digest);
  w.str(o.text_view());
  return w.finish();
}

std::optional<Outcome> decode_outcome(std::span<const uint8_t> payload) {
  Reader r(payload);
  Outcome o;
  o.kind = r.enumeration(Outcome::Kind::Skipped);
  o.role = r.enumeration(ValueRole::DevIndex);
  o.err = static_cast<int32_t>(r.u32());
  o.value = r.i64();
  StatusInfo& s = o.status;
  s.device = r.u64();
  s.inode = r.u64();
  s.rdevice = r.u64();
  s.offset = r.u64();
  s.sizelimit = r.u64();
  s.number = r.u32();
  s.encrypt_type = r.u32();
  s.encrypt_key_size = r.u32();
  s.flags = r.u32();
  s.name = read_name(r);
  o.digest = r.u64();
  std::string text = r.str();
  if (text.size() >= static_cast<size_t>(kMaxTextSize) || s.name.len > kNameSize)
    return std::nullopt;
  o.set_text(text);
  return finished(r, o);
}

std::vector<uint8_t> encode_empty(FrameType type) {
  assert(type == FrameType::Reset || type == FrameType::Shutdown);
  return Writer(type).finish();
}

void FrameReader::feed(std::span<const uint8_t> bytes) {
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::optional<Frame> FrameReader::next() {
  if (broken_ || buffered() < kFrameHeaderSize) return std::nullopt;
  const uint8_t* head = buffer_.data() + consumed_;
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= uint32_t{head[i]} << (8 * i);
  if (length > kMaxFramePayload) {
    broken_ = true;
    return std::nullopt;
  }
  if (buffered() < kFrameHeaderSize + length) return std::nullopt;
  Frame frame;
  frame.type = static_cast<FrameType>(head[4]);
  frame.payload.assign(head + kFrameHeaderSize, head + kFrameHeaderSize + length);
  consumed_ += kFrameHeaderSize + length;
  if (consumed_ > 1 << 20) {  // keep the buffer from growing without bound on a long run
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  return frame;
}

std::string_view frame_type_name(FrameType type) {
  switch (type) {
    case FrameType::Ready:
      return "Ready";
    case FrameType::Started:
      return "Started";
    case FrameType::Result:
      return "Result";
    case FrameType::ResetDone:
      return "ResetDone";
    case FrameType::Start:
      return "Start";
    case FrameType::Exec:
      return "Exec";
    case FrameType::Reset:
      return "Reset";
    case FrameType::Shutdown:
      return "Shutdown";
  }
  return "unknown";
}

}  // namespace loopcheck::vm
