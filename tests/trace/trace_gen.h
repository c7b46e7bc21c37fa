// RapidCheck generator of random *valid* Traces (ones parse_trace accepts and
// produces exactly), and a comparison that ignores source positions. Reusable
// by any part's tests: `rc::Gen<Trace> g = loopcheck::testgen::gen_trace();`.
//
// "Exactly" matters: the generator leaves every Op member that a statement's
// text does not determine at its default, as the parser does.
#pragma once

#include <rapidcheck.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "trace/names.h"
#include "trace/ops.h"
#include "trace/partition_table.h"
#include "trace/trace.h"

namespace loopcheck::testgen {

// A literal for a value range [lo, hi] expressed as int64 bounds.
inline Value gen_signed(int64_t lo, int64_t hi) {
  return Value::signed_literal(*rc::gen::inRange<int64_t>(lo, hi == INT64_MAX ? hi : hi + 1));
}
inline Value gen_unsigned(uint64_t hi) {
  // Mix small numbers (the common case) with the whole range, ends included.
  uint64_t v = *rc::gen::oneOf(rc::gen::inRange<uint64_t>(0, 4097),
                               rc::gen::element<uint64_t>(0, hi), rc::gen::arbitrary<uint64_t>());
  return Value::literal(hi == UINT64_MAX ? v : v % (hi + 1));
}

struct GenState {
  Trace t;
  std::vector<uint8_t> bound_slots;  // slots bound by earlier statements
};

// A value of a range, or (when allowed and possible) a variable bound earlier.
inline Value gen_value(GenState& g, bool allow_var, bool is_signed, int64_t lo, int64_t hi_s,
                       uint64_t hi_u) {
  if (allow_var && !g.bound_slots.empty() && *rc::gen::inRange(0, 3) == 0)
    return Value::variable(*rc::gen::elementOf(g.bound_slots));
  return is_signed ? gen_signed(lo, hi_s) : gen_unsigned(hi_u);
}

inline Name64 gen_name64(size_t max_len) {
  Name64 n;
  auto s = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  if (s.size() > max_len) s.resize(max_len);
  std::copy(s.begin(), s.end(), n.bytes.begin());
  n.len = static_cast<uint8_t>(s.size());
  return n;
}

inline StructFields gen_struct(GenState& g, StructKind st, bool expectation) {
  StructFields f;
  bool legacy = st == StructKind::LoopInfo && !expectation;
  for (int i = 0; i < kFieldCount; ++i) {
    auto field = static_cast<Field>(i);
    StructKind shape = expectation ? StructKind::LoopInfo64 : st;
    if (!struct_has_field(shape, field) || !*rc::gen::arbitrary<bool>()) continue;
    if (field == Field::Name) {
      f.present |= field_bit(Field::Name);
      f.name = gen_name64(kNameSize);
      continue;
    }
    bool wide = field == Field::Offset || field == Field::Sizelimit || field == Field::Device ||
                field == Field::Inode || field == Field::Rdevice;
    bool u32 = field == Field::Fd || field == Field::BlockSize || !wide;
    Value v;
    if (legacy && (field == Field::Offset || u32))
      v = gen_value(g, !expectation, true, INT32_MIN, INT32_MAX, 0);
    else
      v = gen_value(g, !expectation, false, 0, 0, u32 ? 0xffffffffull : UINT64_MAX);
    f.set(field, v);
  }
  return f;
}

inline DataDesc gen_data(uint64_t count) {
  DataDesc d;
  int n = *rc::gen::inRange(1, kMaxDataSegments + 1);
  bool open_ended = *rc::gen::arbitrary<bool>();
  uint64_t left = count;
  for (int i = 0; i < n && left > 0; ++i) {
    DataSegment s;
    s.kind = *rc::gen::element(DataSegment::Kind::Zero, DataSegment::Kind::Fill,
                               DataSegment::Kind::Pattern, DataSegment::Kind::Bytes);
    if (s.kind == DataSegment::Kind::Fill) s.fill = *rc::gen::arbitrary<uint8_t>();
    if (s.kind == DataSegment::Kind::Pattern) {
      s.seed = *rc::gen::arbitrary<uint32_t>();
      s.index = *rc::gen::inRange<uint64_t>(0, 1u << 20);
    }
    if (s.kind == DataSegment::Kind::Bytes) s.digest = *rc::gen::arbitrary<uint64_t>();
    bool last = i == n - 1 || left == 1;
    if (last && open_ended) {
      s.length = 0;  // the rest (left >= 1 here)
      left = 0;
    } else if (last) {
      s.length = left;
      left = 0;
    } else {
      s.length = *rc::gen::inRange<uint64_t>(1, left);  // leaves >= 1 for the next run
      left -= s.length;
    }
    d.seg[d.count++] = s;
  }
  return d;
}

// A `uevents` expectation: up to kMaxUevents events; only a whole disk's change
// carries a detail, only a partition has a number.
inline UeventList gen_uevents() {
  UeventList list;
  const int count = *rc::gen::inRange(0, kMaxUevents + 1);
  for (int i = 0; i < count; ++i) {
    Uevent e;
    e.action = static_cast<UeventAction>(*rc::gen::inRange(0, 3));
    e.device = *rc::gen::inRange<uint32_t>(0, 1u << 20);
    e.part = *rc::gen::arbitrary<bool>() ? 0 : *rc::gen::inRange<uint8_t>(1, 255);
    if (e.action == UeventAction::Change && e.part == 0)
      e.detail = static_cast<UeventDetail>(*rc::gen::inRange(0, 3));
    list.push(e);
  }
  return list;
}

inline ExpectAlt gen_alt(GenState& g, const Op& op) {
  std::vector<ExpectAlt::Kind> kinds{ExpectAlt::Kind::Errno};
  if (op.kind == OpKind::Sysfs) {
    kinds.push_back(ExpectAlt::Kind::Text);
  } else if (op.kind == OpKind::Uevents) {
    kinds.push_back(ExpectAlt::Kind::Uevents);
  } else {
    kinds.push_back(ExpectAlt::Kind::Value);
  }
  if (op.kind == OpKind::Pread) kinds.push_back(ExpectAlt::Kind::Data);
  if (op.kind == OpKind::Ioctl && req_arg(op.req) == ReqArg::StructOut &&
      !pointer_faults(op.arg_kind))
    kinds.push_back(ExpectAlt::Kind::Status);
  ExpectAlt a;
  a.kind = *rc::gen::elementOf(kinds);
  switch (a.kind) {
    case ExpectAlt::Kind::Value:
      a.value = gen_signed(INT64_MIN, INT64_MAX).as_signed();
      // A count range MIN..MAX (the model's count envelope), on reads and writes.
      if ((op.kind == OpKind::Pread || op.kind == OpKind::Pwrite) && *rc::gen::arbitrary<bool>()) {
        a.ranged = true;
        a.value = *rc::gen::inRange<int64_t>(1, INT64_MAX);
        a.range_min = *rc::gen::inRange<int64_t>(0, a.value);
      }
      break;
    case ExpectAlt::Kind::Errno:
      a.err = *rc::gen::inRange(1, 4096);
      break;
    case ExpectAlt::Kind::Status:
      a.fields = gen_struct(g, StructKind::LoopInfo64, true);
      break;
    case ExpectAlt::Kind::Data:
      a.value = *rc::gen::inRange<int64_t>(1, 1 << 20);
      a.has_data = true;
      a.data = gen_data(static_cast<uint64_t>(a.value));
      break;
    case ExpectAlt::Kind::Text: {
      auto s = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
      if (s.size() > kMaxTextSize - 1) s.resize(kMaxTextSize - 1);
      a.text = s;
      break;
    }
    case ExpectAlt::Kind::Uevents:
      a.uevents = gen_uevents();
      break;
  }
  return a;
}

// `null` or `fault`: a pointer the kernel cannot copy through.
inline ArgKind gen_bad_pointer() {
  return *rc::gen::arbitrary<bool>() ? ArgKind::Null : ArgKind::Fault;
}

inline Op gen_ioctl(GenState& g, Value fd) {
  Op op;
  op.kind = OpKind::Ioctl;
  op.subject = fd;
  op.req = static_cast<Req>(*rc::gen::inRange(0, kReqCount));
  if (op.req == Req::Unknown) {
    // A request number no Req names (the parser normalises named ones).
    do {
      op.raw_req = *rc::gen::inRange<uint64_t>(0, 0x100000000ull);
    } while (req_from_number(op.raw_req) != Req::Unknown);
  }
  auto number_arg = [&](bool as_int) {
    op.arg_kind = ArgKind::Number;
    op.arg = as_int ? gen_value(g, true, true, INT32_MIN, INT32_MAX, 0)
                    : (*rc::gen::arbitrary<bool>() ? gen_value(g, true, false, 0, 0, UINT64_MAX)
                                                   : gen_value(g, true, true, INT64_MIN, -1, 0));
  };
  switch (req_arg(op.req)) {
    case ReqArg::Ignored:
      if (*rc::gen::arbitrary<bool>()) number_arg(false);
      break;
    case ReqArg::Number:
      if (op.req != Req::Unknown || *rc::gen::arbitrary<bool>()) number_arg(false);
      break;
    case ReqArg::Int:
      number_arg(true);
      break;
    case ReqArg::Out:
      break;
    case ReqArg::StructIn:
      if (*rc::gen::inRange(0, 4) == 0) {
        op.arg_kind = gen_bad_pointer();
      } else {
        op.arg_kind = ArgKind::Struct;
        op.fields = gen_struct(g, req_struct(op.req), false);
      }
      break;
    case ReqArg::StructOut:
      if (*rc::gen::arbitrary<bool>()) op.arg_kind = gen_bad_pointer();
      break;
    case ReqArg::Range:
      if (*rc::gen::inRange(0, 4) == 0) {
        op.arg_kind = gen_bad_pointer();
      } else {
        op.arg_kind = ArgKind::Range;
        op.offset = Value::literal(*rc::gen::arbitrary<uint64_t>());
        op.arg = Value::literal(*rc::gen::arbitrary<uint64_t>());
      }
      break;
  }
  return op;
}

// A partition number (1..4), or 0 (the whole disk) half the time unless `needed`.
inline uint8_t gen_part(bool needed) {
  if (!needed && *rc::gen::arbitrary<bool>()) return 0;
  return static_cast<uint8_t>(*rc::gen::inRange(1, kMaxPartitions + 1));
}

inline Op gen_io(Value fd) {
  Op op;
  op.kind = *rc::gen::arbitrary<bool>() ? OpKind::Pread : OpKind::Pwrite;
  op.subject = fd;
  op.offset = gen_signed(INT64_MIN, INT64_MAX);
  op.length = *rc::gen::inRange<uint64_t>(0, kMaxIoLength + 1);
  if (op.kind == OpKind::Pwrite) op.seed = *rc::gen::arbitrary<uint32_t>();
  return op;
}

inline Op gen_op(GenState& g) {
  auto fd = [&] { return gen_value(g, true, true, INT32_MIN, INT32_MAX, 0); };
  auto index = [&] { return gen_value(g, true, false, 0, 0, INT32_MAX); };
  std::vector<int> files, dirs;
  for (size_t i = 0; i < g.t.objects.size(); ++i)
    (g.t.objects[i].kind == ObjectDecl::Kind::File ? files : dirs).push_back(static_cast<int>(i));
  for (;;) {
    Op op;
    switch (*rc::gen::inRange(0, 13)) {
      case 0:
      case 1: {
        op.kind = OpKind::Open;
        op.node = static_cast<Node>(*rc::gen::inRange(0, 4));
        if (op.node == Node::File && files.empty()) continue;
        if (op.node == Node::Dir && dirs.empty()) continue;
        if (op.node == Node::Loop) op.subject = index();
        if (op.node == Node::Loop) op.part = gen_part(false);
        if (op.node == Node::File) op.object = static_cast<uint8_t>(*rc::gen::elementOf(files));
        if (op.node == Node::Dir) op.object = static_cast<uint8_t>(*rc::gen::elementOf(dirs));
        op.access = static_cast<Access>(*rc::gen::inRange(0, 3));
        op.open_flags = static_cast<uint8_t>(*rc::gen::inRange(0, 16));
        return op;
      }
      case 2:
        op.kind = OpKind::Close;
        op.subject = fd();
        return op;
      case 3:
        op.kind = OpKind::Fsync;
        op.subject = fd();
        return op;
      case 4:
      case 5:
        return gen_ioctl(g, fd());
      case 6:
      case 7:
        return gen_io(fd());
      case 12:
        return op_uevents();
      case 11:
        if (files.empty()) continue;
        op.kind = OpKind::Allocated;
        op.object = static_cast<uint8_t>(*rc::gen::elementOf(files));
        return op;
      case 8:
        if (files.empty()) continue;
        op.kind = OpKind::Truncate;
        op.object = static_cast<uint8_t>(*rc::gen::elementOf(files));
        op.offset = Value::literal(gen_unsigned(INT64_MAX).lit);
        return op;
      case 9:
        op.kind = OpKind::Fallocate;
        op.subject = fd();
        op.offset = gen_signed(INT64_MIN, INT64_MAX);
        op.length = gen_unsigned(INT64_MAX).lit;
        op.falloc_mode = static_cast<uint8_t>(*rc::gen::inRange(0, kFallocFlagsAll + 1));
        return op;
      default:
        op.kind = OpKind::Sysfs;
        op.subject = index();
        op.attr = static_cast<SysAttr>(*rc::gen::inRange(0, kSysAttrCount));
        // A partition's attributes need `part K`; size and ro take it or not.
        if (sysattr_of_partition(op.attr)) op.part = gen_part(!sysattr_of_disk(op.attr));
        return op;
    }
  }
}

inline void gen_env(Trace& t) {
  for (int k = 0; k < kEnvKeyCount; ++k) {
    if (!*rc::gen::arbitrary<bool>()) continue;
    t.env_given |= uint16_t(1u << k);
    uint32_t v = *rc::gen::arbitrary<uint32_t>();
    switch (static_cast<EnvKey>(k)) {
      case EnvKey::Precreated:
        t.env.precreated = v;
        break;
      case EnvKey::CapSysAdmin:
        t.env.cap_sys_admin = v & 1;
        break;
      case EnvKey::DioAlign:
        t.env.dio_align = v;
        break;
      case EnvKey::BdevBlockSize:
        t.env.bdev_block_size = v;
        break;
      case EnvKey::Thp:
        t.env.thp = v & 1;
        break;
      case EnvKey::MaxPart:
        t.env.max_part = v;
        break;
      case EnvKey::Rotational:
        t.env.rotational = v & 1;
        break;
      case EnvKey::Cgroup:
        t.env.cgroup = v & 1;
        break;
      case EnvKey::MsdosPartitions:
        t.env.msdos_partitions = v & 1;
        break;
    }
  }
}

// One outcome of an `allow` line.
inline TupleOutcome gen_tuple_outcome() {
  TupleOutcome o;
  o.kind =
      *rc::gen::element(TupleOutcome::Kind::Any, TupleOutcome::Kind::Value, TupleOutcome::Kind::Fd,
                        TupleOutcome::Kind::Dev, TupleOutcome::Kind::Errno,
                        TupleOutcome::Kind::Status, TupleOutcome::Kind::Text);
  if (o.kind == TupleOutcome::Kind::Value) o.value = gen_signed(-4096, INT64_MAX).as_signed();
  if (o.kind == TupleOutcome::Kind::Errno)
    o.err = *rc::gen::element(EBUSY, ENXIO, EBADF, EINVAL, ENODEV, EIO);
  return o;
}

// A concurrent block at the end of the trace (version 2): 2..4 threads of 1..4
// statements, reading only variables bound before it, binding none (a thread's
// own bindings are covered by the hand-written tests).
inline void gen_block(GenState& g) {
  Trace& t = g.t;
  t.version = 2;
  ConcurrentBlock b;
  b.first = static_cast<uint32_t>(t.stmts.size());
  b.repeat = *rc::gen::inRange<uint32_t>(1, 1001);
  const int threads = *rc::gen::inRange(2, kMaxThreads + 1);
  for (int k = 0; k < threads; ++k) {
    b.threads.push_back("t" + std::to_string(k));
    b.kinds.push_back(ThreadKind::Thread);  // process threads: hand-written tests
    const int n = *rc::gen::inRange(1, 5);
    for (int i = 0; i < n; ++i) {
      Statement s;
      do {
        s.op = gen_op(g);
      } while (s.op.kind == OpKind::Uevents);  // never inside a block (validate_block.cpp)
      s.thread = static_cast<uint8_t>(k + 1);
      t.stmts.push_back(s);
    }
  }
  b.end = static_cast<uint32_t>(t.stmts.size());
  const int lines = *rc::gen::inRange(0, 4);
  for (int l = 0; l < lines; ++l) {
    OutcomeTuple tuple;
    tuple.count = static_cast<uint8_t>(b.end - b.first);
    for (size_t i = 0; i < tuple.count; ++i) tuple.at[i] = gen_tuple_outcome();
    b.allowed.push_back(tuple);
  }
  t.blocks.push_back(b);
}

inline rc::Gen<Trace> gen_trace() {
  return rc::gen::exec([] {
    GenState g;
    Trace& t = g.t;
    if (*rc::gen::arbitrary<bool>())
      t.profile = *rc::gen::element<std::string>("linux-6.1", "linux-6.18", "x");
    gen_env(t);
    int nobj = *rc::gen::inRange(0, 5);
    for (int i = 0; i < nobj; ++i) {
      ObjectDecl o;
      o.kind = *rc::gen::element(ObjectDecl::Kind::File, ObjectDecl::Kind::Dir);
      o.name = "obj" + std::to_string(i);
      if (o.kind == ObjectDecl::Kind::File) {
        o.size = gen_unsigned(INT64_MAX).lit;
        o.fill = *rc::gen::arbitrary<uint8_t>();
        if (o.size >= kMbrBytes && *rc::gen::arbitrary<bool>()) {
          o.mbr.count = static_cast<uint8_t>(*rc::gen::inRange(1, kMaxPartitions + 1));
          for (uint8_t k = 0; k < o.mbr.count; ++k)
            o.mbr.entry[k] = {*rc::gen::arbitrary<uint32_t>(), *rc::gen::arbitrary<uint32_t>()};
        }
      }
      t.objects.push_back(o);
    }
    int nstmt = *rc::gen::inRange(0, 24);
    for (int i = 0; i < nstmt; ++i) {
      Statement s;
      s.op = gen_op(g);
      if ((s.op.kind == OpKind::Open || s.op.kind == OpKind::Ioctl) &&
          *rc::gen::arbitrary<bool>()) {
        // Rebind an existing name sometimes: the same slot is reused.
        if (!t.vars.empty() && *rc::gen::inRange(0, 3) == 0) {
          s.bind = static_cast<int16_t>(*rc::gen::inRange<size_t>(0, t.vars.size()));
        } else if (t.vars.size() < static_cast<size_t>(kMaxVars)) {
          s.bind = static_cast<int16_t>(t.vars.size());
          t.vars.push_back("v" + std::to_string(t.vars.size()));
        }
      }
      int nalt = *rc::gen::inRange(0, kMaxAlternatives + 1);
      for (int a = 0; a < nalt; ++a) s.expect.alt[s.expect.count++] = gen_alt(g, s.op);
      if (s.bind >= 0) {
        auto slot = static_cast<uint8_t>(s.bind);
        if (std::find(g.bound_slots.begin(), g.bound_slots.end(), slot) == g.bound_slots.end())
          g.bound_slots.push_back(slot);
      }
      t.stmts.push_back(s);
    }
    if (*rc::gen::inRange(0, 3) == 0) gen_block(g);
    return t;
  });
}

// Equality of traces as the language sees them: positions and source ignored.
inline bool same_trace(const Trace& a, const Trace& b) {
  if (a.version != b.version || a.profile != b.profile || !(a.env == b.env) ||
      a.env_given != b.env_given || a.vars != b.vars || a.objects.size() != b.objects.size() ||
      a.stmts.size() != b.stmts.size())
    return false;
  for (size_t i = 0; i < a.objects.size(); ++i) {
    ObjectDecl x = a.objects[i], y = b.objects[i];
    x.pos = y.pos = {};
    if (!(x == y)) return false;
  }
  for (size_t i = 0; i < a.stmts.size(); ++i) {
    const Statement &x = a.stmts[i], &y = b.stmts[i];
    if (x.bind != y.bind || x.thread != y.thread || !(x.op == y.op) || !(x.expect == y.expect))
      return false;
  }
  if (a.blocks.size() != b.blocks.size()) return false;
  for (size_t i = 0; i < a.blocks.size(); ++i) {
    ConcurrentBlock x = a.blocks[i], y = b.blocks[i];
    x.pos = y.pos = x.end_pos = y.end_pos = {};
    if (!(x == y)) return false;
  }
  return true;
}

}  // namespace loopcheck::testgen
