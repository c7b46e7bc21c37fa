// The C reproducer: every corpus trace becomes a program that compiles cleanly
// with gcc -Wall -Wextra -Werror, and on this machine's kernel the program
// agrees with a trace whose expectations hold and reports the exact step (and
// exits 1) where an expectation does not.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "targets/host/host_target.h"
#include "trace/trace_files.h"
#include "repro/c_reproducer.h"
#include "trace/parse.h"

namespace loopcheck::vm {
namespace {

namespace fs = std::filesystem;

class ReproC : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v gcc >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "SKIPPED: gcc is not installed";
    char tmpl[] = "/tmp/loopcheck-repro-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Writes the reproducer of `trace`, compiles it; returns the binary or "" (and fails).
  std::string compile(const Trace& trace, const std::string& stem) {
    std::string source = dir_ + "/" + stem + ".c";
    std::ofstream(source) << write_c_reproducer(trace);
    std::string binary = dir_ + "/" + stem;
    std::string log = dir_ + "/" + stem + ".log";
    std::string command =
        "gcc -Wall -Wextra -Werror -o " + binary + " " + source + " >" + log + " 2>&1";
    int rc = std::system(command.c_str());
    std::ifstream in(log);
    std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(rc, 0) << trace.source << " does not compile:\n" << output;
    return rc == 0 ? binary : "";
  }

  // Runs `binary`; returns its exit code and fills `output`.
  int run(const std::string& binary, std::string* output) {
    std::string log = binary + ".out";
    int status = std::system((binary + " >" + log + " 2>&1").c_str());
    std::ifstream in(log);
    output->assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string dir_;
};

Trace load(const std::string& relative) {
  LoadedTraces loaded = load_traces({std::string(LOOPCHECK_SOURCE_DIR) + "/" + relative});
  EXPECT_TRUE(loaded.ok() && loaded.traces.size() == 1) << relative;
  return loaded.traces.empty() ? Trace{} : loaded.traces.front();
}

TEST_F(ReproC, EveryCorpusTraceCompilesWithoutWarnings) {
  LoadedTraces corpus = load_traces({std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/conformance"});
  ASSERT_TRUE(corpus.ok());
  ASSERT_GT(corpus.traces.size(), 40u);
  // One gcc run for all of them keeps this test fast.
  std::string sources;
  for (size_t i = 0; i < corpus.traces.size(); ++i) {
    std::string source = dir_ + "/t" + std::to_string(i) + ".c";
    std::ofstream(source) << write_c_reproducer(corpus.traces[i]);
    sources += " " + source;
  }
  std::string log = dir_ + "/all.log";
  int rc = std::system(
      ("cd " + dir_ + " && gcc -Wall -Wextra -Werror -c" + sources + " >" + log + " 2>&1").c_str());
  std::ifstream in(log);
  EXPECT_EQ(rc, 0) << std::string((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
}

// The host runs need a usable loop driver; the trace adds and removes its own
// device (LOOP_CTL_ADD -1), so it touches nobody else's.
TEST_F(ReproC, AgreesWithAKernelThatMeetsTheExpectations) {
  std::string why;
  if (!host_loop_available(&why)) GTEST_SKIP() << "SKIPPED: no usable /dev/loop-control: " << why;
  std::string binary = compile(load("corpus/conformance/common/set_fd_basic.trace"), "agree");
  ASSERT_FALSE(binary.empty());
  std::string output;
  EXPECT_EQ(run(binary, &output), 0) << output;
  EXPECT_NE(output.find("step 7 line 13: ioctl d LOOP_SET_FD f => 0   ok"), std::string::npos)
      << output;
  EXPECT_NE(output.find("0 mismatch(es)"), std::string::npos) << output;
  EXPECT_EQ(output.find("MISMATCH"), std::string::npos) << output;
}

TEST_F(ReproC, ReportsTheStepWhereTheKernelDisagrees) {
  std::string why;
  if (!host_loop_available(&why)) GTEST_SKIP() << "SKIPPED: no usable /dev/loop-control: " << why;
  // A 1 MiB backing file gives 2048 sectors; this trace claims 4096, and a
  // bound device's LOOP_CLR_FD on an unbound one claims 0 where ENXIO comes.
  const char* text = R"(@trace 1
file img size=1M
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f => 0
sysfs n size => "4096"
pread d 0 4096 => 4096 data=zero
ioctl d LOOP_CLR_FD => 0
ioctl d LOOP_CLR_FD => 0 | EBUSY
close d => 0
close f => 0
ioctl ctl LOOP_CTL_REMOVE n => 0
close ctl => 0
)";
  ParseResult parsed = parse_trace(text, "wrong.trace");
  ASSERT_TRUE(parsed.errors.empty());
  std::string binary = compile(parsed.trace, "disagree");
  ASSERT_FALSE(binary.empty());
  std::string output;
  EXPECT_EQ(run(binary, &output), 1) << output;
  EXPECT_NE(
      output.find("step 6 line 8: sysfs n size => \"2048\"   MISMATCH: the trace expects \"4096\""),
      std::string::npos)
      << output;
  EXPECT_NE(output.find("step 7 line 9: pread d 0 4096 => 4096 bytes   ok"), std::string::npos)
      << output;
  EXPECT_NE(output.find("step 9 line 11: ioctl d LOOP_CLR_FD => ENXIO (6)   MISMATCH"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("2 mismatch(es)"), std::string::npos) << output;
}

}  // namespace
}  // namespace loopcheck::vm
