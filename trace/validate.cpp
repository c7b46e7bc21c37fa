// The trace rules, on the Trace (see validate.h). The parser reports the same
// rules at the token that breaks them and calls validate() last, so a rule added
// here holds for parsed traces too.
#include "trace/validate.h"

#include "trace/partition_table.h"

#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace loopcheck {

bool fits(bool negative, uint64_t magnitude, const ValueRange& r) {
  return negative ? (r.allow_negative && magnitude <= r.neg_max) : magnitude <= r.pos_max;
}

bool fits(const Value& literal, const ValueRange& r) {
  return literal.negative ? fits(true, 0 - literal.lit, r) : fits(false, literal.lit, r);
}

ValueRange field_range(StructKind st, Field f) {
  const bool legacy = st == StructKind::LoopInfo;
  switch (f) {
    case Field::Fd:
    case Field::BlockSize:
      return range::kU32;
    case Field::Offset:
      return legacy ? range::kI32 : range::kU64;
    case Field::Number:
    case Field::EncryptType:
    case Field::EncryptKeySize:
    case Field::Flags:
      return legacy ? range::kI32 : range::kU32;
    default:
      return range::kU64;
  }
}

ValueRange ioctl_arg_range(Req req) {
  return req_arg(req) == ReqArg::Int ? range::kI32 : range::kULong;
}

bool is_identifier(std::string_view s) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || digit(c) || c == '_')) return false;
  return true;
}

bool is_reserved(std::string_view s) {
  static constexpr std::string_view kReserved[] = {
      "open",  "close", "ioctl", "pread", "pwrite", "fsync",     "truncate",
      "sysfs", "file",  "dir",   "null",  "fault",  "fallocate", "allocated", "uevents"};
  for (auto r : kReserved)
    if (r == s) return true;
  return false;
}

bool returns_status(const Op& op) {
  return op.kind == OpKind::Ioctl && req_arg(op.req) == ReqArg::StructOut &&
         !pointer_faults(op.arg_kind);
}

bool arg_fits(Req req, ArgKind kind) {
  switch (req_arg(req)) {
    case ReqArg::Ignored:
      return kind == ArgKind::None || kind == ArgKind::Number;
    case ReqArg::Number:
    case ReqArg::Int:
      // An unnamed request passes a number when given one, nothing otherwise.
      return kind == ArgKind::Number || (req == Req::Unknown && kind == ArgKind::None);
    case ReqArg::Out:
      return kind == ArgKind::None;
    case ReqArg::StructOut:
      return kind == ArgKind::None || pointer_faults(kind);
    case ReqArg::StructIn:
      return kind == ArgKind::Struct || pointer_faults(kind);
    case ReqArg::Range:
      return kind == ArgKind::Range || pointer_faults(kind);
  }
  return false;
}

std::string data_desc_problem(uint64_t count, const DataDesc& desc) {
  if (desc.count == 0) return "a data descriptor needs at least one run";
  if (desc.count > kMaxDataSegments)
    return fmt::format("too many runs in a data descriptor (at most {})", kMaxDataSegments);
  uint64_t covered = 0;
  for (size_t i = 0; i < desc.count; ++i) {
    const DataSegment& seg = desc.seg[i];
    const bool last = i + 1 == desc.count;
    if (seg.kind > DataSegment::Kind::Bytes) return fmt::format("run {} has no kind", i + 1);
    if (seg.length == 0 && !last) return "only the last run may omit its length (*LEN)";
    if (seg.length > count - covered)
      return fmt::format("the data runs cover more than the {} bytes read", count);
    covered += seg.length;
  }
  if (desc.seg[desc.count - 1].length == 0 && covered >= count)
    return fmt::format(
        "no bytes left for the last run: the runs before it already cover all {} bytes", count);
  if (desc.seg[desc.count - 1].length != 0 && covered != count)
    return fmt::format("the data runs cover {} bytes but the read returns {}", covered, count);
  return {};
}

std::string TraceProblem::format(const Trace& trace) const {
  std::string where = trace.source.empty() ? std::string("trace") : trace.source;
  if (pos.line != 0) where += fmt::format(":{}:{}", pos.line, pos.col);
  if (statement >= 0) return fmt::format("{}: statement {}: {}", where, statement + 1, message);
  if (object >= 0) return fmt::format("{}: object {}: {}", where, object + 1, message);
  return fmt::format("{}: {}", where, message);
}

namespace {

class Validator {
 public:
  explicit Validator(const Trace& trace) : t_(trace) {}

  std::vector<TraceProblem> run() {
    header();
    for (size_t i = 0; i < t_.objects.size(); ++i) object(static_cast<int>(i));
    for (size_t i = 0; i < t_.stmts.size(); ++i) statement(static_cast<int>(i));
    return std::move(out_);
  }

