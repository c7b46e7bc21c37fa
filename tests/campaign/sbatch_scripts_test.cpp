// The sbatch scripts `loopcheck campaign --slurm` submits (campaign/slurm): their
// #SBATCH lines, and what they do when bash runs them outside Slurm (where the
// #SBATCH lines are comments) with a fake loopcheck that records its arguments:
// paths with spaces and quotes arrive intact, a crashed shard is retried, the
// merge leaves its exit code in merge.exit. Also submit_campaign's refusals that
// need no cluster. The real cluster is the `slurm` tier's business
// (tests/campaign/slurm_campaign_test.sh).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "campaign/slurm.h"
#include "targets/subprocess.h"

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

// Every user-visible path of a submission lives under a directory whose name has
// what shells and sbatch's own parser trip over.
class SbatchScripts : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("sbatch_scripts_test." + std::to_string(getpid()) + "/a b'c \"d\" $HOME `x`");
    fs::create_directories(root_ / "bin");
    fs::create_directories(root_ / "out dir" / "slurm");
    submission_.loopcheck = (root_ / "bin" / "loop check").string();
    submission_.config_path = (root_ / "it's smoke.toml").string();
    submission_.out_dir = (root_ / "out dir").string();
    // Records its arguments, counts its calls and exits with the next code of
    // FAKE_EXIT_CODES (0 once they run out).
    write(submission_.loopcheck,
          "#!/bin/bash\n"
          "dir=$(dirname \"$0\")\n"
          "printf '%s\\n' \"$@\" >\"$dir/args\"\n"
          "echo call >>\"$dir/calls\"\n"
          "n=$(wc -l <\"$dir/calls\")\n"
          "codes=($FAKE_EXIT_CODES)\n"
          "exit \"${codes[n-1]:-0}\"\n");
    fs::permissions(submission_.loopcheck, fs::perms::owner_all);
    write(submission_.config_path, "name = \"smoke\"\n");
  }
  void TearDown() override { fs::remove_all(root_.parent_path()); }

  // Runs `script` with bash as array task 2 (when it reads the variable); its exit code.
  int run(const std::string& script, const std::string& exit_codes) {
    const fs::path path = root_ / "out dir" / "slurm" / "job.sbatch";
    write(path, script);
    setenv("SLURM_ARRAY_TASK_ID", "2", 1);
    setenv("FAKE_EXIT_CODES", exit_codes.c_str(), 1);
    const vm::ProcessResult result = vm::run_process({"bash", path.string()});
    unsetenv("SLURM_ARRAY_TASK_ID");
    unsetenv("FAKE_EXIT_CODES");
    EXPECT_TRUE(result.started) << result.output;
    return result.exit_code;
  }
  std::vector<std::string> recorded_args() { return lines(read(root_ / "bin" / "args")); }
  size_t calls() { return lines(read(root_ / "bin" / "calls")).size(); }

  fs::path root_;
  SlurmSubmission submission_;
};

TEST_F(SbatchScripts, ArrayCoversEveryShardOneCpuEach) {
  submission_.shards = 4;
  const std::string script = array_job_script(submission_);
  EXPECT_NE(script.find("\n#SBATCH --array=0-3\n"), std::string::npos) << script;
  EXPECT_NE(script.find("\n#SBATCH --cpus-per-task=1\n"), std::string::npos);
  EXPECT_NE(script.find("\n#SBATCH --output=shard-%a.out\n"), std::string::npos);
  EXPECT_NE(script.find("--shards 4\n"), std::string::npos);
  submission_.shards = 1;
  EXPECT_NE(array_job_script(submission_).find("\n#SBATCH --array=0-0\n"), std::string::npos);
}

TEST_F(SbatchScripts, OnlyTheMergeDependsAndItHasNoArray) {
  // The dependency needs the array's id, so sbatch's command line carries it.
  EXPECT_EQ(array_job_script(submission_).find("--dependency"), std::string::npos);
  const std::string merge = merge_job_script(submission_);
  EXPECT_EQ(merge.find("#SBATCH --array"), std::string::npos);
  EXPECT_NE(merge.find("\n#SBATCH --output=merge.out\n"), std::string::npos);
  EXPECT_NE(merge.find(" --merge\n"), std::string::npos);
}

