// End-to-end tests of the `loopcheck` binary as a user runs it: exit codes,
// located error messages, record/replay.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

CliRun run_cli(const std::string& args) {
  std::string cmd = std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck " + args + " 2>&1";
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loopcheck-cli-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

const char* kGoodTrace = R"(@trace 1
file img size=10K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_GET_FREE
d = open loop n rw
f = open file img ro
ioctl d LOOP_SET_FD f                         => 0
sysfs n ro                                    => "1"
ioctl d LOOP_GET_STATUS64                     => {flags=READ_ONLY}
pwrite d 0 2 pattern=1                        => EPERM
ioctl d LOOP_CLR_FD                           => 0
ioctl d LOOP_CLR_FD                           => ENXIO
close d
close f
close ctl
)";

TEST_F(CliTest, PassingTraceExitsZeroAndCountsIt) {
  CliRun r = run_cli("run --target model " + write("good.trace", kGoodTrace));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\n1 passed, 0 failed\n"), std::string::npos) << r.out;
}

TEST_F(CliTest, FailedExpectationIsLocatedAndExitsOne) {
  std::string text = kGoodTrace;
  text.replace(text.find("=> ENXIO"), 8, "=> EBUSY");
  std::string path = write("bad_expect.trace", text);
  CliRun r = run_cli("run --target model " + path);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(path + ":12:1: step 10"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expected EBUSY, got ENXIO"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 passed, 1 failed"), std::string::npos) << r.out;
}

TEST_F(CliTest, NoExpectIgnoresWrittenExpectations) {
  std::string text = kGoodTrace;
  text.replace(text.find("=> ENXIO"), 8, "=> EBUSY");
  CliRun r = run_cli("run --target model --no-expect " + write("bad_expect.trace", text));
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST_F(CliTest, MalformedTraceIsReportedWithPositionAndNothingRuns) {
  std::string good = write("a_good.trace", kGoodTrace);
  std::string bad =
      write("b_bad.trace", "@trace 1\nctl = open loop-control rw\nioctl ctl LOOP_NO_SUCH 0\n");
  CliRun r = run_cli("run --target model " + good + " " + bad);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(bad + ":3:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PASS"), std::string::npos)
      << "a valid trace ran although another was malformed:\n"
      << r.out;
}

TEST_F(CliTest, MissingFileIsNamed) {
  CliRun r = run_cli("run --target model " + (dir_ / "nope.trace").string());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("nope.trace: no such file"), std::string::npos) << r.out;
}

TEST_F(CliTest, UnknownTargetAndProfileAreUsageErrors) {
  std::string good = write("good.trace", kGoodTrace);
  EXPECT_EQ(run_cli("run --target nosuch " + good).exit_code, 2);
  CliRun r = run_cli("run --profile linux-2.4 " + good);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown profile 'linux-2.4'"), std::string::npos) << r.out;
}

TEST_F(CliTest, RecordThenRunPassesAndRecordIsStable) {
  std::string no_expect =
      "@trace 1\nfile img size=10K\nctl = open loop-control rw\nn = ioctl ctl LOOP_CTL_GET_FREE\n"
      "d = open loop n rw\nf = open file img rw\nioctl d LOOP_SET_FD f\npwrite d 0 4096 pattern=3\n"
      "pread d 0 4096\nioctl d BLKGETSIZE64\nsysfs n size\nioctl d LOOP_GET_STATUS64\n"
      "ioctl d LOOP_CLR_FD\nclose d\nclose f\nclose ctl\n";
  CliRun rec = run_cli("record --target model " + write("plain.trace", no_expect));
  ASSERT_EQ(rec.exit_code, 0) << rec.out;
  EXPECT_NE(rec.out.find("=> 4096 data=pattern:3"), std::string::npos) << rec.out;
  EXPECT_NE(rec.out.find("=> \"20\""), std::string::npos) << rec.out;
  std::string recorded = write("recorded.trace", rec.out);
  CliRun again = run_cli("run --target model " + recorded);
  EXPECT_EQ(again.exit_code, 0) << again.out;
  CliRun rec2 = run_cli("record --target model " + recorded);
  EXPECT_EQ(rec2.out, rec.out) << "recording a recorded trace must be a fixed point";
}