 private:
  const Trace& t_;
  std::vector<TraceProblem> out_;
  std::array<bool, kMaxVars> bound_{};
  // The thread (1..) that bound each variable inside the concurrent block; 0: none.
  std::array<uint8_t, kMaxVars> bound_by_thread_{};
  uint8_t thread_ = 0;  // the statement's thread (0: sequential)
  int stmt_ = -1;
  int object_ = -1;
  SourcePos pos_;

  void problem(std::string message) {
    out_.push_back(TraceProblem{stmt_, object_, pos_, std::move(message)});
  }

  void header() {
    if (t_.version < 1 || t_.version > kLanguageVersion)
      problem(fmt::format("unsupported trace language version {}", t_.version));
    if (t_.vars.size() > static_cast<size_t>(kMaxVars))
      problem(fmt::format("too many variables ({}; at most {})", t_.vars.size(), kMaxVars));
    if (t_.objects.size() > static_cast<size_t>(kMaxObjects))
      problem(fmt::format("too many file/dir declarations ({}; at most {})", t_.objects.size(),
                          kMaxObjects));
    for (const std::string& name : t_.vars) {
      if (!is_identifier(name) || is_reserved(name))
        problem(fmt::format("invalid variable name '{}'", name));
    }
  }

  void object(int i) {
    const ObjectDecl& decl = t_.objects[static_cast<size_t>(i)];
    object_ = i;
    pos_ = decl.pos;
    if (!is_identifier(decl.name)) problem(fmt::format("invalid object name '{}'", decl.name));
    for (int j = 0; j < i; ++j) {
      if (t_.objects[static_cast<size_t>(j)].name == decl.name)
        problem(fmt::format("object '{}' is declared twice", decl.name));
    }
    if (decl.kind == ObjectDecl::Kind::Dir && (decl.size != 0 || decl.fill != 0))
      problem("a dir takes no size or fill");
    if (!fits(false, decl.size, range::kSize)) problem("a file size must be 0..2^63-1");
    partition_table(decl);
    object_ = -1;
  }

  // The table is written over the file's first sector, so the file holds it whole.
  void partition_table(const ObjectDecl& decl) {
    if (decl.mbr.count == 0) return;
    if (decl.kind == ObjectDecl::Kind::Dir) problem("a dir takes no mbr");
    if (decl.mbr.count > kMaxPartitions)
      problem(fmt::format("an MBR has {} entries at most", kMaxPartitions));
    if (decl.size < kMbrBytes)
      problem(fmt::format("a file with an mbr= table needs size={} at least (the table's sector)",
                          kMbrBytes));
  }

  void statement(int i) {
    const Statement& st = t_.stmts[static_cast<size_t>(i)];
    stmt_ = i;
    pos_ = st.pos;
    thread_ = st.thread;
    op(st.op);
    expectation(st.op, st.expect);
    if (st.thread != 0 && st.bind >= 0 && static_cast<size_t>(st.bind) < t_.vars.size()) {
      uint8_t& owner = bound_by_thread_[static_cast<size_t>(st.bind)];
      if (owner != 0 && owner != st.thread)
        problem(fmt::format("two threads bind variable '{}': give each its own name",
                            t_.vars[static_cast<size_t>(st.bind)]));
      owner = st.thread;
    }
    // The binding takes effect after the statement: `x = open ... x` reads the old x.
    if (st.bind >= 0) {
      if (static_cast<size_t>(st.bind) >= t_.vars.size())
        problem(
            fmt::format("binds variable slot {}, past the {} variables", st.bind, t_.vars.size()));
      else
        bound_[static_cast<size_t>(st.bind)] = true;
      if (st.op.kind != OpKind::Open && st.op.kind != OpKind::Ioctl)
        problem("only open and ioctl produce a value that a variable can hold");
    } else if (st.bind != -1) {
      problem(fmt::format("invalid binding slot {}", st.bind));
    }
  }

  void value(const Value& v, const ValueRange& r, const char* what) {
    if (v.kind == Value::Kind::Var) {
      if (v.var >= t_.vars.size())
        problem(fmt::format("{}: variable slot {} is past the {} variables", what, v.var,
                            t_.vars.size()));
      else if (!bound_[v.var])
        problem(fmt::format("{}: variable '{}' is used before it is bound", what, t_.vars[v.var]));
      else if (thread_ != 0 && bound_by_thread_[v.var] != 0 && bound_by_thread_[v.var] != thread_)
        problem(
            fmt::format("{}: variable '{}' is bound by another thread of the block; threads "
                        "share only what was bound before it",
                        what, t_.vars[v.var]));
    } else if (v.kind != Value::Kind::Literal) {
      problem(fmt::format("{}: not a literal or a variable", what));
    } else if (!fits(v, r)) {
      problem(fmt::format("{}: {}{} is out of range for {}", what, v.negative ? "-" : "",
                          v.negative ? 0 - v.lit : v.lit, r.type));
    }
  }

