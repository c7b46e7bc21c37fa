// The findings store: one runnable trace per signature, named by the signature's
// hash, with the signature in its header; storing a known signature again writes
// nothing; known_signatures reads back what was stored. Real files in a scratch
// directory under /var/tmp.
#include "fuzz/findings.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "trace/parse.h"
#include "trace/print.h"
#include "trace/trace_files.h"

namespace loopcheck::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTraceText = R"(@trace 1
@profile linux-6.12
file img size=64K
ctl = open loop-control rw
n = ioctl ctl LOOP_CTL_ADD -1
d = open loop n rw
f = open file img rw
ioctl d LOOP_SET_FD f                          => 0
pread d 0 4096                                 => 4096 data=zero
)";

class FindingsStore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/lc-findings-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    scratch_ = tmpl;
    dir_ = scratch_ + "/findings";  // not there yet: store_finding creates it
    ParseResult parsed = parse_trace(kTraceText, "finding.trace");
    ASSERT_TRUE(parsed.ok()) << parsed.errors.front().format();
    trace_ = parsed.trace;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
  static Finding finding(std::string signature) {
    Finding f;
    f.kind = Finding::Kind::Divergence;
    f.step = 5;
    f.signature = std::move(signature);
    f.detail = "model 4096 data=zero\ntarget EIO";
    return f;
  }
  size_t files_in_dir() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string scratch_, dir_;
  Trace trace_;
};

TEST_F(FindingsStore, TheFileIsNamedByTheSignaturesHash) {
  const std::string sig = "pread | 4096 | EIO";
  EXPECT_EQ(finding_file_name(sig),
            fmt::format("finding-{:016x}.trace", XXH3_64bits(sig.data(), sig.size())));
  EXPECT_EQ(finding_file_name(sig), finding_file_name(sig));
  EXPECT_NE(finding_file_name(sig), finding_file_name(sig + " "));
  EXPECT_EQ(finding_file_name("").size(), std::string("finding-.trace").size() + 16);
}

TEST_F(FindingsStore, AStoredFindingIsARunnableTraceWithItsSignatureInTheHeader) {
  const std::string path =
      store_finding(dir_, trace_, finding("pread | 4096 | EIO"), "loopcheck fuzz --target inproc");
  ASSERT_EQ(path, dir_ + "/" + finding_file_name("pread | 4096 | EIO"));
  const std::string text = read(path);
  EXPECT_TRUE(
      text.starts_with("# signature: pread | 4096 | EIO\n"
                       "# found by: loopcheck fuzz --target inproc (profile linux-6.12)\n"
                       "# fails at statement 6 of 6\n"
                       "# model 4096 data=zero\n"
                       "# target EIO\n"))
      << text;
  EXPECT_TRUE(text.ends_with(print_trace(trace_))) << text;
  ParseResult reparsed = parse_trace(text, path);
  ASSERT_TRUE(reparsed.ok()) << reparsed.errors.front().format();
  EXPECT_EQ(print_trace(reparsed.trace), print_trace(trace_));
  EXPECT_FALSE(fs::exists(path + ".partial"));
}

TEST_F(FindingsStore, StoringAKnownSignatureAgainWritesNothing) {
  const std::string first = store_finding(dir_, trace_, finding("sig-a"), "test");
  ASSERT_FALSE(first.empty());
  const std::string before = read(first);
  Trace other = trace_;
  other.stmts.pop_back();  // a different (say, shorter) trace with the same signature
  EXPECT_EQ(store_finding(dir_, other, finding("sig-a"), "test"), "");
  EXPECT_EQ(files_in_dir(), 1u);
  EXPECT_EQ(read(first), before) << "the stored finding is not overwritten";
  EXPECT_FALSE(store_finding(dir_, trace_, finding("sig-b"), "test").empty());
  EXPECT_EQ(files_in_dir(), 2u);
}

