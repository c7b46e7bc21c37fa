// The campaign report as a browser shows it: the fixture rendered with
// write_html_report, then loaded in headless Chromium. --dump-dom gives the DOM
// after parsing (a misnested table would have its rows moved out), --screenshot a
// PNG kept as a CI artifact (build-debug/artifacts/report-index.png), and
// Chromium's log must hold no console message: the pages have no script, so any
// message at all (a failed load, a parse error in a script) is a defect. Chromium
// logs every console level as INFO:CONSOLE, so the check cannot be narrower; a
// planted console.error proves it sees them. Tier `browser`: skips loudly without
// /usr/bin/chromium (or $LOOPCHECK_CHROMIUM).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "campaign/html_report.h"

namespace loopcheck::campaign {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr auto kChromiumTimeout = std::chrono::seconds(60);
constexpr int kScreenshotWidthPx = 1280;
constexpr int kScreenshotHeightPx = 2000;
constexpr uintmax_t kMinScreenshotBytes = 20 * 1024;  // a blank page is ~5 KB

std::string chromium_binary() {
  const char* env = std::getenv("LOOPCHECK_CHROMIUM");
  return env && *env ? env : "/usr/bin/chromium";
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

// The text between the first `from` and the next `to` after it ("" when absent).
std::string between(const std::string& text, std::string_view from, std::string_view to) {
  const size_t start = text.find(from);
  if (start == std::string::npos) return "";
  const size_t end = text.find(to, start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "loopcheck-browser-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct BrowserRun {
  std::string error;  // could not start
  int exit_code = -1;
  bool timed_out = false;
  std::string out, err;
};

// Starts argv in a process group of its own (Chromium forks a zygote, renderers,
// a GPU process), stdout and stderr to files; no shell, so no quoting to get wrong.
pid_t spawn(std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return pid;
}

// Waits for the group leader; past the timeout, kills the group so that a hang
// fails the test instead of blocking the suite. The leader is reaped only after its
// group is killed: until then its pid (the group's id) cannot be reused, so the
// kill reaches only the processes this test started.
BrowserRun run_chromium(std::vector<std::string> extra, const fs::path& work,
                        const std::string& tag) {
  std::vector<std::string> args{chromium_binary(),
                                "--headless=new",
                                "--no-sandbox",  // root in a container has no user namespace
                                "--disable-gpu",
                                "--no-first-run",
                                "--no-default-browser-check",
                                "--disable-dev-shm-usage",
                                "--user-data-dir=" + (work / ("profile-" + tag)).string(),
                                "--enable-logging=stderr",
                                "--v=0"};
  args.insert(args.end(), extra.begin(), extra.end());
  const fs::path out = work / (tag + ".stdout"), err = work / (tag + ".stderr");
  BrowserRun run;
  const pid_t pid = spawn(args, out, err);
  if (pid < 0) {
    run.error = args[0] + ": " + std::strerror(errno);
    return run;
  }
  const auto deadline = std::chrono::steady_clock::now() + kChromiumTimeout;
  siginfo_t info{};
  while (true) {
    info.si_pid = 0;
    if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      run.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(-pid, SIGKILL);  // stragglers of a finished run, everything of a hung one
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = read(out);
  run.err = read(err);
  return run;
}

std::string file_url(const fs::path& path) {
  return "file://" + fs::absolute(path).string();
}

// Chromium's log lines of page console messages (`...:INFO:CONSOLE:1] "msg", source:
// ...`) and uncaught exceptions.
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos)
      lines.push_back(line);
  }
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

class BrowserReport : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(chromium_binary().c_str(), X_OK) != 0) {
      std::fprintf(stderr,
                   "\n*** SKIPPED: chromium not installed (apt-get install chromium): "
                   "%s is not executable ***\n\n",
                   chromium_binary().c_str());
      GTEST_SKIP() << "SKIPPED: chromium not installed (apt-get install chromium)";
    }
    std::ifstream in(fs::path(LOOPCHECK_SOURCE_DIR) / "tests/campaign/testdata/summary.json");
    summary_ = json::parse(in);
    report_ = dir_.path() / "report";
    write_html_report(report_, summary_);
  }

  TempDir dir_;
  json summary_;
  fs::path report_;
};

// The PNG's IHDR width and height (0, 0 when it is not a PNG).
std::pair<uint32_t, uint32_t> png_size(const std::string& png) {
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  const auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(png[at])) << 24 | uint32_t(uint8_t(png[at + 1])) << 16 |
           uint32_t(uint8_t(png[at + 2])) << 8 | uint32_t(uint8_t(png[at + 3]));
  };
  return {be32(16), be32(20)};
}

TEST_F(BrowserReport, RenderedDomHasTheTablesPlotsAndMatrix) {
  const BrowserRun run =
      run_chromium({"--dump-dom", file_url(report_ / "index.html")}, dir_.path(), "dom");
  ASSERT_EQ(run.error, "");
  ASSERT_FALSE(run.timed_out) << "chromium hung (killed after 60 s); its log:\n" << run.err;
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string& dom = run.out;
  ASSERT_NE(dom.find("<section id=\"findings\">"), std::string::npos) << dom.substr(0, 2000);
  // Rows the parser kept inside their tables: foster-parented rows would be outside.
  const std::string findings = between(dom, "<table class=\"findings\">", "</table>");
  EXPECT_EQ(count(findings, "<tr class=\"finding\">"), summary_["findings"].size()) << findings;
  const std::string stages = between(dom, "<table class=\"stages\">", "</table>");
  EXPECT_EQ(count(stages, "<tr class=\"stage\">"), summary_["stages"].size()) << stages;
  // SVG parsed as SVG: each plot keeps its drawn children.
  EXPECT_EQ(count(dom, "<svg class=\"plot\""), 4u);
  EXPECT_GE(count(between(dom, "<section id=\"plots\">", "</section>"), "<polyline"), 5u);
  EXPECT_GE(count(between(dom, "<section id=\"explore\">", "</section>"), "<rect"), 2u);
  const std::string matrix = between(dom, "<section id=\"matrix\">", "</section>");
  EXPECT_EQ(count(matrix, "<td class=\"cell c-fail\""), 1u) << matrix;
  EXPECT_EQ(count(matrix, "<td class=\"cell "), 18u) << matrix;
  EXPECT_NE(matrix.find("<details id=\"matrix-all-pass\">"), std::string::npos) << matrix;
  EXPECT_EQ(dom.find("<script"), std::string::npos);
  const std::vector<std::string> console = console_lines(run.err);
  EXPECT_TRUE(console.empty()) << "console messages:\n" << joined(console);
}