TEST_F(CliTest, JsonOutputIsDeterministic) {
  std::string good = write("good.trace", kGoodTrace);
  CliRun a = run_cli("run --json " + good);
  CliRun b = run_cli("run --json " + good);
  EXPECT_EQ(a.exit_code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out.find("\"passed\": 1"), std::string::npos) << a.out;
}

// A device from before the trace: fsync of it unbound may also fail with EIO (the
// model's envelope rule fsync_write_cache_unknown).
const char* kHedgedTrace = R"(@trace 1
@env precreated=1
d = open loop 0 rw
fsync d                                       => 0 | EIO
close d                                       => 0
)";

TEST_F(CliTest, StrictFailsOnAHedgedPassAndNamesItsRule) {
  const std::string hedged = write("hedged.trace", kHedgedTrace);
  const std::string good = write("good.trace", kGoodTrace);
  EXPECT_EQ(run_cli("run --target model " + hedged).exit_code, 0);
  CliRun strict = run_cli("run --target model --strict " + hedged);
  EXPECT_EQ(strict.exit_code, 1) << strict.out;
  EXPECT_NE(strict.out.find("strict: 1 steps passed only inside a model envelope"),
            std::string::npos)
      << strict.out;
  EXPECT_NE(strict.out.find(hedged + ":4:1: step 2 `fsync d => 0 | EIO`: envelope "
                                     "(fsync_write_cache_unknown, errno)"),
            std::string::npos)
      << strict.out;
  CliRun strict_good = run_cli("run --target model --strict " + good);
  EXPECT_EQ(strict_good.exit_code, 0) << strict_good.out;
  CliRun strict_json = run_cli("run --target model --strict --json " + hedged);
  EXPECT_EQ(strict_json.exit_code, 1) << strict_json.out;
  CliRun strict_inproc = run_cli("run --target inproc --strict " + hedged);
  EXPECT_EQ(strict_inproc.exit_code, 0) << "inproc took the main branch: " << strict_inproc.out;
}

TEST_F(CliTest, JsonCountsStepClassesAndEnvelopeRules) {
  CliRun r = run_cli("run --target model --json " + write("hedged.trace", kHedgedTrace));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("steps").at("exact"), 2);
  EXPECT_EQ(j.at("steps").at("envelope"), 1);
  EXPECT_EQ(j.at("steps").at("unchecked"), 0);
  EXPECT_EQ(j.at("steps").at("skipped"), 0);
  EXPECT_EQ(j.at("steps").at("diverged"), 0);
  EXPECT_EQ(j.at("steps").at("expectation_failed"), 0);
  EXPECT_EQ(j.at("envelope_rules").at("fsync_write_cache_unknown").at("errno"), 1);
  EXPECT_EQ(j.at("envelope_rules").size(), 1u);
  const nlohmann::json& trace = j.at("traces").at(0);
  EXPECT_EQ(trace.at("hedged").at(0).at("rule"), "fsync_write_cache_unknown");
  EXPECT_EQ(trace.at("hedged").at(0).at("part"), "errno");
  EXPECT_EQ(trace.at("hedged").at(0).at("step"), 2);
}

// The model's count range survives record: `4096..16384 | EIO`, not `16384 | EIO`.
TEST_F(CliTest, RecordKeepsTheModelsCountRangeAndRoundTrips) {
  const std::string rundown =
      "@trace 1\nfile img size=64K\nctl = open loop-control rw\nn = ioctl ctl LOOP_CTL_ADD -1\n"
      "d = open loop n rw\nf = open file img rw\nioctl d LOOP_SET_FD f\n"
      "pread d 0 4096\nioctl d LOOP_CLR_FD\npread d 0 16384\n";
  CliRun rec = run_cli("record --target model " + write("rundown.trace", rundown));
  ASSERT_EQ(rec.exit_code, 0) << rec.out;
  EXPECT_NE(rec.out.find("pread d 0 16384 => 4096..16384 | EIO\n"), std::string::npos) << rec.out;
  const std::string recorded = write("recorded.trace", rec.out);
  CliRun again = run_cli("run --target model " + recorded);
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(run_cli("record --target model " + recorded).out, rec.out);
}

