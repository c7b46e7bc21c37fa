// Concurrent blocks (language version 2): what they parse to, their canonical
// print, and every rule with the position it is reported at.
#include <gtest/gtest.h>

#include <cerrno>

#include "trace/outcome_tuple.h"
#include "trace/parse.h"
#include "trace/print.h"
#include "trace/validate.h"

using namespace loopcheck;

namespace {

const char* kHeader =
    "@trace 2\n"
    "ctl = open loop-control rw\n"
    "n = ioctl ctl LOOP_CTL_ADD -1\n";

ParseResult parse2(const std::string& body) {
  return parse_trace(kHeader + body, "c.trace");
}

std::string first_error(const std::string& text) {
  ParseResult r = parse_trace(text, "c.trace");
  return r.errors.empty() ? std::string("<no error>") : r.errors[0].format();
}

const char* kRace =
    "concurrent repeat=50\n"
    "thread remover\n"
    "  ioctl ctl LOOP_CTL_REMOVE n\n"
    "thread opener\n"
    "  d = open loop n rw\n"
    "  close d\n"
    "end\n"
    "allow remover=0 opener=ENXIO,EBADF\n"
    "allow remover=EBUSY opener=fd,0\n"
    "allow remover=* opener=fd,*\n";

}  // namespace

TEST(ConcurrentBlock, ParsesThreadsStatementsAndAllowLines) {
  ParseResult r = parse2(kRace);
  ASSERT_TRUE(r.ok()) << r.errors.front().format();
  const Trace& t = r.trace;
  EXPECT_EQ(t.version, 2);
  ASSERT_EQ(t.blocks.size(), 1u);
  const ConcurrentBlock& b = t.blocks[0];
  EXPECT_EQ(b.first, 2u);
  EXPECT_EQ(b.end, 5u);
  EXPECT_EQ(b.repeat, 50u);
  EXPECT_EQ(b.threads, (std::vector<std::string>{"remover", "opener"}));
  EXPECT_EQ(t.stmts[2].thread, 1);
  EXPECT_EQ(t.stmts[3].thread, 2);
  EXPECT_EQ(t.stmts[4].thread, 2);
  ASSERT_EQ(b.allowed.size(), 3u);
  EXPECT_EQ(b.allowed[0].count, 3);
  EXPECT_EQ(b.allowed[0].at[1].kind, TupleOutcome::Kind::Errno);
  EXPECT_EQ(b.allowed[0].at[1].err, ENXIO);
  EXPECT_EQ(b.allowed[1].at[1].kind, TupleOutcome::Kind::Fd);
  EXPECT_EQ(b.allowed[2].at[0].kind, TupleOutcome::Kind::Any);
}

TEST(ConcurrentBlock, PrintsCanonicallyAndRoundTrips) {
  ParseResult r = parse2(kRace);
  ASSERT_TRUE(r.ok());
  const std::string printed = print_trace(r.trace);
  EXPECT_NE(printed.find("concurrent repeat=50\nthread remover\n  ioctl ctl LOOP_CTL_REMOVE n\n"),
            std::string::npos)
      << printed;
  EXPECT_NE(printed.find("end\nallow remover=0 opener=ENXIO,EBADF\n"), std::string::npos);
  ParseResult again = parse_trace(printed, "again.trace");
  ASSERT_TRUE(again.ok()) << again.errors.front().format();
  EXPECT_EQ(print_trace(again.trace), printed);
}

TEST(ConcurrentBlock, TupleMatchingHonoursAny) {
  ParseResult r = parse2(kRace);
  ASSERT_TRUE(r.ok());
  const ConcurrentBlock& b = r.trace.blocks[0];
  OutcomeTuple seen = b.allowed[1];  // remover=EBUSY opener=fd,0
  EXPECT_TRUE(tuple_allowed(b.allowed[1], seen));
  EXPECT_TRUE(tuple_allowed(b.allowed[2], seen));  // remover=* opener=fd,*
  EXPECT_FALSE(tuple_allowed(b.allowed[0], seen));
  EXPECT_EQ(format_tuple(r.trace, b, seen), "remover=EBUSY opener=fd,0");
}