TEST_F(FindingsStore, KnownSignaturesReadsBackWhatWasStored) {
  EXPECT_TRUE(known_signatures(dir_).empty()) << "a missing directory knows nothing";
  store_finding(dir_, trace_, finding("open loop | ENXIO"), "test");
  store_finding(dir_, trace_, finding("LOOP_SET_FD | EBUSY"), "test");
  // A finding someone filed in a subdirectory, and a file that is no trace.
  fs::create_directories(dir_ + "/triaged");
  fs::rename(dir_ + "/" + finding_file_name("LOOP_SET_FD | EBUSY"),
             dir_ + "/triaged/" + finding_file_name("LOOP_SET_FD | EBUSY"));
  std::ofstream(dir_ + "/notes.txt") << "# signature: not a finding\n";
  EXPECT_EQ(known_signatures(dir_),
            (std::set<std::string>{"open loop | ENXIO", "LOOP_SET_FD | EBUSY"}));
  EXPECT_EQ(store_finding(dir_, trace_, finding("LOOP_SET_FD | EBUSY"), "test"), "")
      << "a finding moved into a subdirectory is still known";
}

TEST_F(FindingsStore, OnlyTheHeaderIsReadForSignatures) {
  fs::create_directories(dir_);
  std::ofstream(dir_ + "/handwritten.trace") << "# signature: in the header\n@trace 1\n"
                                             << "# signature: after the first statement line\n";
  EXPECT_EQ(known_signatures(dir_), (std::set<std::string>{"in the header"}));
}

TEST_F(FindingsStore, StoredFindingsLoadAsTraces) {
  store_finding(dir_, trace_, finding("one"), "test");
  store_finding(dir_, trace_, finding("two"), "test");
  LoadedTraces loaded = load_traces({dir_});
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front();
  ASSERT_EQ(loaded.traces.size(), 2u);
  for (const Trace& t : loaded.traces) EXPECT_EQ(print_trace(t), print_trace(trace_));
}

// ---- editing a stored finding's header ----------------------------------------------

constexpr std::string_view kStoredFinding =
    "# signature: linux-6.12 pread: model data 4096 (zero), target EIO\n"
    "# triage (open): one template line\n"
    "# fails at statement 6 of 6\n"
    "@trace 1\n"
    "# a comment after the first statement line is not header\n";

TEST(FindingHeader, ReadsAValueFromTheHeaderOnly) {
  EXPECT_EQ(header_value(kStoredFinding, "# signature: "),
            "linux-6.12 pread: model data 4096 (zero), target EIO");
  EXPECT_EQ(header_value(kStoredFinding, "# fails at "), "statement 6 of 6");
  EXPECT_FALSE(header_value(kStoredFinding, "# a comment").has_value());
}

TEST(FindingHeader, ReplacesTheSignatureLineInPlace) {
  const std::string text = with_signature(kStoredFinding, "new signature");
  EXPECT_EQ(text,
            "# signature: new signature\n# triage (open): one template line\n"
            "# fails at statement 6 of 6\n@trace 1\n"
            "# a comment after the first statement line is not header\n");
  EXPECT_TRUE(with_signature("@trace 1\n", "s").starts_with("# signature: s\n@trace 1\n"));
}

TEST(FindingHeader, TriageLinesReplaceTheirKernelsAndKeepTheOthers) {
  // The template line names no kernel: it goes.
  const std::string text =
      with_triage_lines(kStoredFinding, {"# triage A (p): x", "# triage host 6.18 (p): y"});
  EXPECT_EQ(text,
            "# signature: linux-6.12 pread: model data 4096 (zero), target EIO\n"
            "# triage A (p): x\n# triage host 6.18 (p): y\n# fails at statement 6 of 6\n"
            "@trace 1\n# a comment after the first statement line is not header\n");
  // Recording one kernel again replaces its line in place; a new kernel follows;
  // a kernel not triaged this time keeps its line.
  EXPECT_EQ(with_triage_lines(text, {"# triage C (p): z", "# triage host 6.18 (p): w"}),
            "# signature: linux-6.12 pread: model data 4096 (zero), target EIO\n"
            "# triage A (p): x\n# triage host 6.18 (p): w\n# triage C (p): z\n"
            "# fails at statement 6 of 6\n@trace 1\n"
            "# a comment after the first statement line is not header\n");
}

}  // namespace
}  // namespace loopcheck::fuzz