// A real target's recording must pass on the model too: bytes the model predicted
// are written as it describes them, and bytes it cannot predict carry no data=.
TEST_F(CliTest, RecordOnATargetWritesCheckableBytesAndPassesOnTheModel) {
  const std::string rundown =
      "@trace 1\nfile img size=64K\nctl = open loop-control rw\nn = ioctl ctl LOOP_CTL_ADD -1\n"
      "d = open loop n rw\nf = open file img rw\nioctl d LOOP_SET_FD f\n"
      "pread d 0 4096\nioctl d LOOP_CLR_FD\npread d 0 16384\n";
  CliRun rec = run_cli("record --target inproc " + write("rundown.trace", rundown));
  ASSERT_EQ(rec.exit_code, 0) << rec.out;
  EXPECT_NE(rec.out.find("pread d 0 4096 => 4096 data=zero*4096\n"), std::string::npos) << rec.out;
  EXPECT_EQ(rec.out.find("bytes:"), std::string::npos) << rec.out;
  EXPECT_NE(rec.out.find("pread d 0 16384 => 16384\n"), std::string::npos) << rec.out;
  const CliRun on_model = run_cli("run --target model " + write("recorded.trace", rec.out));
  EXPECT_EQ(on_model.exit_code, 0) << on_model.out;
}

// A finding minimized on the driver names device 0 and asks GET_FREE in an empty
// world; its portable form creates its devices, so every target can run it.
TEST_F(CliTest, FindingsPortableCreatesItsDevicesAndDropsTheEmptyWorld) {
  const std::string finding =
      "# signature: linux-6.18 pread: model 1, target EIO\n@trace 1\n@profile linux-6.18\n"
      "@env precreated=0\nfile img size=64K\nd = open loop 0 rw\nf = open file img rw\n"
      "ioctl d LOOP_SET_FD f\nctl = open loop-control rw\nn = ioctl ctl LOOP_CTL_GET_FREE\n"
      "e = open loop n rw\nioctl e LOOP_SET_FD d\npread e 0 512\n";
  CliRun out = run_cli("findings portable " + write("finding-0.trace", finding));
  ASSERT_EQ(out.exit_code, 0) << out.out;
  EXPECT_NE(out.out.find("hctl = open loop-control rw\nhdev = ioctl hctl LOOP_CTL_ADD -1\n"),
            std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("d = open loop hdev rw"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("n = ioctl ctl LOOP_CTL_ADD -1"), std::string::npos) << out.out;
  EXPECT_EQ(out.out.find("@env"), std::string::npos) << out.out;
  EXPECT_EQ(out.out.find("# signature"), std::string::npos) << out.out;
  const CliRun on_inproc = run_cli("run --target inproc " + write("portable.trace", out.out));
  EXPECT_EQ(on_inproc.exit_code, 0) << on_inproc.out;
}

TEST_F(CliTest, HelpAndVersion) {
  EXPECT_EQ(run_cli("--version").exit_code, 0);
  for (const char* cmd : {"run", "record", "conformance"}) {
    CliRun r = run_cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
  EXPECT_EQ(run_cli("").exit_code, 2);
}

// The line of `loopcheck profiles` that starts with `name`.
std::string line_of(const std::string& out, const std::string& name) {
  size_t at = out.find("\n" + name + " ");
  if (at == std::string::npos) return {};
  return out.substr(at + 1, out.find('\n', at + 1) - at - 1);
}

TEST_F(CliTest, ProfilesListsVariantsAndThePointReleaseOfAChange) {
  CliRun r = run_cli("profiles");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(line_of(r.out, "linux-6.1.70").find("6.1.70 - 6.1.190"), std::string::npos) << r.out;
  EXPECT_NE(line_of(r.out, "linux-6.1.192").find("6.1.192 and later"), std::string::npos);
  const std::string exclusive = line_of(r.out, "block_size_exclusive_check");
  EXPECT_NE(exclusive.find("no             yes            yes            yes"), std::string::npos)
      << exclusive;
  EXPECT_NE(exclusive.find("changed in 6.1.192 (no -> yes)"), std::string::npos) << exclusive;
  EXPECT_EQ(line_of(r.out, "deferred_detach").find("changed"), std::string::npos);

  CliRun j = run_cli("profiles --json");
  ASSERT_EQ(j.exit_code, 0) << j.out;
  EXPECT_NE(j.out.find("\"linux-6.1.70\": false"), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"release\": \"6.1.192\""), std::string::npos) << j.out;
}

// A trace pinned to a point-release variant runs under that variant on the model;
// a point release with no variant (6.1.191: never run) is an unknown profile.
TEST_F(CliTest, TracesPinnedToPointReleaseVariants) {
  const std::string body = R"(file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f                          => 0
x = open loop n rw excl
ioctl d LOOP_SET_BLOCK_SIZE 1024               => 0
)";
  CliRun before = run_cli("run " + write("old.trace", "@trace 1\n@profile linux-6.1.70\n" + body));
  EXPECT_EQ(before.exit_code, 0) << before.out;
  EXPECT_NE(before.out.find("(linux-6.1.70, model)"), std::string::npos) << before.out;
  // The series name means its newest variant, where the plain fd gets EBUSY.
  CliRun series = run_cli("run " + write("series.trace", "@trace 1\n@profile linux-6.1\n" + body));
  EXPECT_EQ(series.exit_code, 1) << series.out;
  EXPECT_NE(series.out.find("linux-6.1.192"), std::string::npos) << series.out;
  CliRun gap = run_cli("run " + write("gap.trace", "@trace 1\n@profile linux-6.1.191\n" + body));
  EXPECT_EQ(gap.exit_code, 2) << gap.out;
  EXPECT_NE(gap.out.find("unknown profile 'linux-6.1.191'"), std::string::npos) << gap.out;
}

}  // namespace