TEST(ConcurrentBlock, OlderVersionsAndNewerOnesAreRefusedClearly) {
  EXPECT_EQ(first_error("@trace 1\nconcurrent\n"),
            "c.trace:2:1: a concurrent block needs `@trace 2` (this trace says @trace 1)");
  EXPECT_EQ(first_error("@trace 3\n"),
            "c.trace:1:1: unsupported trace language version 3; this loopcheck reads versions 1 "
            "to 2 (a newer loopcheck wrote it: update this one)");
}

TEST(ConcurrentBlock, BlockWordsStayUsableAsVariablesInVersionOne) {
  ParseResult r = parse_trace("@trace 1\nend = open loop-control rw\nclose end\n", "v1.trace");
  EXPECT_TRUE(r.ok()) << r.errors.front().format();
}

TEST(ConcurrentBlock, ShapeRulesNameTheLine) {
  EXPECT_EQ(first_error(std::string(kHeader) + "concurrent\nthread a\nclose ctl\n"),
            "c.trace:4:1: this concurrent block has no `end` (close it after its last thread)");
  EXPECT_EQ(first_error(std::string(kHeader) + "concurrent\nclose ctl\n"),
            "c.trace:5:1: a statement in a concurrent block belongs to a thread: write `thread "
            "NAME` first");
  EXPECT_EQ(first_error(std::string(kHeader) + "concurrent\nthread a\nclose ctl\nend\n"),
            "c.trace:7:1: a concurrent block needs at least two threads");
  EXPECT_EQ(first_error(std::string(kHeader) + "thread a\n"),
            "c.trace:4:1: `thread` belongs inside a concurrent block (`concurrent` ... `end`)");
  EXPECT_EQ(
      first_error(std::string(kHeader) + "concurrent\nthread a\nclose ctl => 0\n"),
      "c.trace:6:11: a statement in a concurrent block takes no `=>`: list the outcomes a run may "
      "show in `allow` lines after `end`");
  EXPECT_EQ(first_error(std::string(kHeader) + "allow a=0\n"),
            "c.trace:4:1: `allow` lines follow a concurrent block's `end` directly");
}

TEST(ConcurrentBlock, AllowLinesMatchTheThreads) {
  const std::string block =
      "concurrent\nthread a\nclose ctl\nthread b\nclose ctl\nclose ctl\nend\n";
  EXPECT_EQ(first_error(std::string(kHeader) + block + "allow b=0 a=0,0\n"),
            "c.trace:11:7: expected `a=...` (allow lists every thread, in the order they are "
            "declared), got 'b'");
  EXPECT_EQ(first_error(std::string(kHeader) + block + "allow a=0 b=0\n"),
            "c.trace:11:14: expected ',' and the outcome of thread 'b' statement at line 9, got "
            "end of line");
  EXPECT_EQ(first_error(std::string(kHeader) + block + "allow a=0,0 b=0,0\n"),
            "c.trace:11:10: thread 'a' has fewer statements than outcomes listed");
  EXPECT_EQ(first_error(std::string(kHeader) + block + "allow a=EWHAT b=0,0\n"),
            "c.trace:11:9: unknown outcome 'EWHAT' (a number, an errno name, fd, dev, status, "
            "text or *)");
}

TEST(ConcurrentBlock, ThreadsShareOnlyWhatWasBoundBeforeTheBlock) {
  const std::string cross = "concurrent\nthread a\nd = open loop n rw\nthread b\nclose d\nend\n";
  ParseResult r = parse2(cross);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("variable 'd' is bound by another thread of the block"),
            std::string::npos)
      << r.errors[0].format();
  ParseResult own = parse2(
      "concurrent\nthread a\nd = open loop n rw\nclose d\nthread b\nclose "
      "ctl\nend\nclose d\n");
  EXPECT_TRUE(own.ok()) << own.errors.front().format();
}