  void literal(const Value& v, const ValueRange& r, const char* what) {
    if (!v.is_literal())
      problem(fmt::format("{} must be a number, not a variable", what));
    else
      value(v, r, what);
  }

  void object_ref(uint8_t index, ObjectDecl::Kind want) {
    if (index >= t_.objects.size()) {
      problem(fmt::format("object {} is not declared ({} objects)", index, t_.objects.size()));
      return;
    }
    const ObjectDecl& decl = t_.objects[index];
    if (decl.kind != want)
      problem(fmt::format("'{}' is a {}", decl.name,
                          decl.kind == ObjectDecl::Kind::File ? "file" : "dir"));
  }

  void op(const Op& op) {
    if (op.part != 0 && op.kind != OpKind::Open && op.kind != OpKind::Sysfs)
      problem("only open and sysfs name a partition");
    switch (op.kind) {
      case OpKind::Open:
        return open(op);
      case OpKind::Close:
      case OpKind::Fsync:
        return value(op.subject, range::kI32, "the fd");
      case OpKind::Ioctl:
        return ioctl(op);
      case OpKind::Pread:
      case OpKind::Pwrite:
        value(op.subject, range::kI32, "the fd");
        literal(op.offset, range::kI64, "the offset");
        if (op.length > kMaxIoLength) problem("an I/O length must be at most 64M");
        return;
      case OpKind::Truncate:
        object_ref(op.object, ObjectDecl::Kind::File);
        return literal(op.offset, range::kSize, "the new size");
      case OpKind::Allocated:
        return object_ref(op.object, ObjectDecl::Kind::File);
      case OpKind::Uevents:
        return;
      case OpKind::Fallocate:
        value(op.subject, range::kI32, "the fd");
        literal(op.offset, range::kI64, "the offset");
        if (op.length > range::kSize.pos_max) problem("a fallocate length must be at most 2^63-1");
        if (op.falloc_mode & ~kFallocFlagsAll)
          problem(fmt::format("unknown fallocate mode bits {:#x}", op.falloc_mode));
        return;
      case OpKind::Sysfs:
        value(op.subject, range::kIndex, "the loop device index");
        if (static_cast<int>(op.attr) >= kSysAttrCount) return problem("unknown sysfs attribute");
        if (op.part > kMaxPartitions) problem("a partition number must be 1..4");
        if (op.part ? !sysattr_of_partition(op.attr) : !sysattr_of_disk(op.attr))
          problem(fmt::format("'{}' is not an attribute of a {}", sysattr_path(op.attr),
                              op.part ? "partition" : "whole disk"));
        return;
    }
    problem(fmt::format("unknown operation kind {}", static_cast<int>(op.kind)));
  }

  void open(const Op& op) {
    if (op.access > Access::Rw) problem("unknown access mode");
    if (op.open_flags & ~(kOpenExcl | kOpenDirect | kOpenSync | kOpenNonblock | kOpenDsync))
      problem(fmt::format("unknown open flags {:#x}", op.open_flags));
    if (op.part > kMaxPartitions) problem("a partition number must be 1..4");
    if (op.part != 0 && op.node != Node::Loop) problem("only `open loop N` takes a partition");
    switch (op.node) {
      case Node::LoopControl:
        return;
      case Node::Loop:
        return value(op.subject, range::kIndex, "the loop device index");
      case Node::File:
        return object_ref(op.object, ObjectDecl::Kind::File);
      case Node::Dir:
        return object_ref(op.object, ObjectDecl::Kind::Dir);
    }
    problem("unknown node to open");
  }

  void ioctl(const Op& op) {
    value(op.subject, range::kI32, "the fd");
    if (static_cast<int>(op.req) >= kReqCount) return problem("unknown ioctl request");
    if (op.req == Req::Unknown) {
      if (!fits(false, op.raw_req, range::kRequest))
        problem(fmt::format("request number {:#x} is out of range for a u32", op.raw_req));
      // The parser names every number it knows; a named one kept raw would print
      // as a name and parse back as a different Op.
      if (req_from_number(op.raw_req) != Req::Unknown)
        problem(fmt::format("request number {:#x} is {}: use the name", op.raw_req,
                            req_name(req_from_number(op.raw_req))));
    }
    const std::string name =
        op.req == Req::Unknown ? fmt::format("{:#x}", op.raw_req) : std::string(req_name(op.req));
    if (!arg_fits(op.req, op.arg_kind))
      problem(fmt::format("{} does not take this kind of argument", name));
    if (op.arg_kind == ArgKind::Number) value(op.arg, ioctl_arg_range(op.req), "the argument");
    if (op.arg_kind == ArgKind::Struct)
      fields(req_struct(op.req), op.fields, /*expectation=*/false, name);
    else if (op.fields.present != 0)
      problem(fmt::format("{} carries struct fields but no struct argument", name));
  }