// Targets run at once still print in the order they were named, byte for byte
// as one at a time: the summary is what a nightly job diffs.
TEST_F(CliTest, ConformanceJobsKeepOutputInTargetOrder) {
  CliRun one = run_cli("conformance --target model --target inproc -j 1");
  CliRun two = run_cli("conformance --target inproc --target model -j 2");
  ASSERT_EQ(one.exit_code, 0) << one.out;
  ASSERT_EQ(two.exit_code, 0) << two.out;
  auto table = [](const std::string& out) { return out.substr(out.find("\ntarget")); };
  EXPECT_LT(table(one.out).find("\nmodel "), table(one.out).find("\ninproc "));
  EXPECT_LT(table(two.out).find("\ninproc "), table(two.out).find("\nmodel "));
  CliRun again = run_cli("conformance --target inproc --target model -j 2");
  EXPECT_EQ(table(two.out), table(again.out));
}

TEST_F(CliTest, ConformanceNamesAKernelItCannotBoot) {
  CliRun r = run_cli("conformance --target model --kernels not/a/version");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("not/a/version"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("passed"), std::string::npos) << "nothing may run: " << r.out;
}

// docs/custom-kernels.md: bad kernels, modules and sources stop before anything
// boots or builds, with exit 2 and a message naming the problem.
TEST_F(CliTest, CustomKernelAndModuleErrorsExitTwoBeforeBooting) {
  const std::string good = write("good.trace", kGoodTrace);
  const std::string not_image = write("vmlinux",
                                      "\x7f"
                                      "ELF, but not a bzImage");
  CliRun r = run_cli("run --target vm:" + not_image + " " + good);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(r.out.find("pass the bzImage") != std::string::npos ||
              r.out.find("qemu") != std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("PASS"), std::string::npos) << "nothing may run: " << r.out;
  r = run_cli("run --target vm:6.1.0-56-cloud-amd64 --loop-ko " + not_image + " " + good);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.out.find("PASS"), std::string::npos) << r.out;
  r = run_cli("loop-ko build --kernel 6.1.0-56-cloud-amd64 --source " + (dir_ / "none").string());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("does not exist"), std::string::npos) << r.out;
  r = run_cli("loop-ko build --kernel ../../etc --source " + dir_.string());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("is not a kernel release"), std::string::npos) << r.out;
  r = run_cli("conformance --target model --profile linux-2.4");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown profile 'linux-2.4'"), std::string::npos) << r.out;
}
