#include "targets/vm/protocol.h"

#include "trace/bind.h"

#include <cassert>
#include <cstdint>
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
  // LEB128: most numbers on the wire are small, and every byte crosses an
  // emulated 16550 under TCG (docs/vm.md, "Cost").
  void var(uint64_t v) {
    for (; v >= 0x80; v >>= 7) bytes_.push_back(static_cast<uint8_t>(v | 0x80));
    bytes_.push_back(static_cast<uint8_t>(v));
  }
  void bytes(const char* data, size_t n) { bytes_.insert(bytes_.end(), data, data + n); }
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
  uint64_t var() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = u8();
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    bad_ = true;  // more than ten bytes: not a number this writer wrote
    return 0;
  }
  // `n` raw bytes into `out`; false (and bad) when they are not there.
  bool bytes(char* out, size_t n) {
    if (!take(n)) return false;
    std::memcpy(out, bytes_.data() + pos_ - n, n);
    return true;
  }
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
  bool ok() const { return !bad_; }
  void fail() { bad_ = true; }

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

constexpr size_t kVarSlots = kMaxVars;

// A value: flags (bit 0: written with a minus sign, bit 1: a variable slot), then
// the literal or the slot. Exec frames carry literals only (trace/bind.h); a
// RunProgram statement may name a variable, which the agent binds.
void write_value(Writer& w, const Value& v) {
  w.u8(static_cast<uint8_t>((v.negative ? 1 : 0) | (v.is_literal() ? 0 : 2)));
  w.var(v.is_literal() ? v.lit : v.var);
}

Value read_value(Reader& r) {
  const uint8_t flags = r.u8();
  const uint64_t raw = r.var();
  if (flags > 3 || ((flags & 2) && raw >= kVarSlots)) r.fail();
  if (flags & 2) return Value::variable(static_cast<uint8_t>(raw));
  Value v = Value::literal(raw);
  v.negative = (flags & 1) != 0;
  return v;
}

// The name's length, then its bytes up to the last non-zero one: exact (a
// kernel's lo_file_name may hold bytes past its NUL) and short on the wire.
void write_name(Writer& w, const Name64& name) {
  size_t used = name.bytes.size();
  while (used > 0 && name.bytes[used - 1] == 0) --used;
  w.u8(name.len);
  w.u8(static_cast<uint8_t>(used));
  w.bytes(name.bytes.data(), used);
}

