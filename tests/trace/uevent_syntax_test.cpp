// `uevents` in the language: the statement, its "EVENT, EVENT" expectation, how
// both print back, which texts are refused (with the position and the fix), and
// that a concurrent block may not read them.
#include <gtest/gtest.h>

#include <string>

#include "trace/expect.h"
#include "trace/ops.h"
#include "trace/parse.h"
#include "trace/print.h"
#include "trace/uevent.h"

namespace loopcheck {
namespace {

std::string first_error(const std::string& text) {
  ParseResult r = parse_trace(text, "u.trace");
  return r.errors.empty() ? std::string("<no error>") : r.errors[0].format();
}

constexpr const char* kTrace =
    "@trace 1\n"
    "\n"
    "uevents\n"
    "uevents => \"\"\n"
    "uevents => \"add loop3, change loop3 resize, change loop3 media, remove loop3p4\" | "
    "\"remove loop12\"\n";

TEST(UeventSyntax, TheStatementAndItsExpectationPrintBackTheSame) {
  ParseResult r = parse_trace(kTrace, "u.trace");
  ASSERT_TRUE(r.ok()) << r.errors[0].format();
  ASSERT_EQ(r.trace.stmts.size(), 3u);
  EXPECT_EQ(r.trace.stmts[0].op, op_uevents());
  EXPECT_EQ(r.trace.stmts[0].expect.count, 0);
  const ExpectAlt& empty = r.trace.stmts[1].expect.alt[0];
  EXPECT_EQ(empty.kind, ExpectAlt::Kind::Uevents);
  EXPECT_EQ(empty.uevents.count, 0);
  const UeventList& four = r.trace.stmts[2].expect.alt[0].uevents;
  ASSERT_EQ(four.count, 4);
  EXPECT_EQ(four.event[0], (Uevent{UeventAction::Add, UeventDetail::None, 0, 0, 3}));
  EXPECT_EQ(four.event[1].detail, UeventDetail::Resize);
  EXPECT_EQ(four.event[2].detail, UeventDetail::MediaChange);
  EXPECT_EQ(four.event[3], (Uevent{UeventAction::Remove, UeventDetail::None, 4, 0, 3}));
  EXPECT_EQ(print_trace(r.trace), kTrace);
}

TEST(UeventSyntax, AnExpectationMatchesExactlyItsEventsInOrder) {
  ParseResult r = parse_trace(kTrace, "u.trace");
  ASSERT_TRUE(r.ok());
  const Expectation& e = r.trace.stmts[2].expect;
  UeventList got;
  got.push({UeventAction::Remove, UeventDetail::None, 0, 0, 12});
  EXPECT_TRUE(expectation_matches(e, Outcome::events(got), {}));
  got.push({UeventAction::Add, UeventDetail::None, 0, 0, 12});
  EXPECT_FALSE(expectation_matches(e, Outcome::events(got), {}));
  got.lost = 1;
  got.count = 1;
  EXPECT_FALSE(expectation_matches(e, Outcome::events(got), {})) << "a lost list claims nothing";
}

TEST(UeventSyntax, MalformedEventsAreRefusedWithTheFix) {
  const std::string form =
      "write ACTION loopN[pK] [resize|media], ACTION one of add, remove, change, events "
      "separated by \", \"";
  EXPECT_EQ(first_error("@trace 1\nuevents => \"bind loop0\"\n"),
            "u.trace:2:12: 'bind loop0' is not an event: " + form);
  EXPECT_EQ(first_error("@trace 1\nuevents => \"add loop0p1 resize\"\n"),
            "u.trace:2:12: 'add loop0p1 resize' is not an event: " + form)
      << "only a whole disk's change carries a detail";
  EXPECT_EQ(first_error("@trace 1\nuevents => \"change loop01\"\n"),
            "u.trace:2:12: 'change loop01' is not an event: " + form);
  EXPECT_EQ(first_error("@trace 1\nuevents => \"add loop0,add loop1\"\n"),
            "u.trace:2:12: 'add loop0,add loop1' is not an event: " + form);
  EXPECT_EQ(first_error("@trace 1\nuevents => 0\n"),
            "u.trace:2:12: uevents yields events: expect a \"string\" of them or an errno");
  EXPECT_EQ(first_error("@trace 1\nsysfs 0 size => \"add loop0\"\nuevents => \"0\"\n"),
            "u.trace:3:12: '0' is not an event: " + form);
}

TEST(UeventSyntax, AtMostSixteenEventsFitAnExpectation) {
  std::string text;
  for (int i = 0; i <= kMaxUevents; ++i) text += (i ? ", " : "") + std::string("add loop0");
  EXPECT_EQ(first_error("@trace 1\nuevents => \"" + text + "\"\n"),
            "u.trace:2:12: at most 16 events fit one `uevents` expectation");
}

TEST(UeventSyntax, AConcurrentBlockMayNotReadThem) {
  EXPECT_EQ(first_error("@trace 2\nctl = open loop-control rw\nconcurrent\nthread a\nuevents\n"
                        "thread b\nclose ctl\nend\n"),
            "u.trace:5:1: `uevents` reads every thread's events: it belongs outside the block");
}

TEST(UeventSyntax, DeviceNamesOfDisksAndPartitions) {
  EXPECT_EQ(parse_loop_devname("loop7")->device, 7u);
  EXPECT_EQ(parse_loop_devname("loop7p2")->part, 2);
  EXPECT_FALSE(parse_loop_devname("loop7p0"));
  EXPECT_FALSE(parse_loop_devname("loop"));
  EXPECT_FALSE(parse_loop_devname("loop-control"));
  EXPECT_FALSE(parse_loop_devname("sda1"));
}

}  // namespace
}  // namespace loopcheck