TEST_F(SbatchScripts, PartitionLineOnlyWhenSet) {
  for (const std::string& script : {array_job_script(submission_), merge_job_script(submission_)})
    EXPECT_EQ(script.find("--partition"), std::string::npos) << script;
  submission_.partition = "long";
  for (const std::string& script : {array_job_script(submission_), merge_job_script(submission_)})
    EXPECT_NE(script.find("\n#SBATCH --partition=long\n"), std::string::npos) << script;
}

TEST_F(SbatchScripts, TimeLimitInMinutesOrUnlimited) {
  submission_.time_limit_minutes = 45;
  EXPECT_NE(array_job_script(submission_).find("\n#SBATCH --time=45\n"), std::string::npos);
  submission_.time_limit_minutes = 0;
  EXPECT_NE(merge_job_script(submission_).find("\n#SBATCH --time=UNLIMITED\n"), std::string::npos);
}

// sbatch stops reading directives at the first command; and no user path may
// stand in a #SBATCH line, where sbatch's parser (not the shell's) would read it.
TEST_F(SbatchScripts, DirectivesComeFirstAndHoldNoPaths) {
  for (const std::string& script : {array_job_script(submission_), merge_job_script(submission_)}) {
    bool commands_started = false;
    for (const std::string& line : lines(script)) {
      const bool directive = line.starts_with("#SBATCH");
      if (directive) {
        EXPECT_FALSE(commands_started) << line;
        EXPECT_EQ(line.find(root_.filename().string()), std::string::npos) << line;
      }
      if (!line.empty() && !line.starts_with("#")) commands_started = true;
    }
  }
}

TEST_F(SbatchScripts, PathsWithSpacesAndQuotesReachLoopcheckIntact) {
  submission_.shards = 3;
  EXPECT_EQ(run(array_job_script(submission_), ""), 0);
  const std::vector<std::string> expected{"campaign", "--config",          submission_.config_path,
                                          "--out",    submission_.out_dir, "--shard",
                                          "2",        "--shards",          "3"};
  EXPECT_EQ(recorded_args(), expected);
  EXPECT_EQ(run(merge_job_script(submission_), ""), 0);
  const std::vector<std::string> merge{"campaign", "--config",          submission_.config_path,
                                       "--out",    submission_.out_dir, "--merge"};
  EXPECT_EQ(recorded_args(), merge);
}

TEST_F(SbatchScripts, ACrashedShardIsRetriedUpToRetriesTimes) {
  submission_.retries = 1;
  EXPECT_EQ(run(array_job_script(submission_), "3 0"), 0);
  EXPECT_EQ(calls(), 2u);
  fs::remove(root_ / "bin" / "calls");
  EXPECT_EQ(run(array_job_script(submission_), "3 4 0"), 4);  // the last attempt's code
  EXPECT_EQ(calls(), 2u);
  fs::remove(root_ / "bin" / "calls");
  submission_.retries = 0;
  EXPECT_EQ(run(array_job_script(submission_), "3 0"), 3);
  EXPECT_EQ(calls(), 1u);
}

TEST_F(SbatchScripts, AShardThatRanIsNotRetried) {
  submission_.retries = 3;
  EXPECT_EQ(run(array_job_script(submission_), "0 3"), 0);
  EXPECT_EQ(calls(), 1u);
}

TEST_F(SbatchScripts, MergeLeavesItsExitCodeInMergeExit) {
  const fs::path slurm_dir = root_ / "out dir" / "slurm";
  EXPECT_EQ(run(merge_job_script(submission_), "5"), 5);
  EXPECT_EQ(read(slurm_dir / "merge.exit"), "5 none\n");  // no SLURM_JOB_ID outside Slurm
  for (const auto& entry : fs::directory_iterator(slurm_dir))
    EXPECT_FALSE(entry.path().filename().string().ends_with(".tmp")) << entry.path();
  fs::remove(root_ / "bin" / "calls");
  setenv("SLURM_JOB_ID", "42", 1);
  EXPECT_EQ(run(merge_job_script(submission_), "0"), 0);
  unsetenv("SLURM_JOB_ID");
  EXPECT_EQ(read(slurm_dir / "merge.exit"), "0 42\n");
}

