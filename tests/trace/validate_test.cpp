// The validator: each rule it checks is detected on a Trace that breaks only that
// rule (built directly, as a transformation would, never through the parser), and
// every trace in the corpus validates.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trace/ops.h"
#include "trace/parse.h"
#include "trace/trace_files.h"
#include "trace/validate.h"

namespace loopcheck {
namespace {

// A valid base: a file, a loop-control fd, a device fd, a backing fd.
Trace base() {
  ParseResult r = parse_trace(
      "@trace 1\nfile img size=64K\n"
      "ctl = open loop-control rw\n"
      "n = ioctl ctl LOOP_CTL_GET_FREE\n"
      "dev = open loop n rw\n"
      "f = open file img rw\n",
      "base");
  EXPECT_TRUE(r.ok()) << r.errors[0].format();
  return r.trace;
}

Statement stmt(const Op& op, int bind = -1) {
  Statement s;
  s.op = op;
  s.bind = static_cast<int16_t>(bind);
  s.pos = SourcePos{99, 1};
  return s;
}

// The single problem `t` has, located at its last statement.
std::string only_problem(const Trace& t) {
  const std::vector<TraceProblem> problems = validate(t);
  EXPECT_EQ(problems.size(), 1u);
  if (problems.empty()) return "";
  EXPECT_EQ(problems[0].statement, static_cast<int>(t.stmts.size()) - 1);
  EXPECT_EQ(problems[0].pos.line, 99u);
  return problems[0].message;
}

constexpr uint8_t kCtl = 0, kIndex = 1, kDev = 2, kFile = 3;

TEST(Validate, TheBaseIsValid) {
  EXPECT_TRUE(validate(base()).empty());
}

TEST(Validate, AVariableUsedBeforeItIsBound) {
  Trace t = base();
  t.vars.push_back("later");
  t.stmts.push_back(stmt(op_close(Value::variable(4))));
  EXPECT_NE(only_problem(t).find("used before it is bound"), std::string::npos);
}

TEST(Validate, AVariableSlotOutOfRange) {
  Trace t = base();
  t.stmts.push_back(stmt(op_close(Value::variable(9))));
  EXPECT_NE(only_problem(t).find("past the 4 variables"), std::string::npos);
}

TEST(Validate, ABindingOutOfRangeOrOnAnOpWithoutAValue) {
  Trace t = base();
  t.stmts.push_back(stmt(op_open_loop_control(), 7));
  EXPECT_NE(only_problem(t).find("past the 4 variables"), std::string::npos);
  t = base();
  t.stmts.push_back(stmt(op_fsync(Value::variable(kDev)), kFile));
  EXPECT_NE(only_problem(t).find("only open and ioctl"), std::string::npos);
}

TEST(Validate, ArgumentKindsThatDoNotFitTheRequest) {
  Trace t = base();
  t.stmts.push_back(stmt(op_ioctl_null(Value::variable(kDev), Req::LoopSetFd)));
  EXPECT_NE(only_problem(t).find("LOOP_SET_FD does not take"), std::string::npos);
  t = base();
  t.stmts.push_back(stmt(op_ioctl_noarg(Value::variable(kDev), Req::LoopSetStatus64)));
  EXPECT_NE(only_problem(t).find("LOOP_SET_STATUS64 does not take"), std::string::npos);
  t = base();
  t.stmts.push_back(stmt(op_ioctl(Value::variable(kDev), Req::BlkGetSize64, Value::literal(1))));
  EXPECT_NE(only_problem(t).find("BLKGETSIZE64 does not take"), std::string::npos);
}

TEST(Validate, AFieldThatIsNotInTheRequestsStruct) {
  Trace t = base();
  StructFields f;
  f.set(Field::BlockSize, Value::literal(512));  // loop_config only
  t.stmts.push_back(stmt(op_ioctl_struct(Value::variable(kDev), Req::LoopSetStatus64, f)));
  EXPECT_NE(only_problem(t).find("'block_size' does not belong"), std::string::npos);
}

TEST(Validate, NumbersOutOfTheirAbiRange) {
  Trace t = base();
  StructFields f;
  f.set(Field::Flags, Value::literal(1ull << 32));  // lo_flags is a u32
  t.stmts.push_back(stmt(op_ioctl_struct(Value::variable(kDev), Req::LoopSetStatus64, f)));
  EXPECT_NE(only_problem(t).find("out of range for a u32"), std::string::npos);
  t = base();
  t.stmts.push_back(stmt(op_open_loop(Value::literal(1ull << 31), Access::Rw)));
  EXPECT_NE(only_problem(t).find("loop device index"), std::string::npos);
  t = base();
  t.stmts.push_back(stmt(op_pread(Value::variable(kDev), 0, kMaxIoLength + 1)));
  EXPECT_NE(only_problem(t).find("64M"), std::string::npos);
}

TEST(Validate, ObjectReferencesMustNameTheRightKindOfDeclaration) {
  Trace t = base();
  t.stmts.push_back(stmt(op_open_file(5, Access::Rw)));
  EXPECT_NE(only_problem(t).find("not declared"), std::string::npos);
  t = base();
  t.stmts.push_back(stmt(op_open_dir(0)));
  EXPECT_NE(only_problem(t).find("'img' is a file"), std::string::npos);
}

TEST(Validate, ANamedRequestKeptAsARawNumber) {
  Trace t = base();
  t.stmts.push_back(stmt(op_ioctl_raw(Value::variable(kDev), 0x4C00, Value::literal(3))));
  EXPECT_NE(only_problem(t).find("is LOOP_SET_FD"), std::string::npos);
}

Statement pread_expecting(const DataDesc& data, int64_t count) {
  Statement s = stmt(op_pread(Value::variable(kDev), 0, 4096));
  s.expect.count = 1;
  s.expect.alt[0].kind = ExpectAlt::Kind::Data;
  s.expect.alt[0].value = count;
  s.expect.alt[0].has_data = true;
  s.expect.alt[0].data = data;
  return s;
}

TEST(Validate, DataDescriptorsOutOfBounds) {
  DataDesc d;
  d.count = 2;
  d.seg[0].length = 3000;
  d.seg[1].length = 2000;  // 5000 bytes described, 4096 read
  Trace t = base();
  t.stmts.push_back(pread_expecting(d, 4096));
  EXPECT_NE(only_problem(t).find("cover more than the 4096 bytes"), std::string::npos);
  d.seg[1].length = 1000;  // 4000 bytes: short
  t.stmts.back() = pread_expecting(d, 4096);
  EXPECT_NE(only_problem(t).find("cover 4000 bytes but the read returns 4096"), std::string::npos);
  d.seg[0].length = 0;  // open-ended, but not last
  t.stmts.back() = pread_expecting(d, 4096);
  EXPECT_NE(only_problem(t).find("only the last run"), std::string::npos);
  d.count = kMaxDataSegments + 1;
  t.stmts.back() = pread_expecting(d, 4096);
  EXPECT_NE(only_problem(t).find("too many runs"), std::string::npos);
}

TEST(Validate, ExpectationsThatDoNotFitTheOperation) {
  Trace t = base();
  Statement s = stmt(op_close(Value::variable(kFile)));
  s.expect.count = 1;
  s.expect.alt[0].kind = ExpectAlt::Kind::Text;
  s.expect.alt[0].text = "1";
  t.stmts.push_back(s);
  EXPECT_NE(only_problem(t).find("applies only to sysfs"), std::string::npos);
  s.expect.alt[0].kind = ExpectAlt::Kind::Status;
  t.stmts.back() = s;
  EXPECT_NE(only_problem(t).find("LOOP_GET_STATUS"), std::string::npos);
  s.expect.alt[0].kind = ExpectAlt::Kind::Errno;
  s.expect.alt[0].err = 0;
  t.stmts.back() = s;
  EXPECT_NE(only_problem(t).find("not an error number"), std::string::npos);
}

TEST(Validate, ProblemsInTheHeaderAndDeclarations) {
  Trace t = base();
  t.objects.push_back(t.objects[0]);
  t.vars[kCtl] = "close";
  const std::vector<TraceProblem> problems = validate(t);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].message.find("invalid variable name 'close'"), std::string::npos);
  EXPECT_EQ(problems[1].object, 1);
  EXPECT_NE(problems[1].message.find("declared twice"), std::string::npos);
}

TEST(Validate, AProblemIsFormattedWithItsLocation) {
  Trace t = base();
  t.stmts.push_back(stmt(op_close(Value::variable(9))));
  const std::vector<TraceProblem> problems = validate(t);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].format(t).rfind("base:99:1: statement 5: ", 0), 0u)
      << problems[0].format(t);
}

TEST(ValidateDeathTest, AssertValidAbortsWithTheProblems) {
  Trace t = base();
  t.stmts.push_back(stmt(op_close(Value::variable(9))));
  EXPECT_DEATH(assert_valid(t, "the test"), "the test produced an invalid trace");
}

TEST(Validate, EveryCorpusTraceIsValid) {
  // The parser validates too, so an invalid trace would show as a load error.
  const LoadedTraces loaded = load_traces({LOOPCHECK_SOURCE_DIR "/corpus"});
  for (const std::string& e : loaded.errors) ADD_FAILURE() << e;
  ASSERT_GT(loaded.traces.size(), 500u);
  for (const Trace& t : loaded.traces) {
    for (const TraceProblem& p : validate(t)) ADD_FAILURE() << p.format(t);
  }
}

}  // namespace
}  // namespace loopcheck
