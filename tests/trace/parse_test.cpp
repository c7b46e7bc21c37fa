// Every construct of the language, and every error class with its position.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <linux/loop.h>

#include "trace/names.h"
#include "trace/ops.h"
#include "trace/parse.h"
#include "trace/print.h"

using namespace loopcheck;

namespace {

ParseResult parse(const std::string& body) {
  return parse_trace("@trace 1\n" + body, "t.trace");
}

std::string errors_of(const ParseResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.format() + "\n";
  return out;
}

// The first error, formatted; the body starts on line 2.
std::string first_error(const std::string& body) {
  ParseResult r = parse(body);
  return r.errors.empty() ? std::string("<no error>") : r.errors[0].format();
}

const Statement& only_stmt(const ParseResult& r) {
  EXPECT_TRUE(r.ok()) << errors_of(r);
  EXPECT_EQ(r.trace.stmts.size(), 1u);
  return r.trace.stmts.at(0);
}

}  // namespace

TEST(TraceParse, HeaderEnvObjects) {
  ParseResult r = parse_trace(
      "# comment\n@trace 1\n@profile linux-6.1\n@env precreated=0 thp=0\n@env max_part=15\n"
      "file img size=1M fill=0xcd\nfile small\ndir d\n",
      "h.trace");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  EXPECT_EQ(r.trace.profile, "linux-6.1");
  EXPECT_EQ(r.trace.env.precreated, 0u);
  EXPECT_FALSE(r.trace.env.thp);
  EXPECT_EQ(r.trace.env.max_part, 15u);
  EXPECT_TRUE(r.trace.env.cap_sys_admin);  // not given: default
  ASSERT_EQ(r.trace.objects.size(), 3u);
  EXPECT_EQ(r.trace.objects[0].size, 1u << 20);
  EXPECT_EQ(r.trace.objects[0].fill, 0xcd);
  EXPECT_EQ(r.trace.objects[0].pos, (SourcePos{6, 1}));
  EXPECT_EQ(r.trace.objects[1].size, 0u);
  EXPECT_EQ(r.trace.objects[2].kind, ObjectDecl::Kind::Dir);
}

