// The canonical printer. Every choice here (field order, number spelling, where
// blank lines go) is the canonical form, so changing one changes every stored
// trace's printed form: keep them stable.
#include "trace/print.h"

#include <cassert>

#include <fmt/format.h>

#include "trace/names.h"
#include "trace/partition_table.h"
#include "trace/outcome_tuple.h"

namespace loopcheck {
namespace {

// Sizes of files read better with a suffix; everything else is plain decimal.
std::string format_size(uint64_t v) {
  if (v != 0 && v % (1ull << 30) == 0) return fmt::format("{}G", v >> 30);
  if (v != 0 && v % (1ull << 20) == 0) return fmt::format("{}M", v >> 20);
  if (v != 0 && v % (1ull << 10) == 0) return fmt::format("{}K", v >> 10);
  return fmt::format("{}", v);
}

std::string format_literal(const Value& v) {
  if (v.negative) return fmt::format("{}", v.as_signed());
  return fmt::format("{}", v.lit);
}

std::string format_value(const Trace& t, const Value& v) {
  if (v.is_literal()) return format_literal(v);
  assert(v.var < t.vars.size());
  if (v.var >= t.vars.size()) return fmt::format("unbound_slot_{}", v.var);
  return t.vars[v.var];
}

std::string format_errno(int err) {
  std::string_view n = errno_name(err);
  if (!n.empty()) return std::string(n);
  return fmt::format("errno:{}", err);
}

std::string format_flags_value(const Trace* t, const Value& v) {
  if (!v.is_literal()) return t ? format_value(*t, v) : std::string("?");
  if (v.negative || v.lit > 0xffffffffull) return format_literal(v);
  return format_lo_flags(static_cast<uint32_t>(v.lit));
}

// `t` is null for expectations, whose values are always literals.
std::string format_struct(const Trace* t, const StructFields& f) {
  std::string out = "{";
  for (int i = 0; i < kFieldCount; ++i) {
    auto field = static_cast<Field>(i);
    if (!f.has(field)) continue;
    if (out.size() > 1) out += ' ';
    out += field_name(field);
    out += '=';
    const Value& v = f.value[static_cast<size_t>(i)];
    if (field == Field::Name)
      out += quote_string(f.name.view());
    else if (field == Field::Flags)
      out += format_flags_value(t, v);
    else
      out += t ? format_value(*t, v) : format_literal(v);
  }
  out += '}';
  return out;
}

std::string format_object(const Trace& t, uint8_t object) {
  if (object < t.objects.size()) return t.objects[object].name;
  return fmt::format("unknown_object_{}", object);
}

namespace {

std::string format_ioctl(const Trace& t, const Op& op) {
  std::string out = "ioctl " + format_value(t, op.subject) + ' ';
  if (op.req == Req::Unknown)
    out += fmt::format("{:#x}", op.raw_req);
  else
    out += req_name(op.req);
  switch (op.arg_kind) {
    case ArgKind::None:
      break;
    case ArgKind::Number:
      out += ' ' + format_value(t, op.arg);
      break;
    case ArgKind::Null:
      out += " null";
      break;
    case ArgKind::Fault:
      out += " fault";
      break;
    case ArgKind::Range:
      out += ' ' + format_value(t, op.offset) + ' ' + format_value(t, op.arg);
      break;
    case ArgKind::Struct:
      out += ' ' + format_struct(&t, op.fields);
      break;
  }
  return out;
}

std::string format_fallocate(const Trace& t, const Op& op) {
  std::string out = fmt::format("fallocate {} {} {}", format_value(t, op.subject),
                                format_value(t, op.offset), op.length);
  for (FallocFlag f : kFallocFlags)
    if (op.falloc_mode & f) out += fmt::format(" {}", falloc_flag_name(f));
  return out;
}

}  // namespace

std::string format_op(const Trace& t, const Op& op) {
  switch (op.kind) {
    case OpKind::Open: {
      std::string out = "open ";
      switch (op.node) {
        case Node::LoopControl:
          out += "loop-control";
          break;
        case Node::Loop:
          out += "loop " + format_value(t, op.subject);
          if (op.part) out += fmt::format(" part {}", op.part);
          break;
        case Node::File:
          out += "file " + format_object(t, op.object);
          break;
        case Node::Dir:
          out += "dir " + format_object(t, op.object);
          break;
      }
      out += ' ';
      out += access_name(op.access);
      for (OpenFlag f : kOpenFlags) {
        if (!(op.open_flags & f)) continue;
        out += ' ';
        out += open_flag_name(f);
      }
      return out;
    }
    case OpKind::Close:
      return "close " + format_value(t, op.subject);
    case OpKind::Fsync:
      return "fsync " + format_value(t, op.subject);
    case OpKind::Ioctl:
      return format_ioctl(t, op);
    case OpKind::Pread:
      return fmt::format("pread {} {} {}", format_value(t, op.subject), format_value(t, op.offset),
                         op.length);
    case OpKind::Pwrite:
      return fmt::format("pwrite {} {} {} pattern={}", format_value(t, op.subject),
                         format_value(t, op.offset), op.length, op.seed);
    case OpKind::Truncate:
      return fmt::format(
          "truncate file {} {}", format_object(t, op.object),
          op.offset.is_literal() ? format_size(op.offset.lit) : format_value(t, op.offset));
    case OpKind::Sysfs:
      if (op.part)
        return fmt::format("sysfs {} part {} {}", format_value(t, op.subject), op.part,
                           sysattr_path(op.attr));
      return fmt::format("sysfs {} {}", format_value(t, op.subject), sysattr_path(op.attr));
    case OpKind::Allocated:
      return fmt::format("allocated file {}", format_object(t, op.object));
    case OpKind::Uevents:
      return "uevents";
    case OpKind::Fallocate:
      return format_fallocate(t, op);
  }
  return "?";
}

}  // namespace

std::string quote_string(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (u < 0x20 || u >= 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  out += '"';
  return out;
}

std::string format_data_desc(const DataDesc& desc) {
  std::string out;
  for (uint8_t i = 0; i < desc.count && i < kMaxDataSegments; ++i) {
    const DataSegment& s = desc.seg[i];
    if (i) out += ',';
    switch (s.kind) {
      case DataSegment::Kind::Zero:
        out += "zero";
        break;
      case DataSegment::Kind::Fill:
        out += fmt::format("fill:{:#04x}", s.fill);
        break;
      case DataSegment::Kind::Pattern:
        out += fmt::format("pattern:{}", s.seed);
        if (s.index) out += fmt::format("@{}", s.index);
        break;
      case DataSegment::Kind::Bytes:
        out += fmt::format("bytes:{:#x}", s.digest);
        break;
    }
    if (s.length) out += fmt::format("*{}", s.length);
  }
  return out;
}

std::string format_expect_alt(const ExpectAlt& alt) {
  switch (alt.kind) {
    case ExpectAlt::Kind::Value:
      if (alt.ranged) return fmt::format("{}..{}", alt.range_min, alt.value);
      return fmt::format("{}", alt.value);
    case ExpectAlt::Kind::Errno:
      return format_errno(alt.err);
    case ExpectAlt::Kind::Status:
      return format_struct(nullptr, alt.fields);
    case ExpectAlt::Kind::Data:
      if (!alt.has_data) return fmt::format("{}", alt.value);
      return fmt::format("{} data={}", alt.value, format_data_desc(alt.data));
    case ExpectAlt::Kind::Text:
      return quote_string(alt.text);
    case ExpectAlt::Kind::Uevents:
      return quote_string(format_uevents(alt.uevents));
  }
  return "?";
}

std::string print_statement(const Trace& trace, const Statement& stmt) {
  std::string out;
  if (stmt.bind >= 0)
    out += format_value(trace, Value::variable(static_cast<uint8_t>(stmt.bind))) + " = ";
  out += format_op(trace, stmt.op);
  for (uint8_t i = 0; i < stmt.expect.count && i < kMaxAlternatives; ++i) {
    out += i == 0 ? " => " : " | ";
    out += format_expect_alt(stmt.expect.alt[i]);
  }
  return out;
}

namespace {

// The statements, a concurrent block as `concurrent`, `thread NAME` sections with
// their statements indented, `end` and the block's `allow` lines.
std::string print_statements(const Trace& trace) {
  std::string out;
  const ConcurrentBlock* block = trace.blocks.empty() ? nullptr : &trace.blocks.front();
  for (uint32_t i = 0; i < trace.stmts.size(); ++i) {
    const Statement& s = trace.stmts[i];
    if (block && i == block->first) {
      out += block->repeat > 1 ? fmt::format("concurrent repeat={}\n", block->repeat)
                               : std::string("concurrent\n");
    }
    if (s.thread == 0) {
      out += print_statement(trace, s) + '\n';
      continue;
    }
    if (i == block->first || trace.stmts[i - 1].thread != s.thread)
      out += fmt::format("thread {}{}\n", block->threads[s.thread - 1u],
                         block->kinds[s.thread - 1u] == ThreadKind::Process ? " process" : "");
    out += "  " + print_statement(trace, s) + '\n';
    if (i + 1 == block->end) {
      out += "end\n";
      for (const OutcomeTuple& t : block->allowed)
        out += "allow " + format_tuple(trace, *block, t) + '\n';
    }
  }
  return out;
}

}  // namespace

std::string print_trace(const Trace& trace) {
  std::string out = fmt::format("@trace {}\n", trace.version);
  if (!trace.profile.empty()) out += fmt::format("@profile {}\n", trace.profile);
  if (trace.env_given) {
    out += "@env";
    const Env& e = trace.env;
    for (int i = 0; i < kEnvKeyCount; ++i) {
      if (!(trace.env_given & (1u << i))) continue;
      auto key = static_cast<EnvKey>(i);
      uint64_t v = 0;
      switch (key) {
        case EnvKey::Precreated:
          v = e.precreated;
          break;
        case EnvKey::CapSysAdmin:
          v = e.cap_sys_admin;
          break;
        case EnvKey::DioAlign:
          v = e.dio_align;
          break;
        case EnvKey::BdevBlockSize:
          v = e.bdev_block_size;
          break;
        case EnvKey::Thp:
          v = e.thp;
          break;
        case EnvKey::MaxPart:
          v = e.max_part;
          break;
        case EnvKey::Rotational:
          v = e.rotational;
          break;
        case EnvKey::Cgroup:
          v = e.cgroup;
          break;
        case EnvKey::MsdosPartitions:
          v = e.msdos_partitions;
          break;
      }
      out += fmt::format(" {}={}", env_key_name(key), v);
    }
    out += '\n';
  }
  if (!trace.objects.empty()) out += '\n';
  for (const ObjectDecl& o : trace.objects) {
    if (o.kind == ObjectDecl::Kind::Dir) {
      out += fmt::format("dir {}\n", o.name);
      continue;
    }
    out += fmt::format("file {} size={}", o.name, format_size(o.size));
    if (o.fill) out += fmt::format(" fill={:#04x}", o.fill);
    if (o.mbr.count) out += " mbr=" + format_partition_table(o.mbr);
    out += '\n';
  }
  if (!trace.stmts.empty()) out += '\n';
  out += print_statements(trace);
  return out;
}

ExpectAlt expectation_from(const Outcome& o) {
  assert(o.kind != Outcome::Kind::Skipped);
  ExpectAlt alt;
  switch (o.kind) {
    case Outcome::Kind::Value:
    case Outcome::Kind::Skipped:
      alt.kind = ExpectAlt::Kind::Value;
      alt.value = o.value;
      break;
    case Outcome::Kind::Error:
      alt.kind = ExpectAlt::Kind::Errno;
      alt.err = o.err;
      break;
    case Outcome::Kind::Status: {
      alt.kind = ExpectAlt::Kind::Status;
      const StatusInfo& s = o.status;
      StructFields& f = alt.fields;
      f.set(Field::Offset, Value::literal(s.offset));
      f.set(Field::Sizelimit, Value::literal(s.sizelimit));
      f.set(Field::Number, Value::literal(s.number));
      f.set(Field::EncryptType, Value::literal(s.encrypt_type));
      f.set(Field::EncryptKeySize, Value::literal(s.encrypt_key_size));
      f.set(Field::Flags, Value::literal(s.flags));
      f.set(Field::Device, Value::literal(s.device));
      f.set(Field::Inode, Value::literal(s.inode));
      f.set(Field::Rdevice, Value::literal(s.rdevice));
      f.present |= field_bit(Field::Name);
      f.name = s.name;
      break;
    }
    case Outcome::Kind::Data:
      alt.value = o.value;
      if (o.data_known && o.data.count > 0) {
        alt.kind = ExpectAlt::Kind::Data;
        alt.has_data = true;
        alt.data = o.data;
      } else if (o.data_known && o.value > 0 && o.digest != 0) {
        // Only a digest is known: one run covering all bytes.
        alt.kind = ExpectAlt::Kind::Data;
        alt.has_data = true;
        alt.data.count = 1;
        alt.data.seg[0].kind = DataSegment::Kind::Bytes;
        alt.data.seg[0].digest = o.digest;
      } else {
        alt.kind = ExpectAlt::Kind::Value;
      }
      break;
    case Outcome::Kind::Text:
      alt.kind = ExpectAlt::Kind::Text;
      alt.text = std::string(o.text_view());
      break;
    case Outcome::Kind::Uevents:
      alt.kind = ExpectAlt::Kind::Uevents;
      alt.uevents = o.uevents;
      break;
  }
  return alt;
}

Expectation expectation_with_envelope_from(const Outcome& o) {
  Expectation e;
  e.alt[e.count++] = expectation_from(o);
  if ((o.kind == Outcome::Kind::Data || o.kind == Outcome::Kind::Value) && o.min_value > 0) {
    // Any count in the range is accepted, its bytes unchecked: no data= with it.
    ExpectAlt& range = e.alt[0];
    range = ExpectAlt{};
    range.kind = ExpectAlt::Kind::Value;
    range.ranged = true;
    range.range_min = o.min_value;
    range.value = o.value;
  }
  if (o.also_err != 0) {
    ExpectAlt alt;
    alt.kind = ExpectAlt::Kind::Errno;
    alt.err = o.also_err;
    e.alt[e.count++] = alt;
  }
  return e;
}

std::string format_outcome(const Outcome& o) {
  if (o.kind == Outcome::Kind::Skipped) return "SKIPPED";
  std::string out = format_expect_alt(expectation_from(o));
  if ((o.kind == Outcome::Kind::Data || o.kind == Outcome::Kind::Value) && o.min_value > 0)
    out = std::to_string(o.min_value) + ".." + out;
  if (o.also_err != 0) out += " | " + format_errno(o.also_err);
  return out;
}

}  // namespace loopcheck