TEST(ConcurrentBlock, NoExpectationAfterTheBlock) {
  ParseResult r = parse2(
      "concurrent\nthread a\nclose ctl\nthread b\nclose ctl\nend\nclose ctl "
      "=> EBADF\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("a statement after a concurrent block takes no `=>`"),
            std::string::npos)
      << r.errors[0].format();
}

TEST(ConcurrentBlock, ValidatorCatchesMalformedBlocksBuiltInCode) {
  ParseResult r = parse2(kRace);
  ASSERT_TRUE(r.ok());
  Trace t = r.trace;
  t.stmts[3].thread = 1;  // thread b's first statement moved to a: a is no longer contiguous
  std::swap(t.stmts[3], t.stmts[2]);
  t.stmts[2].thread = 2;
  EXPECT_FALSE(validate(t).empty());
  Trace v1 = r.trace;
  v1.version = 1;
  ASSERT_FALSE(validate(v1).empty());
  EXPECT_EQ(validate(v1)[0].message, "a concurrent block needs language version 2 (`@trace 2`)");
  Trace outside = r.trace;
  outside.stmts[0].thread = 1;
  EXPECT_FALSE(validate(outside).empty());
}

// `thread NAME process` (trace.h ThreadKind): a process of its own, whose fds are
// its own.
TEST(ConcurrentBlock, AProcessThreadParsesPrintsAndKeepsItsKind) {
  const std::string body =
      "concurrent\n"
      "thread udev process\n"
      "  u = open loop n ro\n"
      "  pread u 0 4096\n"
      "  close u\n"
      "thread admin\n"
      "  ioctl ctl LOOP_CTL_REMOVE n\n"
      "end\n";
  ParseResult r = parse2(body);
  ASSERT_TRUE(r.ok()) << r.errors.front().format();
  const ConcurrentBlock& b = r.trace.blocks[0];
  EXPECT_EQ(b.kinds, (std::vector<ThreadKind>{ThreadKind::Process, ThreadKind::Thread}));
  EXPECT_TRUE(validate(r.trace).empty());
  const std::string printed = print_trace(r.trace);
  EXPECT_NE(printed.find("thread udev process\n"), std::string::npos) << printed;
  ParseResult again = parse_trace(printed, "again.trace");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.trace.blocks[0].kinds, b.kinds);
}

std::string process_problem(const std::string& udev, const std::string& after = "") {
  ParseResult r = parse2("d = open loop n rw\nconcurrent\nthread udev process\n" + udev +
                         "thread admin\n  ioctl ctl LOOP_CTL_REMOVE n\nend\n" + after);
  if (!r.ok()) return r.errors.front().format();
  std::vector<TraceProblem> problems = validate(r.trace);
  return problems.empty() ? std::string("<valid>") : problems.front().message;
}

TEST(ConcurrentBlock, AProcessThreadUsesNoFdOfTheCheckerAndClosesItsOwn) {
  EXPECT_EQ(process_problem("  u = open loop n ro\n  close u\n"), "<valid>");
  // The checker's fds are not in the process's table: only device numbers cross.
  EXPECT_NE(process_problem("  pread d 0 512\n").find("only as a device number"),
            std::string::npos);
  EXPECT_NE(process_problem("  ioctl ctl LOOP_CTL_GET_FREE\n").find("only as a device number"),
            std::string::npos);
  // Its exit would close a leftover fd behind the model's back.
  EXPECT_NE(process_problem("  u = open loop n ro\n").find("must close every fd"),
            std::string::npos);
  EXPECT_NE(process_problem("  open loop n ro\n").find("binds its fd"), std::string::npos);
  // Nothing after the block reads what lived in the other process.
  EXPECT_NE(process_problem("  u = open loop n ro\n  close u\n", "close u\n")
                .find("lived in that process"),
            std::string::npos);
}

TEST(ConcurrentBlock, AnUnknownThreadAttributeIsAParseError) {
  EXPECT_NE(first_error(std::string(kHeader) +
                        "concurrent\nthread a daemon\n  close ctl\nthread b\n  close ctl\nend\n")
                .find("thread NAME [process]"),
            std::string::npos);
}
