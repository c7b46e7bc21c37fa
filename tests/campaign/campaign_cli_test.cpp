// `loopcheck campaign` end to end on the model and inproc targets: the report
// folder, determinism, --resume, the previous night's findings, bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

// Budgets far above what the tasks take (seconds), so a loaded test machine
// cannot turn a task into a timeout.
constexpr const char* kTinyConfig = R"(name = "tiny"
budget_seconds = 3600
[conformance]
targets = ["model"]
budget_seconds = 900
[[explore.scope]]
depth = 3
[explore]
budget_seconds = 900
[fuzz]
targets = ["inproc"]
seeds = [1, 2]
runs = 600
budget_seconds = 900
)";

struct CliRun {
  int exit_code = -1;
  std::string out;
};

CliRun run_cli(const std::string& args) {
  const std::string cmd = std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck " + args + " 2>&1";
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A run that exited 0, or a failure that shows what it printed.
::testing::AssertionResult ran_clean(const std::string& args) {
  const CliRun r = run_cli(args);
  if (r.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "loopcheck " << args << " exited " << r.exit_code << ":\n"
                                       << r.out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

nlohmann::json summary_of(const fs::path& dir) {
  return nlohmann::json::parse(read_text(dir / "summary.json"));
}

class CampaignCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loopcheck-campaign-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tiny.toml") << kTinyConfig;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string campaign(const std::string& out, const std::string& more = "") {
    return "campaign --config " + (dir_ / "tiny.toml").string() + " --out " +
           (dir_ / out).string() + " " + more;
  }
  fs::path dir_;
};

TEST_F(CampaignCli, WritesTheReportFolderAndTheSameResultsTwice) {
  const CliRun first = run_cli(campaign("a", "--night 2026-12-01"));
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("[4/4] fuzz-inproc-seed-2: ok"), std::string::npos) << first.out;
  for (const char* file :
       {"summary.json", "junit.xml", "summary.md", "index.html", "plan.json", "campaign.toml"})
    EXPECT_TRUE(fs::exists(dir_ / "a" / file)) << file;
  const nlohmann::json a = summary_of(dir_ / "a");
  EXPECT_EQ(a["schema"], 1);
  EXPECT_EQ(a["totals"]["tasks_ok"], 4);
  EXPECT_GT(a["totals"]["traces"].get<int>(), 100);
  EXPECT_EQ(a["fuzz"][0]["execs"], 600);
  EXPECT_EQ(a["matrix"]["targets"], nlohmann::json::array({"model"}));
  const CliRun second = run_cli(campaign("b", "--night 2026-12-01"));
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_EQ(summary_of(dir_ / "b")["results_digest"], a["results_digest"]);
}

TEST_F(CampaignCli, JunitParsesInAStandardConsumer) {
  ASSERT_TRUE(ran_clean(campaign("a")));
  const nlohmann::json s = summary_of(dir_ / "a");
  const std::string script =
      "from junitparser import JUnitXml; x = JUnitXml.fromfile('" +
      (dir_ / "a" / "junit.xml").string() +
      "'); print(sum(1 for suite in x for case in suite), sum(suite.failures for suite in x))";
  const std::string cmd = "/usr/bin/python3 -c \"" + script + "\" 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 256> buf{};
  const size_t n = fread(buf.data(), 1, buf.size() - 1, p);
  const int status = pclose(p);
  const std::string out(buf.data(), n);
  if (out.find("No module named 'junitparser'") != std::string::npos)
    GTEST_SKIP() << "SKIPPED: python3-junitparser not installed (apt-get install "
                    "python3-junitparser)";
  ASSERT_EQ(WEXITSTATUS(status), 0) << out;
  // One case per conformance trace of the model, one per explorer scope and fuzz task.
  const size_t traces = s["matrix"]["rows"].size();
  EXPECT_EQ(out, std::to_string(traces + 3) + " 0\n");
}