Name64 read_name(Reader& r) {
  Name64 name;
  name.len = r.u8();
  const size_t used = r.u8();
  if (used > name.bytes.size())
    r.fail();
  else
    r.bytes(name.bytes.data(), used);
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

namespace {

void write_start(Writer& w, const StartRequest& request) {
  assert(request.objects.size() <= static_cast<size_t>(kMaxObjects));
  w.u8((request.cap_sys_admin ? 1 : 0) | (request.cgroup ? 2 : 0));
  w.u8(static_cast<uint8_t>(request.objects.size()));
  for (const ObjectDecl& o : request.objects) {
    w.u8(static_cast<uint8_t>(o.kind));
    w.str(o.name);
    w.u64(o.size);
    w.u8(o.fill);
    w.u8(o.mbr.count);
    for (uint8_t i = 0; i < o.mbr.count; ++i) {
      w.u32(o.mbr.entry[i].start);
      w.u32(o.mbr.entry[i].size);
    }
  }
}

bool read_start(Reader& r, StartRequest& request) {
  const uint8_t flags = r.u8();
  if (flags > 3) return false;
  request.cap_sys_admin = (flags & 1) != 0;
  request.cgroup = (flags & 2) != 0;
  size_t count = r.u8();
  if (count > static_cast<size_t>(kMaxObjects)) return false;
  for (size_t i = 0; i < count; ++i) {
    ObjectDecl o;
    o.kind = r.enumeration(ObjectDecl::Kind::Dir);
    o.name = r.str();
    o.size = r.u64();
    o.fill = r.u8();
    o.mbr.count = r.u8();
    if (o.mbr.count > kMaxPartitions) return false;
    for (uint8_t k = 0; k < o.mbr.count; ++k) {
      o.mbr.entry[k].start = r.u32();
      o.mbr.entry[k].size = r.u32();
    }
    // Names become paths in the guest: only the language's own name shape.
    if (o.name.empty() || o.name.find('/') != std::string::npos || o.name[0] == '.') return false;
    request.objects.push_back(std::move(o));
  }
  return r.ok();
}

void write_reply(Writer& w, const Reply& reply) {
  w.u8(reply.ok ? 1 : 0);
  w.str(reply.message);
}

Reply read_reply(Reader& r) {
  Reply reply;
  reply.ok = r.u8() != 0;
  reply.message = r.str();
  return reply;
}

void write_op(Writer& w, const Op& op) {
  w.u8(static_cast<uint8_t>(op.kind));
  w.u8(static_cast<uint8_t>(op.node));
  w.u8(op.object);
  w.u8(static_cast<uint8_t>(op.access));
  w.u8(op.open_flags);
  write_value(w, op.subject);
  w.u8(static_cast<uint8_t>(op.req));
  w.var(op.raw_req);
  w.u8(static_cast<uint8_t>(op.arg_kind));
  write_value(w, op.arg);
  w.u16(op.fields.present);
  for (int i = 0; i < kFieldCount; ++i)  // absent fields are never read
    if (op.fields.has(static_cast<Field>(i)))
      write_value(w, op.fields.value[static_cast<size_t>(i)]);
  write_name(w, op.fields.name);
  write_value(w, op.offset);
  w.var(op.length);
  w.var(op.seed);
  w.u8(static_cast<uint8_t>(op.attr));
  w.u8(op.falloc_mode);
  w.u8(op.part);
}

bool read_op(Reader& r, Op& op) {
  op.kind = r.enumeration(OpKind::Uevents);
  op.node = r.enumeration(Node::Dir);
  op.object = r.u8();
  op.access = r.enumeration(Access::Rw);
  op.open_flags = r.u8();
  op.subject = read_value(r);
  op.req = r.enumeration(Req::Unknown);
  op.raw_req = r.var();
  op.arg_kind = r.enumeration(ArgKind::Fault);
  op.arg = read_value(r);
  op.fields.present = r.u16();
  if (op.fields.present >> kFieldCount) return false;
  for (int i = 0; i < kFieldCount; ++i)
    if (op.fields.has(static_cast<Field>(i)))
      op.fields.value[static_cast<size_t>(i)] = read_value(r);
  op.fields.name = read_name(r);
  op.offset = read_value(r);
  op.length = r.var();
  const uint64_t seed = r.var();
  op.seed = static_cast<uint32_t>(seed);
  if (seed > UINT32_MAX) return false;
  op.attr = r.enumeration(SysAttr::PartPartition);
  op.falloc_mode = r.u8();
  op.part = r.u8();
  const uint64_t max_length =
      op.kind == OpKind::Fallocate ? uint64_t{INT64_MAX} : uint64_t{kMaxIoLength};
  return r.ok() && op.length <= max_length && op.fields.name.len <= kNameSize &&
         (op.falloc_mode & ~kFallocFlagsAll) == 0 && op.part <= kMaxPartitions;
}

// u8 count, u8 lost, then per event: u8 action, u8 detail, u8 part, var device.
void write_uevents(Writer& w, const UeventList& list) {
  w.u8(list.count);
  w.u8(list.lost);
  for (uint8_t i = 0; i < list.count && i < kMaxUevents; ++i) {
    const Uevent& e = list.event[i];
    w.u8(static_cast<uint8_t>(e.action));
    w.u8(static_cast<uint8_t>(e.detail));
    w.u8(e.part);
    w.var(e.device);
  }
}

bool read_uevents(Reader& r, UeventList& list) {
  list = UeventList{};
  const uint8_t count = r.u8();
  list.lost = r.u8();
  if (count > kMaxUevents || list.lost > 1) return false;
  for (uint8_t i = 0; i < count; ++i) {
    Uevent e;
    e.action = r.enumeration(UeventAction::Change);
    e.detail = r.enumeration(UeventDetail::MediaChange);
    e.part = r.u8();
    const uint64_t device = r.var();
    if (device > UINT32_MAX) return false;
    e.device = static_cast<uint32_t>(device);
    list.push(e);
  }
  return r.ok();
}

// Only what the outcome's kind carries: a status for Status, a digest for Data,
// a text for Text, the events for Uevents (the comparison looks at nothing else).
void write_outcome(Writer& w, const Outcome& o) {
  w.u8(static_cast<uint8_t>(o.kind));
  w.u8(static_cast<uint8_t>(o.role));
  w.var(static_cast<uint32_t>(o.err));
  w.var(static_cast<uint64_t>(o.value));
  if (o.kind == Outcome::Kind::Status) {
    const StatusInfo& s = o.status;
    for (uint64_t v : {s.device, s.inode, s.rdevice, s.offset, s.sizelimit}) w.var(v);
    for (uint32_t v : {s.number, s.encrypt_type, s.encrypt_key_size, s.flags}) w.var(v);
    write_name(w, s.name);
  }
  if (o.kind == Outcome::Kind::Data) w.u64(o.digest);
  if (o.kind == Outcome::Kind::Text) w.str(o.text_view());
  if (o.kind == Outcome::Kind::Uevents) write_uevents(w, o.uevents);
}

bool read_outcome(Reader& r, Outcome& o) {
  o.kind = r.enumeration(Outcome::Kind::Skipped);
  o.role = r.enumeration(ValueRole::DevIndex);
  o.err = static_cast<int32_t>(static_cast<uint32_t>(r.var()));
  o.value = static_cast<int64_t>(r.var());
  StatusInfo& s = o.status;
  if (o.kind == Outcome::Kind::Status) {
    for (uint64_t* v : {&s.device, &s.inode, &s.rdevice, &s.offset, &s.sizelimit}) *v = r.var();
    for (uint32_t* v : {&s.number, &s.encrypt_type, &s.encrypt_key_size, &s.flags})
      *v = static_cast<uint32_t>(r.var());
    s.name = read_name(r);
  }
  if (o.kind == Outcome::Kind::Data) o.digest = r.u64();
  if (o.kind == Outcome::Kind::Uevents && !read_uevents(r, o.uevents)) return false;
  std::string text = o.kind == Outcome::Kind::Text ? r.str() : std::string();
  if (text.size() >= static_cast<size_t>(kMaxTextSize) || s.name.len > kNameSize) return false;
  o.set_text(text);
  return r.ok();
}

}  // namespace

std::vector<uint8_t> encode_start(const StartRequest& request) {
  Writer w(FrameType::Start);
  write_start(w, request);
  return w.finish();
}

std::optional<StartRequest> decode_start(std::span<const uint8_t> payload) {
  Reader r(payload);
  StartRequest request;
  if (!read_start(r, request)) return std::nullopt;
  return finished(r, request);
}

std::vector<uint8_t> encode_reply(FrameType type, const Reply& reply) {
  assert(type == FrameType::Started || type == FrameType::ResetDone);
  Writer w(type);
  write_reply(w, reply);
  return w.finish();
}

std::optional<Reply> decode_reply(std::span<const uint8_t> payload) {
  Reader r(payload);
  return finished(r, read_reply(r));
}

std::vector<uint8_t> encode_op(const Op& op) {
  assert(op_is_literal(op));  // targets only ever see literals (trace/bind.h)
  Writer w(FrameType::Exec);
  write_op(w, op);
  return w.finish();
}

std::optional<Op> decode_op(std::span<const uint8_t> payload) {
  Reader r(payload);
  Op op;
  if (!read_op(r, op) || !op_is_literal(op)) return std::nullopt;
  return finished(r, op);
}

std::vector<uint8_t> encode_outcome(const Outcome& o) {
  Writer w(FrameType::Result);
  write_outcome(w, o);
  return w.finish();
}

std::optional<Outcome> decode_outcome(std::span<const uint8_t> payload) {
  Reader r(payload);
  Outcome o;
  if (!read_outcome(r, o)) return std::nullopt;
  return finished(r, o);
}

std::vector<uint8_t> encode_program(const ProgramRequest& request) {
  assert(request.statements.size() <= kVarSlots);
  Writer w(FrameType::RunProgram);
  write_start(w, request.start);
  w.u8(static_cast<uint8_t>(request.statements.size()));
  for (const ProgramStatement& s : request.statements) {
    write_op(w, s.op);
    w.u16(static_cast<uint16_t>(s.bind));
    w.u8(s.thread);
    w.u8(static_cast<uint8_t>(s.kind));
  }
  return w.finish();
}

std::optional<ProgramRequest> decode_program(std::span<const uint8_t> payload) {
  Reader r(payload);
  ProgramRequest request;
  if (!read_start(r, request.start)) return std::nullopt;
  const size_t count = r.u8();
  if (count > kVarSlots) return std::nullopt;
  request.statements.resize(count);
  for (ProgramStatement& s : request.statements) {
    if (!read_op(r, s.op)) return std::nullopt;
    s.bind = static_cast<int16_t>(r.u16());
    if (s.bind < -1 || s.bind >= kMaxVars) return std::nullopt;
    s.thread = r.u8();
    if (s.thread > kMaxThreads) return std::nullopt;
    const uint8_t kind = r.u8();
    if (kind > static_cast<uint8_t>(ThreadKind::Process)) return std::nullopt;
    s.kind = static_cast<ThreadKind>(kind);
  }
  return finished(r, std::move(request));
}

std::vector<uint8_t> encode_program_reply(const ProgramReply& reply) {
  assert(reply.outcomes.size() <= kVarSlots);
  assert(reply.intervals.size() == reply.outcomes.size());
  Writer w(FrameType::ProgramDone);
  write_reply(w, reply.started);
  w.u8(static_cast<uint8_t>(reply.outcomes.size()));
  for (size_t i = 0; i < reply.outcomes.size(); ++i) {
    write_outcome(w, reply.outcomes[i]);
    w.i64(reply.intervals[i].start_ns);
    w.i64(reply.intervals[i].end_ns);
  }
  w.u32(reply.taint_step);
  w.u64(reply.taint);
  write_reply(w, reply.reset);
  w.u32(reply.start_us);
  w.u32(reply.run_us);
  w.u32(reply.reset_us);
  return w.finish();
}

std::optional<ProgramReply> decode_program_reply(std::span<const uint8_t> payload) {
  Reader r(payload);
  ProgramReply reply;
  reply.started = read_reply(r);
  const size_t count = r.u8();
  if (count > kVarSlots) return std::nullopt;
  reply.outcomes.resize(count);
  reply.intervals.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (!read_outcome(r, reply.outcomes[i])) return std::nullopt;
    reply.intervals[i].start_ns = r.i64();
    reply.intervals[i].end_ns = r.i64();
    if (reply.intervals[i].start_ns > reply.intervals[i].end_ns) return std::nullopt;
  }
  reply.taint_step = r.u32();
  reply.taint = r.u64();
  reply.reset = read_reply(r);
  reply.start_us = r.u32();
  reply.run_us = r.u32();
  reply.reset_us = r.u32();
  return finished(r, std::move(reply));
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
    case FrameType::ProgramDone:
      return "ProgramDone";
    case FrameType::RunProgram:
      return "RunProgram";
  }
  return "unknown";
}

}  // namespace loopcheck::vm