// Refusals before any Slurm program runs: no job ids, a reason naming the field.
TEST_F(SbatchScripts, SubmitRefusesWhatCannotWork) {
  struct Case {
    void (*change)(SlurmSubmission&);
    const char* expected;
  };
  const Case cases[] = {
      {[](SlurmSubmission& s) { s.shards = 0; }, "--shards"},
      {[](SlurmSubmission& s) { s.partition = "a;b"; }, "partition name 'a;b'"},
      {[](SlurmSubmission& s) { s.config_path = "smoke.toml"; }, "not absolute"},
      {[](SlurmSubmission& s) { s.out_dir = "out"; }, "not absolute"},
      {[](SlurmSubmission& s) { s.config_path += ".missing"; }, "no such config file"},
      {[](SlurmSubmission& s) { s.loopcheck = "/nonexistent/loopcheck"; }, "not an executable"},
  };
  for (const Case& c : cases) {
    SlurmSubmission s = submission_;
    c.change(s);
    const SlurmJobs jobs = submit_campaign(s);
    EXPECT_FALSE(jobs.ok);
    EXPECT_NE(jobs.error.find(c.expected), std::string::npos) << jobs.error;
    EXPECT_TRUE(jobs.array_job_id.empty());
  }
}

TEST_F(SbatchScripts, SubmitWithoutSbatchSaysWhatToInstall) {
  const std::string saved_path = getenv("PATH") ? getenv("PATH") : "";
  setenv("PATH", (root_ / "bin").c_str(), 1);  // holds only the fake loopcheck
  const SlurmJobs jobs = submit_campaign(submission_);
  setenv("PATH", saved_path.c_str(), 1);
  EXPECT_FALSE(jobs.ok);
  EXPECT_NE(jobs.error.find("apt-get install slurm-client"), std::string::npos) << jobs.error;
}

TEST_F(SbatchScripts, SubmitWithAMissingSlurmConfSaysHowToStartACluster) {
  if (!vm::program_in_path("sbatch")) GTEST_SKIP() << "sbatch not installed";
  const char* saved = getenv("SLURM_CONF");
  const std::string saved_conf = saved ? saved : "";
  setenv("SLURM_CONF", (root_ / "no-such-slurm.conf").c_str(), 1);
  const SlurmJobs jobs = submit_campaign(submission_);
  if (saved)
    setenv("SLURM_CONF", saved_conf.c_str(), 1);
  else
    unsetenv("SLURM_CONF");
  EXPECT_FALSE(jobs.ok);
  EXPECT_NE(jobs.error.find("does not exist"), std::string::npos) << jobs.error;
  EXPECT_NE(jobs.error.find("scripts/slurm-local.sh start"), std::string::npos) << jobs.error;
}

// A controller that does not answer: a slurm.conf naming a port nothing listens on.
TEST_F(SbatchScripts, SubmitWithNoControllerSaysHowToStartOne) {
  if (!vm::program_in_path("sbatch")) GTEST_SKIP() << "sbatch not installed";
  const fs::path conf = root_ / "slurm.conf";
  write(conf, "ClusterName=nowhere\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=1\n");
  const char* saved = getenv("SLURM_CONF");
  const std::string saved_conf = saved ? saved : "";
  setenv("SLURM_CONF", conf.c_str(), 1);
  const SlurmJobs jobs = submit_campaign(submission_);
  if (saved)
    setenv("SLURM_CONF", saved_conf.c_str(), 1);
  else
    unsetenv("SLURM_CONF");
  EXPECT_FALSE(jobs.ok);
  EXPECT_NE(jobs.error.find("no Slurm controller reachable"), std::string::npos) << jobs.error;
  EXPECT_NE(jobs.error.find("is DOWN"), std::string::npos) << jobs.error;
  EXPECT_EQ(jobs.error.find("*"), std::string::npos) << jobs.error;
  EXPECT_NE(jobs.error.find("scripts/slurm-local.sh start"), std::string::npos) << jobs.error;
}

}  // namespace
}  // namespace loopcheck::campaign