TEST_F(BrowserReport, FindingPageRendersWithoutConsoleMessages) {
  const fs::path page = report_ / summary_["findings"][2]["page"].get<std::string>();  // vm:...
  const BrowserRun run = run_chromium({"--dump-dom", file_url(page)}, dir_.path(), "finding");
  ASSERT_EQ(run.error, "");
  ASSERT_FALSE(run.timed_out) << "chromium hung (killed after 60 s); its log:\n" << run.err;
  EXPECT_NE(run.out.find("<pre id=\"trace\">"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("href=\"../../index.html\""), std::string::npos) << run.out;
  const std::vector<std::string> console = console_lines(run.err);
  EXPECT_TRUE(console.empty()) << "console messages:\n" << joined(console);
}

TEST_F(BrowserReport, ScreenshotIsSavedAsAnArtifact) {
  const fs::path png = dir_.path() / "report-index.png";
  const BrowserRun run =
      run_chromium({"--hide-scrollbars", "--screenshot=" + png.string(),
                    fmt::format("--window-size={},{}", kScreenshotWidthPx, kScreenshotHeightPx),
                    file_url(report_ / "index.html")},
                   dir_.path(), "screenshot");
  ASSERT_EQ(run.error, "");
  ASSERT_FALSE(run.timed_out) << "chromium hung (killed after 60 s); its log:\n" << run.err;
  ASSERT_TRUE(fs::exists(png)) << "no screenshot; chromium's log:\n" << run.err;
  EXPECT_GE(fs::file_size(png), kMinScreenshotBytes);
  EXPECT_EQ(png_size(read(png)),
            std::make_pair(uint32_t(kScreenshotWidthPx), uint32_t(kScreenshotHeightPx)));
  const fs::path artifacts = fs::path(LOOPCHECK_BINARY_DIR) / "artifacts";
  fs::create_directories(artifacts);
  fs::copy_file(png, artifacts / "report-index.png", fs::copy_options::overwrite_existing);
  const std::vector<std::string> console = console_lines(run.err);
  EXPECT_TRUE(console.empty()) << "console messages:\n" << joined(console);
}

// The console check is only worth something if Chromium's log shows console
// messages at all in this configuration: a planted error must be caught.
TEST_F(BrowserReport, ConsoleCheckCatchesAPlantedError) {
  const fs::path page = dir_.path() / "planted.html";
  std::ofstream(page) << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>"
                         "<script>console.error('planted-error'); no_such_function();</script>"
                         "</body></html>\n";
  const BrowserRun run = run_chromium({"--dump-dom", file_url(page)}, dir_.path(), "planted");
  ASSERT_EQ(run.error, "");
  ASSERT_FALSE(run.timed_out) << "chromium hung (killed after 60 s); its log:\n" << run.err;
  const std::string console = joined(console_lines(run.err));
  EXPECT_NE(console.find("planted-error"), std::string::npos) << run.err;
  EXPECT_NE(console.find("Uncaught ReferenceError"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace loopcheck::campaign

namespace loopcheck::campaign {
namespace {

// A report a real campaign wrote (`loopcheck campaign`, model and inproc), not the
// fixture: what a user opens in the morning.
TEST_F(BrowserReport, ACampaignsOwnReportRenders) {
  const fs::path config = dir_.path() / "tiny.toml";
  std::ofstream(config) << "name = \"browser\"\n[conformance]\ntargets = [\"model\"]\n"
                           "[[explore.scope]]\ndepth = 3\n[fuzz]\ntargets = [\"inproc\"]\n"
                           "seeds = [1, 2]\nruns = 200\n";
  const fs::path out = dir_.path() / "campaign";
  const std::string cmd = std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck campaign --config " +
                          config.string() + " --out " + out.string() + " --json > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const BrowserRun run =
      run_chromium({"--dump-dom", file_url(out / "index.html")}, dir_.path(), "campaign");
  ASSERT_EQ(run.error, "");
  ASSERT_FALSE(run.timed_out) << "chromium hung (killed after 60 s); its log:\n" << run.err;
  const std::string stages = between(run.out, "<table class=\"stages\">", "</table>");
  EXPECT_EQ(count(stages, "<tr class=\"stage\">"), 4u) << stages;
  EXPECT_EQ(count(run.out, "<svg class=\"plot\""), 4u);
  EXPECT_NE(run.out.find("<section id=\"matrix\">"), std::string::npos);
  EXPECT_NE(run.out.find("<section id=\"findings\">"), std::string::npos);
  const std::vector<std::string> console = console_lines(run.err);
  EXPECT_TRUE(console.empty()) << "console messages:\n" << joined(console);
}

}  // namespace
}  // namespace loopcheck::campaign