TEST(TraceParse, OpensAndVariables) {
  ParseResult r = parse(
      "file img size=4K\ndir d\nc = open loop-control rw\nn = ioctl c LOOP_CTL_GET_FREE\n"
      "x = open loop n ro excl direct\nf = open file img wo sync nonblock\n"
      "g = open dir d ro\nx = open loop 7 rw dsync\nclose x\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = r.trace.stmts;
  ASSERT_EQ(s.size(), 7u);
  EXPECT_EQ(r.trace.vars, (std::vector<std::string>{"c", "n", "x", "f", "g"}));
  EXPECT_EQ(s[0].op, op_open_loop_control(Access::Rw));
  EXPECT_EQ(s[0].bind, 0);
  EXPECT_EQ(s[1].op, op_ioctl_noarg(Value::variable(0), Req::LoopCtlGetFree));
  EXPECT_EQ(s[2].op, op_open_loop(Value::variable(1), Access::Ro, kOpenExcl | kOpenDirect));
  EXPECT_EQ(s[3].op, op_open_file(0, Access::Wo, kOpenSync | kOpenNonblock));
  EXPECT_EQ(s[4].op, op_open_dir(1, Access::Ro));
  EXPECT_EQ(s[5].bind, 2);  // rebinding reuses the slot
  EXPECT_EQ(s[5].op, op_open_loop(Value::literal(7), Access::Rw, kOpenDsync));
  EXPECT_EQ(s[6].op, op_close(Value::variable(2)));
  EXPECT_EQ(s[6].pos, (SourcePos{10, 1}));
}

TEST(TraceParse, IoctlArguments) {
  auto st = [](const std::string& line) { return only_stmt(parse(line)).op; };
  EXPECT_EQ(st("ioctl 3 LOOP_SET_FD 4"),
            op_ioctl(Value::literal(3), Req::LoopSetFd, Value::literal(4)));
  EXPECT_EQ(st("ioctl 3 LOOP_SET_FD -1"),
            op_ioctl(Value::literal(3), Req::LoopSetFd, Value::signed_literal(-1)));
  EXPECT_EQ(st("ioctl 3 LOOP_GET_STATUS64 null"),
            op_ioctl_null(Value::literal(3), Req::LoopGetStatus64));
  EXPECT_EQ(st("ioctl 3 0x4c0b 0"), op_ioctl_raw(Value::literal(3), 0x4c0b, Value::literal(0)));
  // A number that names a request becomes that request.
  EXPECT_EQ(st("ioctl 3 0x4C01"), op_ioctl_noarg(Value::literal(3), Req::LoopClrFd));
  EXPECT_EQ(req_number(Req::LoopClrFd), static_cast<uint64_t>(LOOP_CLR_FD));
  Op cfg =
      st("ioctl 3 LOOP_CONFIGURE {fd=4 block_size=4K offset=0 sizelimit=18446744073709551615 "
         "flags=READ_ONLY|0x20 name=\"a\\\"\\x01\"}");
  EXPECT_EQ(cfg.arg_kind, ArgKind::Struct);
  EXPECT_EQ(cfg.fields.get(Field::BlockSize), 4096u);
  EXPECT_EQ(cfg.fields.get(Field::Sizelimit), UINT64_MAX);
  EXPECT_EQ(cfg.fields.get(Field::Flags), 0x21u);
  EXPECT_EQ(cfg.fields.name.view(), std::string_view("a\"\x01", 3));
  // BLKDISCARD / BLKZEROOUT: START LEN, a u64 pair, or null.
  EXPECT_EQ(st("ioctl 3 BLKDISCARD 4K 18446744073709551104"),
            op_ioctl_range(Value::literal(3), Req::BlkDiscard, 4096, 18446744073709551104ull));
  EXPECT_EQ(st("ioctl 3 BLKZEROOUT null"), op_ioctl_null(Value::literal(3), Req::BlkZeroout));
  EXPECT_EQ(only_stmt(parse("file a size=4K\nallocated file a")).op, op_allocated(0));
  // `fault`: a pointer to an unmapped page, wherever `null` is taken.
  EXPECT_EQ(st("ioctl 3 BLKDISCARD fault").arg_kind, ArgKind::Fault);
  EXPECT_EQ(st("ioctl 3 LOOP_GET_STATUS fault").arg_kind, ArgKind::Fault);
  EXPECT_EQ(st("ioctl 3 LOOP_CONFIGURE fault").arg_kind, ArgKind::Fault);
  EXPECT_EQ(st("ioctl 3 BLKSECDISCARD 0 512"),
            op_ioctl_range(Value::literal(3), Req::BlkSecDiscard, 0, 512));
  Op legacy = st("ioctl 3 LOOP_SET_STATUS {offset=-2147483648 flags=-1}");
  EXPECT_EQ(legacy.fields.value[static_cast<int>(Field::Offset)], Value::signed_literal(INT32_MIN));
  EXPECT_EQ(legacy.fields.value[static_cast<int>(Field::Flags)], Value::signed_literal(-1));
}

TEST(TraceParse, IoSysfsTruncate) {
  ParseResult r = parse(
      "file img\npread 3 -512 4K\npwrite 3 0 64M pattern=7\nfsync 3\n"
      "truncate file img 2G\nsysfs 0 queue/logical_block_size\n"
      "fallocate 3 -1 4K keep_size zero_range\nfallocate 3 0 9223372036854775807\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = r.trace.stmts;
  EXPECT_EQ(s[0].op, op_pread(Value::literal(3), -512, 4096));
  EXPECT_EQ(s[1].op, op_pwrite(Value::literal(3), 0, kMaxIoLength, 7));
  EXPECT_EQ(s[2].op, op_fsync(Value::literal(3)));
  EXPECT_EQ(s[3].op, op_truncate(0, 2ull << 30));
  EXPECT_EQ(s[4].op, op_sysfs(Value::literal(0), SysAttr::QueueLogicalBlockSize));
  EXPECT_EQ(s[5].op, op_fallocate(Value::literal(3), -1, 4096, kFallocKeepSize | kFallocZeroRange));
  EXPECT_EQ(s[6].op, op_fallocate(Value::literal(3), 0, INT64_MAX, 0));
  // Modes print in one order whatever order they were written in.
  EXPECT_EQ(print_trace(parse("fallocate 3 0 512 no_hide_stale punch_hole keep_size\n").trace),
            "@trace 1\n\nfallocate 3 0 512 keep_size punch_hole no_hide_stale\n");
}

TEST(TraceParse, Expectations) {
  ParseResult r = parse(
      "close 3 => 0 | EBADF | errno:200\n"
      "ioctl 3 LOOP_GET_STATUS64 => {offset=512 flags=AUTOCLEAR name=\"img\"}\n"
      "pread 3 0 4K => 4096 data=zero*512,fill:0xcd*512,pattern:7@16*1024,zero\n"
      "sysfs 0 size => \"2048\"\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = r.trace.stmts;
  ASSERT_EQ(s[0].expect.count, 3);
  EXPECT_EQ(s[0].expect.alt[0].kind, ExpectAlt::Kind::Value);
  EXPECT_EQ(s[0].expect.alt[1].err, EBADF);
  EXPECT_EQ(s[0].expect.alt[2].err, 200);
  EXPECT_EQ(s[1].expect.alt[0].kind, ExpectAlt::Kind::Status);
  EXPECT_EQ(s[1].expect.alt[0].fields.get(Field::Flags), uint64_t{kLoAutoclear});
  const ExpectAlt& d = s[2].expect.alt[0];
  ASSERT_EQ(d.kind, ExpectAlt::Kind::Data);
  ASSERT_EQ(d.data.count, 4);
  EXPECT_EQ(d.data.seg[1].fill, 0xcd);
  EXPECT_EQ(d.data.seg[2].seed, 7u);
  EXPECT_EQ(d.data.seg[2].index, 16u);
  EXPECT_EQ(d.data.seg[3].length, 0u);
  EXPECT_EQ(s[3].expect.alt[0].text, "2048");
}

// Each error class: the exact position and a message naming the problem.
struct ErrorCase {
  std::string body;
  const char* error;
};

// `MIN..MAX`: a count range, what the model accepts where readahead decides.
TEST(TraceParse, CountRanges) {
  ParseResult r = parse(
      "pread 3 0 60K => 1..61441 | EIO\n"
      "pwrite 3 0 8K pattern=1 => 0..8192\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const ExpectAlt& read = r.trace.stmts[0].expect.alt[0];
  EXPECT_EQ(read.kind, ExpectAlt::Kind::Value);
  EXPECT_TRUE(read.ranged);
  EXPECT_EQ(read.range_min, 1);
  EXPECT_EQ(read.value, 61441);
  EXPECT_EQ(r.trace.stmts[0].expect.alt[1].err, EIO);
  EXPECT_EQ(r.trace.stmts[1].expect.alt[0].range_min, 0);
  EXPECT_EQ(print_statement(r.trace, r.trace.stmts[0]), "pread 3 0 61440 => 1..61441 | EIO");

  const ErrorCase cases[] = {
      {"pread 3 0 4K => 4096..4096",
       "t.trace:2:23: a count range needs 0 <= MIN < MAX, got "
       "4096..4096"},
      {"pread 3 0 4K => 1..4096 data=zero",
       "t.trace:2:25: data= cannot follow a count range: the bytes of a short count are not "
       "described"},
      {"close 3 => 0..1", "t.trace:2:12: a count range MIN..MAX applies only to pread and pwrite"},
      {"pread 3 0 4K => 1..",
       "t.trace:2:20: expected the range's upper count (a number), got end of line"},
  };
  for (const ErrorCase& c : cases) {
    ParseResult bad = parse(c.body + "\n");
    ASSERT_FALSE(bad.ok()) << c.body;
    EXPECT_EQ(bad.errors.front().format(), c.error) << c.body;
  }
}

TEST(TraceParse, ErrorClassesReportFileLineCol) {
  const ErrorCase cases[] = {
      {"frob 3", "t.trace:2:1: unknown operation 'frob'"},
      {"ioctl 3 LOOP_FROB", "t.trace:2:9: unknown ioctl 'LOOP_FROB'"},
      {"close 3 => EFROB", "t.trace:2:12: unknown errno name 'EFROB'"},
      {"ioctl 3 LOOP_SET_STATUS64 {offst=1}", "t.trace:2:28: unknown field 'offst'"},
      {"ioctl 3 LOOP_SET_STATUS64 {flags=RO}", "t.trace:2:34: unknown flag 'RO'"},
      {"sysfs 0 loop/frob", "t.trace:2:9: unknown sysfs attribute 'loop/frob'"},
      {"close f", "t.trace:2:7: undefined variable 'f'"},
      {"close", "t.trace:2:6: expected an fd (a number or a variable), got end of line"},
      {"close 3 4", "t.trace:2:9: unexpected '4' after the statement"},
      {"ioctl 3 LOOP_SET_FD", "t.trace:2:20: LOOP_SET_FD needs an argument"},
      {"ioctl 3 BLKGETSIZE64 0", "t.trace:2:22: BLKGETSIZE64 takes no argument"},
      {"ioctl 3 LOOP_SET_STATUS64 {fd=3}", "t.trace:2:28: field 'fd' does not belong"},
      {"ioctl 3 LOOP_SET_STATUS {sizelimit=3}", "t.trace:2:26: field 'sizelimit' does not belong"},
      {"ioctl 3 LOOP_SET_FD {offset=1}", "t.trace:2:21: a {struct} argument is only for"},
      {"ioctl 3 LOOP_SET_FD null", "t.trace:2:21: `null` is only for"},
      {"ioctl 3 BLKGETSIZE64 fault", "t.trace:2:22: `fault` is only for"},
      {"fault = open loop 0 rw", "t.trace:2:1: 'fault' is a reserved word"},
      {"ioctl 3 BLKDISCARD 512", "t.trace:2:23: expected"},
      {"ioctl 3 BLKZEROOUT", "t.trace:2:19: BLKZEROOUT needs START LEN (bytes) or `null`"},
      {"ioctl 3 BLKDISCARD -1 512", "t.trace:2:20: -1 is out of range for a u64"},
      {"ioctl 3 LOOP_SET_STATUS {offset=2147483648}",
       "t.trace:2:33: 2147483648 is out of range for an int"},
      {"ioctl 3 LOOP_SET_STATUS64 {number=4294967296}",
       "t.trace:2:35: 4294967296 is out of range for a u32"},
      {"ioctl 3 LOOP_SET_STATUS64 {offset=-1}", "t.trace:2:35: -1 is out of range for a u64"},
      {"ioctl 3 LOOP_SET_STATUS64 {name=\"" + std::string(65, 'a') + "\"}",
       "t.trace:2:33: name is 65 bytes long"},
      {"pread 3 0 65M", "t.trace:2:11: 65M is out of range for an I/O length"},
      {"pread 3 9223372036854775808 1",
       "t.trace:2:9: 9223372036854775808 is out of range for an int64"},
      {"pread 3 0 1x", "t.trace:2:11: invalid number '1x'"},
      {"pread 3 0 99999999999999999999",
       "t.trace:2:11: invalid number '99999999999999999999': does not fit"},
      {"close 3 => 0 | 1 | 2 | 3 | 4", "t.trace:2:28: too many alternatives (at most 4)"},
      {"close 3 => {offset=0}", "t.trace:2:12: a {struct} expectation applies only to"},
      {"close 3 => \"x\"", "t.trace:2:12: a \"string\" expectation applies only to sysfs"},
      {"close 3 => 4 data=zero", "t.trace:2:14: data= applies only to pread"},
      {"sysfs 0 size => 5", "t.trace:2:17: sysfs yields text"},
      {"pread 3 0 8 => 8 data=zero*4",
       "t.trace:2:23: the data runs cover 4 bytes but the read returns 8"},
      {"pread 3 0 8 => 8 data=zero,fill:1", "t.trace:2:28: only the last run may omit its length"},
      {"pread 3 0 8 => 8 data=zero*9",
       "t.trace:2:28: the data runs cover more than the 8 bytes read"},
      {"pread 3 0 8 => 8 data=zero*8,zero", "t.trace:2:30: no bytes left for the last run"},
      {"file a\nfile a", "t.trace:3:6: object 'a' is already declared at line 2"},
      {"dir d\nopen file d rw", "t.trace:3:11: 'd' is a dir; use `dir d`"},
      {"open file nope rw", "t.trace:2:11: unknown file 'nope'"},
      {"open loop 1 rx", "t.trace:2:13: expected the access mode ro, wo or rw, got 'rx'"},
      {"open loop 1 rw bogus", "t.trace:2:16: unknown open flag 'bogus'"},
      {"close 3\n@profile x", "t.trace:3:1: @profile must come before objects and statements"},
      {"@env frob=1", "t.trace:2:6: unknown @env key 'frob'"},
      {"@env thp=2", "t.trace:2:10: 2 is out of range for a boolean"},
      {"x = close 3", "t.trace:2:1: only open and ioctl produce a value"},
      {"open = open loop-control rw", "t.trace:2:1: 'open' is a reserved word"},
      {"close 3 $", "t.trace:2:9: unexpected character '$'"},
      {"ioctl 3 LOOP_SET_STATUS64 {name=\"ab", "t.trace:2:33: unterminated string"},
      {"ioctl 3 LOOP_SET_STATUS64 {name=\"\\q\"}", "t.trace:2:34: unknown escape 'q'"},
      {"ioctl 3 LOOP_SET_STATUS64 {offset=1", "t.trace:2:36: unterminated {struct}"},
      {"ioctl 3 LOOP_SET_STATUS64 {offset=1 offset=2}", "t.trace:2:37: field 'offset' given twice"},
      {"@trace 1", "t.trace:2:1: duplicate @trace"},
  };
  for (const auto& c : cases) {
    std::string got = first_error(c.body);
    EXPECT_EQ(got.rfind(c.error, 0), 0u)
        << "input: " << c.body << "\n got: " << got << "\nwant prefix: " << c.error;
  }
}

TEST(TraceParse, FallocateErrors) {
  const ErrorCase cases[] = {
      {"fallocate 3 0 4096 punch", "t.trace:2:20: unknown fallocate mode 'punch'"},
      {"fallocate 3 0 4096 keep_size keep_size", "t.trace:2:30: fallocate mode 'keep_size' given"},
      {"fallocate 3 0 -1", "t.trace:2:15: -1 is out of range for a size"},
      {"fallocate 3 0", "t.trace:2:14: expected"},
  };
  for (const auto& c : cases) {
    std::string got = first_error(c.body);
    EXPECT_EQ(got.rfind(c.error, 0), 0u)
        << "input: " << c.body << "\n got: " << got << "\nwant prefix: " << c.error;
  }
}

TEST(TraceParse, HeaderErrors) {
  EXPECT_EQ(parse_trace("", "e.trace").errors.at(0).format(),
            "e.trace:1:1: empty trace: the first statement must be `@trace 1`");
  EXPECT_EQ(parse_trace("\n  close 3\n", "e.trace").errors.at(0).format(),
            "e.trace:2:3: the first statement must be `@trace 1`");
  auto r = parse_trace("@trace 3\n", "e.trace");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("unsupported trace language version 3"), std::string::npos);
}

TEST(TraceParse, ReportsManyErrorsButAtMostTheLimit) {
  ParseResult r = parse("frob\nclose 3\nfrob\n");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[1].line, 4u);
  std::string many;
  for (int i = 0; i < 100; ++i) many += "frob\n";
  EXPECT_EQ(parse(many).errors.size(), kMaxParseErrors);
}

TEST(TraceParse, VariableAndObjectBounds) {
  std::string body;
  for (int i = 0; i <= kMaxVars; ++i) body += "v" + std::to_string(i) + " = open loop-control rw\n";
  ParseResult r = parse(body);
  ASSERT_EQ(r.errors.size(), 1u) << errors_of(r);
  EXPECT_EQ(r.errors[0].line, static_cast<uint32_t>(kMaxVars + 2));
  EXPECT_NE(r.errors[0].message.find("too many variables"), std::string::npos);
  std::string objs;
  for (int i = 0; i <= kMaxObjects; ++i) objs += "file f" + std::to_string(i) + "\n";
  ParseResult r2 = parse(objs);
  ASSERT_EQ(r2.errors.size(), 1u);
  EXPECT_NE(r2.errors[0].message.find("too many file/dir declarations"), std::string::npos);
}

TEST(TraceParse, NamesTablesAgreeBothWays) {
  for (int i = 0; i + 1 < kReqCount; ++i) {
    auto req = static_cast<Req>(i);
    EXPECT_EQ(req_from_name(req_name(req)), req);
    EXPECT_EQ(req_from_number(req_number(req)), req);
  }
  for (const char* e :
       {"EPERM",  "ENOENT", "EINTR",  "EIO",       "ENXIO",      "E2BIG",   "EBADF",  "EAGAIN",
        "ENOMEM", "EACCES", "EFAULT", "EBUSY",     "EEXIST",     "EXDEV",   "ENODEV", "ENOTDIR",
        "EISDIR", "EINVAL", "ENFILE", "EMFILE",    "ENOTTY",     "EFBIG",   "ENOSPC", "ESPIPE",
        "EROFS",  "ERANGE", "ENOSYS", "EOVERFLOW", "EOPNOTSUPP", "ENOTBLK", "ETXTBSY"}) {
    auto n = errno_from_name(e);
    ASSERT_TRUE(n.has_value()) << e;
    EXPECT_EQ(errno_name(*n), e);
  }
  EXPECT_EQ(errno_name(EBUSY), "EBUSY");
  EXPECT_EQ(errno_name(100000), "");
  EXPECT_EQ(format_lo_flags(kLoReadOnly | kLoPartscan | 0x2), "READ_ONLY|PARTSCAN|0x2");
  EXPECT_EQ(format_lo_flags(0), "0");
}

// Whatever the bytes, the parser returns (the fuzz target will push harder).
RC_GTEST_PROP(TraceParse, NeverCrashesOnArbitraryText, (const std::string& noise)) {
  ParseResult r = parse_trace("@trace 1\n" + noise, "n.trace");
  RC_ASSERT(r.errors.size() <= kMaxParseErrors);
  ParseResult r2 = parse_trace(noise, "n.trace");
  RC_ASSERT(r2.errors.size() <= kMaxParseErrors);
}