TEST_F(CampaignCli, ResumeRunsOnlyWhatDidNotFinish) {
  ASSERT_TRUE(ran_clean(campaign("a")));
  const std::string digest = summary_of(dir_ / "a")["results_digest"];
  const fs::path kept = dir_ / "a" / "tasks" / "conformance-model.json";
  const auto kept_time = fs::last_write_time(kept);
  fs::remove(dir_ / "a" / "tasks" / "fuzz-inproc-seed-2.json");  // as if killed during it
  fs::remove(dir_ / "a" / "summary.json");
  const CliRun again = run_cli(campaign("a"));
  EXPECT_EQ(again.exit_code, 2) << again.out;
  EXPECT_NE(again.out.find("--resume"), std::string::npos) << again.out;
  const CliRun resumed = run_cli(campaign("a", "--resume"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_EQ(resumed.out.find("conformance-model (budget"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("fuzz-inproc-seed-2 (budget"), std::string::npos) << resumed.out;
  EXPECT_EQ(fs::last_write_time(kept), kept_time);
  EXPECT_EQ(summary_of(dir_ / "a")["results_digest"], digest);
}

// Whether any process runs with `needle` in its command line.
bool process_running_with(const std::string& needle) {
  for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
    std::string cmdline = read_text(e.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) return true;
  }
  return false;
}

// SIGKILL during a fuzz task: no handler runs, yet the task dies with the
// campaign, and --resume finishes the night with the results of an unbroken run.
TEST_F(CampaignCli, KilledDuringATaskResumesToTheSameResults) {
  ASSERT_TRUE(ran_clean(campaign("whole")));
  const fs::path log = dir_ / "killed.log";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string binary = std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck";
    freopen(log.c_str(), "w", stderr);
    execl(binary.c_str(), binary.c_str(), "campaign", "--config", (dir_ / "tiny.toml").c_str(),
          "--out", (dir_ / "a").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const fs::path running = dir_ / "a" / "tasks" / "fuzz-inproc-seed-1.findings";
  for (int i = 0; i < 600 && read_text(log).find("fuzz-inproc-seed-1 (budget") == std::string::npos;
       ++i)
    usleep(50 * 1000);
  ASSERT_NE(read_text(log).find("fuzz-inproc-seed-1 (budget"), std::string::npos) << read_text(log);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  for (int i = 0; i < 100 && process_running_with(running.string()); ++i) usleep(50 * 1000);
  EXPECT_FALSE(process_running_with(running.string())) << "the task outlived its campaign";
  EXPECT_FALSE(fs::exists(dir_ / "a" / "summary.json"));
  const CliRun resumed = run_cli(campaign("a", "--resume"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_EQ(resumed.out.find("conformance-model (budget"), std::string::npos) << resumed.out;
  EXPECT_EQ(summary_of(dir_ / "a")["results_digest"], summary_of(dir_ / "whole")["results_digest"]);
}

// What a Slurm merge does when a shard never ran: its tasks run in the merge,
// marked retried, and the night's results are those of an unbroken local run.
// Merging again changes nothing.
TEST_F(CampaignCli, AMergeRunsWhatNoShardFinished) {
  ASSERT_TRUE(ran_clean(campaign("whole")));
  const CliRun shard = run_cli(campaign("a", "--shard 0 --shards 2"));
  ASSERT_EQ(shard.exit_code, 0) << shard.out;
  EXPECT_FALSE(fs::exists(dir_ / "a" / "summary.json"));  // a shard writes no report
  const CliRun merge = run_cli(campaign("a", "--merge"));
  ASSERT_EQ(merge.exit_code, 0) << merge.out;
  EXPECT_NE(merge.out.find("no shard finished it; running it here"), std::string::npos)
      << merge.out;
  const nlohmann::json merged = summary_of(dir_ / "a");
  EXPECT_EQ(merged["totals"]["tasks_retried"], 2);  // tasks 2 and 4 of 4 were shard 1's
  EXPECT_EQ(merged["results_digest"], summary_of(dir_ / "whole")["results_digest"]);
  const CliRun again = run_cli(campaign("a", "--merge"));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(again.out.find("running it here"), std::string::npos) << again.out;
  EXPECT_EQ(summary_of(dir_ / "a")["results_digest"], merged["results_digest"]);
}

// A finding the previous night reported that no longer reproduces is fixed
// tonight; one that never was a trace cannot be rerun and stays open.
TEST_F(CampaignCli, ThePreviousNightsFindingsAreRerun) {
  ASSERT_TRUE(ran_clean(campaign("2026-12-01", "--night 2026-12-01")));
  const fs::path before = dir_ / "2026-12-01";
  fs::create_directories(before / "findings" / "inproc");
  std::ofstream(before / "findings" / "inproc" / "finding-00000000000000aa.trace")
      << "# signature: linux-6.18 LOOP_CLR_FD: model 0, target EBUSY\n@trace 1\n"
         "@profile linux-6.18\nctl = open loop-control rw\n";
  nlohmann::json s = summary_of(before);
  s["findings"] = nlohmann::json::array({{{"id", "inproc/finding-00000000000000aa"},
                                          {"signature", "x"},
                                          {"status", "new"},
                                          {"first_seen", "2026-12-01"}},
                                         {{"id", "inproc/finding-00000000000000bb"},
                                          {"signature", "y"},
                                          {"status", "open"},
                                          {"first_seen", "2026-11-30"}}});
  std::ofstream(before / "summary.json") << s.dump(2);
  const CliRun next = run_cli(campaign("2026-12-02", "--night 2026-12-02"));
  EXPECT_EQ(next.exit_code, 1) << next.out;  // one finding is still open
  const nlohmann::json now = summary_of(dir_ / "2026-12-02");
  EXPECT_EQ(now["campaign"]["previous"], "../2026-12-01");
  ASSERT_EQ(now["findings"].size(), 2u);
  EXPECT_EQ(now["findings"][0]["status"], "fixed");
  EXPECT_EQ(now["findings"][1]["status"], "open");
  EXPECT_EQ(now["findings"][1]["first_seen"], "2026-11-30");
  EXPECT_EQ(now["history"].size(), 2u);
  EXPECT_TRUE(
      fs::exists(dir_ / "2026-12-02" / "findings" / "inproc" / "finding-00000000000000aa.trace"));
  EXPECT_NE(read_text(dir_ / "2026-12-02" / "summary.md").find("1 still open"), std::string::npos);
}

TEST_F(CampaignCli, BadInputIsNamedAndNothingRuns) {
  std::ofstream(dir_ / "bad.toml") << "name = \"x\"\n[fuzz]\ntargets = [\"inproc\"]\nruns = -1\n";
  const CliRun bad = run_cli("campaign --config " + (dir_ / "bad.toml").string() + " --out " +
                             (dir_ / "x").string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("bad.toml:4:"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(dir_ / "x"));
  const CliRun missing =
      run_cli("campaign --config /nonexistent.toml --out " + (dir_ / "y").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("/nonexistent.toml"), std::string::npos) << missing.out;
}

TEST_F(CampaignCli, TheDiskBoundSkipsTasksAndSaysSo) {
  fs::create_directories(dir_ / "a");
  std::ofstream(dir_ / "a" / "filler") << std::string(2 << 20, 'x');
  const CliRun r = run_cli(campaign("a", "--max-disk 1"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const nlohmann::json s = summary_of(dir_ / "a");
  EXPECT_EQ(s["totals"]["tasks_skipped"], 4);
  EXPECT_NE(r.out.find("disk bound"), std::string::npos) << r.out;
}

}  // namespace
