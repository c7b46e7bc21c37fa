// `loopcheck prove` as a user runs it: results and expectations in JSON, the same
// document on every run, exit 1 on a timeout, exit 2 with a message on bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
};

// `stderr_too`: capture stderr instead of stdout (messages), else stdout alone (documents).
CliRun run_prove(const std::string& args, bool stderr_too = false) {
  const std::string cmd = std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck prove " + args +
                          (stderr_too ? " 2>&1 >/dev/null" : " 2>/dev/null");
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(ProofsCli, JsonListsResultAndExpectationAndIsDeterministic) {
  const std::string args = "--profile linux-6.18 --property model.block-size-argument-kept --json";
  const CliRun first = run_prove(args);
  const CliRun second = run_prove(args);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_EQ(first.out, second.out) << "timings or solver state leaked into --json";

  const nlohmann::json doc = nlohmann::json::parse(first.out);
  ASSERT_EQ(doc.at("properties").size(), 1u);
  const nlohmann::json& p = doc.at("properties").at(0);
  EXPECT_EQ(p.at("name"), "model.block-size-argument-kept");
  EXPECT_EQ(p.at("profile"), "linux-6.18");
  EXPECT_EQ(p.at("result"), "counterexample");
  EXPECT_EQ(p.at("expected"), "counterexample");
  EXPECT_TRUE(p.at("counterexample").contains("arg"));
  EXPECT_FALSE(p.contains("milliseconds"));
}

TEST(ProofsCli, TextShowsEachResultWithItsTime) {
  const CliRun r = run_prove("--profile linux-6.1 --property model.block-size-argument-kept");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("model.block-size-argument-kept"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("proved"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ms"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 results: 1 as expected, 0 unexpected, 0 unknown"), std::string::npos)
      << r.out;
}

TEST(ProofsCli, CounterexampleValuesArePrinted) {
  const CliRun r = run_prove("--profile linux-6.12 --property model.whole-blocks.any-geometry");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("counterexample: backing_bytes="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("block_size="), std::string::npos) << r.out;
}

TEST(ProofsCli, TimeoutIsUnknownAndFails) {
  // No bit-vector proof of the window property fits in a millisecond.
  const CliRun r = run_prove(
      "--profile linux-6.18 --property model.mapping-inside-window --timeout-ms 1 --json");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc.at("properties").at(0).at("result"), "unknown");
  EXPECT_EQ(doc.at("properties").at(0).at("expected"), "proved");
}

TEST(ProofsCli, BadInputIsAUsageError) {
  CliRun r = run_prove("--profile linux-5.4", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown profile 'linux-5.4'"), std::string::npos) << r.out;

  r = run_prove("--property no.such.property", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("no property is named 'no.such.property'"), std::string::npos) << r.out;

  r = run_prove("--timeout-ms 0", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--timeout-ms"), std::string::npos) << r.out;
}

}  // namespace
