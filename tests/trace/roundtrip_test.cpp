// The canonical form: parse(print(t)) == t and printing is a fixed point.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "tests/trace/trace_gen.h"
#include "trace/parse.h"
#include "trace/print.h"

using namespace loopcheck;

namespace {

std::string errors_of(const ParseResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.format() + "\n";
  return out;
}

}  // namespace

RC_GTEST_PROP(TraceRoundTrip, ParsePrintIsIdentity, ()) {
  Trace t = *testgen::gen_trace();
  std::string text = print_trace(t);
  ParseResult r = parse_trace(text, "gen.trace");
  RC_LOG() << text << errors_of(r);
  RC_ASSERT(r.ok());
  RC_ASSERT(testgen::same_trace(t, r.trace));
}

RC_GTEST_PROP(TraceRoundTrip, PrintIsAFixedPoint, ()) {
  Trace t = *testgen::gen_trace();
  std::string once = print_trace(t);
  ParseResult r = parse_trace(once, "gen.trace");
  RC_ASSERT(r.ok());
  RC_ASSERT(print_trace(r.trace) == once);
}

TEST(TraceRoundTrip, HandWrittenTraceBecomesCanonical) {
  const char* text =
      "@trace 1\n"
      "@profile linux-6.18\n"
      "file img size=10240\n"
      "ctl = open loop-control rw   # control\n"
      "n = ioctl ctl LOOP_CTL_GET_FREE\n"
      "d = open loop n rw\n"
      "ioctl d LOOP_SET_STATUS64 {name=\"a\" flags=4|8 offset=0x200}  =>  0|EBUSY\n";
  ParseResult r = parse_trace(text, "t.trace");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  EXPECT_EQ(
      print_trace(r.trace),
      "@trace 1\n"
      "@profile linux-6.18\n"
      "\n"
      "file img size=10K\n"
      "\n"
      "ctl = open loop-control rw\n"
      "n = ioctl ctl LOOP_CTL_GET_FREE\n"
      "d = open loop n rw\n"
      "ioctl d LOOP_SET_STATUS64 {offset=512 flags=AUTOCLEAR|PARTSCAN name=\"a\"} => 0 | EBUSY\n");
}

// Near-valid input reaches deeper parser paths than random text: corrupt one
// byte of a printed trace and parse it; it must return (errors or not).
RC_GTEST_PROP(TraceRoundTrip, CorruptedTraceNeverCrashes, ()) {
  Trace t = *testgen::gen_trace();
  std::string text = print_trace(t);
  const size_t at = *rc::gen::inRange<size_t>(0, text.size());
  text[at] =
      *rc::gen::element('"', '\\', '{', '}', '|', '=', '-', '0', 'x', ' ', '\n', '*', ',', '@');
  ParseResult r = parse_trace(text, "bad.trace");
  RC_ASSERT(r.errors.size() <= kMaxParseErrors);
  if (r.ok()) RC_ASSERT(parse_trace(print_trace(r.trace), "again.trace").ok());
}