  void fields(StructKind st, const StructFields& f, bool expectation, const std::string& owner) {
    if (f.present >> kFieldCount) problem(fmt::format("{}: unknown struct fields", owner));
    for (int i = 0; i < kFieldCount; ++i) {
      const Field field = static_cast<Field>(i);
      if (!f.has(field)) continue;
      if (!struct_has_field(st, field)) {
        problem(fmt::format("field '{}' does not belong to {}", field_name(field), owner));
        continue;
      }
      if (field == Field::Name) {
        if (f.name.len > kNameSize) problem("the name is longer than 64 bytes");
        continue;
      }
      const Value& v = f.value[static_cast<size_t>(i)];
      if (expectation)
        literal(v, field_range(st, field), "a field of a status expectation");
      else
        value(v, field_range(st, field), "a struct field");
    }
  }

  void expectation(const Op& op, const Expectation& ex) {
    if (ex.count > kMaxAlternatives)
      return problem(fmt::format("too many alternatives (at most {})", kMaxAlternatives));
    for (size_t i = 0; i < ex.count; ++i) alternative(op, ex.alt[i]);
  }

  void alternative(const Op& op, const ExpectAlt& alt) {
    switch (alt.kind) {
      case ExpectAlt::Kind::Value:
        if (op.kind == OpKind::Sysfs) problem("sysfs yields text: expect a \"string\" or an errno");
        if (alt.ranged && op.kind != OpKind::Pread && op.kind != OpKind::Pwrite)
          problem("a count range MIN..MAX applies only to pread and pwrite");
        if (alt.ranged && (alt.range_min < 0 || alt.range_min >= alt.value))
          problem(fmt::format("a count range needs 0 <= MIN < MAX, got {}..{}", alt.range_min,
                              alt.value));
        return;
      case ExpectAlt::Kind::Data: {
        if (op.kind != OpKind::Pread) return problem("data= applies only to pread");
        if (alt.value < 0 || static_cast<uint64_t>(alt.value) > kMaxIoLength)
          return problem("the byte count of a read must be 0..64M");
        if (!alt.has_data) return problem("a data expectation without data=");
        const std::string why = data_desc_problem(static_cast<uint64_t>(alt.value), alt.data);
        if (!why.empty()) problem(why);
        return;
      }
      case ExpectAlt::Kind::Errno:
        if (alt.err <= 0 || !fits(false, static_cast<uint64_t>(alt.err), range::kErrno))
          problem(fmt::format("errno {} is not an error number (1..4095)", alt.err));
        return;
      case ExpectAlt::Kind::Status:
        if (!returns_status(op))
          return problem(
              "a {struct} expectation applies only to LOOP_GET_STATUS and LOOP_GET_STATUS64");
        return fields(StructKind::LoopInfo64, alt.fields, /*expectation=*/true,
                      "a status expectation");
      case ExpectAlt::Kind::Uevents:
        if (op.kind != OpKind::Uevents)
          problem("a list of uevents is the expectation of `uevents` alone");
        if (alt.uevents.count > kMaxUevents || alt.uevents.lost)
          problem(fmt::format("at most {} events fit one `uevents` expectation", kMaxUevents));
        return;
      case ExpectAlt::Kind::Text:
        if (op.kind != OpKind::Sysfs) problem("a \"string\" expectation applies only to sysfs");
        if (alt.text.size() > static_cast<size_t>(kMaxTextSize - 1))
          problem(fmt::format("a sysfs value is at most {} bytes", kMaxTextSize - 1));
        return;
    }
    problem("unknown expectation kind");
  }
};

}  // namespace

std::vector<TraceProblem> validate(const Trace& trace) {
  std::vector<TraceProblem> problems = Validator(trace).run();
  for (TraceProblem& p : validate_blocks(trace)) problems.push_back(std::move(p));
  return problems;
}

void assert_valid(const Trace& trace, std::string_view where) {
  const std::vector<TraceProblem> problems = validate(trace);
  if (problems.empty()) return;
  std::fprintf(stderr, "loopcheck: %.*s produced an invalid trace:\n",
               static_cast<int>(where.size()), where.data());
  for (const TraceProblem& p : problems) std::fprintf(stderr, "  %s\n", p.format(trace).c_str());
  std::abort();
}

}  // namespace loopcheck
