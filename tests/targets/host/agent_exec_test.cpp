// The static agent as an ordinary process on this machine's kernel (exec: and
// serial:): corpus traces beside the model, `loopcheck agent-check` passing, and
// a device the agent did not create left alone by its resets. Skips loudly
// without a usable /dev/loop-control.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "oracle/report.h"
#include "oracle/runner.h"
#include "targets/registry.h"
#include "targets/subprocess.h"
#include "tests/targets/agent/agent_test_support.h"
#include "tests/targets/host/host_test_support.h"
#include "targets/vm/stream_link.h"
#include "trace/bind.h"
#include "trace/parse.h"
#include "trace/print.h"
#include "trace/trace_files.h"

namespace loopcheck::vm {
namespace {

const char* kTraces[] = {"set_fd_basic", "configure_basic", "io_roundtrip_offset_mapping",
                         "autoclear_last_close", "ctl_remove_ebusy_bound"};

void run_corpus_on(const std::string& target_name) {
  std::vector<std::string> paths;
  for (const char* t : kTraces)
    paths.push_back(std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/conformance/common/" + t +
                    ".trace");
  LoadedTraces loaded = load_traces(paths);
  ASSERT_TRUE(loaded.ok());
  TargetChoice chosen = make_target(target_name);
  ASSERT_TRUE(chosen.ok && chosen.native_profile) << chosen.error;
  for (const Trace& trace : loaded.traces) {
    const TraceResult r = run_trace(trace, *chosen.native_profile, chosen.target.get(), {});
    EXPECT_TRUE(r.ok()) << format_result_text(trace, r);
    EXPECT_GT(r.passed, 0u) << format_result_text(trace, r);
  }
}

TEST(AgentAsProcess, ExecRunsCorpusTracesBesideTheModel) {
  REQUIRE_HOST_LOOP();
  run_corpus_on("exec:" + agent_command());
}

TEST(AgentAsProcess, SerialRunsCorpusTracesBesideTheModel) {
  REQUIRE_HOST_LOOP();
  SocketAgent agent;
  ASSERT_TRUE(agent.listening()) << agent.error();
  run_corpus_on("serial:" + agent.path());
}

// A device someone else created and bound survives every reset of the agent.
TEST(AgentAsProcess, ResetsLeaveOthersDevicesAlone) {
  REQUIRE_HOST_LOOP();
  const uint64_t index = testing_support::free_high_index(600);
  const int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  ASSERT_GE(ctl, 0);
  ASSERT_EQ(ioctl(ctl, LOOP_CTL_ADD, index), static_cast<int>(index));
  char file[] = "/var/tmp/loopcheck-foreign-XXXXXX";
  const int backing = mkstemp(file);
  ASSERT_EQ(ftruncate(backing, 1 << 20), 0);
  const int dev = host::open_loop_node(index, O_RDWR | O_CLOEXEC, "");
  ASSERT_GE(dev, 0);
  ASSERT_EQ(ioctl(dev, LOOP_SET_FD, backing), 0);
  run_corpus_on("exec:" + agent_command());
  EXPECT_TRUE(host::loop_device_bound(index)) << "the agent detached a device it did not bind";
  ioctl(dev, LOOP_CLR_FD, 0);
  close(dev);
  close(backing);
  unlink(file);
  for (int i = 0; i < 100 && ioctl(ctl, LOOP_CTL_REMOVE, index) < 0 && errno == EBUSY; ++i)
    usleep(20000);
  close(ctl);
}

// A runner that goes away mid-trace (the link closed without Reset: SIGTERM to
// the agent) leaves no device of the agent's behind.
TEST(AgentAsProcess, ATerminatedAgentGivesBackItsDevices) {
  REQUIRE_HOST_LOOP();
  std::string why;
  std::unique_ptr<StreamLink> link = StreamLink::spawn(agent_command(), 10000, &why);
  ASSERT_TRUE(link) << why;
  ParseResult parsed = parse_trace(
      "@trace 1\nfile img size=64K\nctl = open loop-control rw\nn = ioctl ctl LOOP_CTL_ADD -1\n"
      "f = open file img rw\n",
      "terminated");
  ASSERT_TRUE(parsed.ok());
  StartRequest start;
  start.objects = parsed.trace.objects;
  ASSERT_TRUE(link->call(encode_start(start), FrameType::Started, 10000, &why)) << why;
  std::array<int64_t, kMaxVars> vars;
  vars.fill(-1);
  for (const Statement& st : parsed.trace.stmts) {
    std::optional<Frame> r =
        link->call(encode_op(bind_op(st.op, vars)), FrameType::Result, 10000, &why);
    ASSERT_TRUE(r) << why;
    const std::optional<Outcome> o = decode_outcome(r->payload);
    ASSERT_TRUE(o && o->kind == Outcome::Kind::Value) << format_outcome(*o);
    if (st.bind >= 0) vars[static_cast<size_t>(st.bind)] = o->value;
  }
  const int64_t index = vars[1];  // n
  ASSERT_TRUE(host::loop_device_exists(static_cast<uint64_t>(index)));
  link.reset();  // no Reset, no Shutdown
  EXPECT_FALSE(host::loop_device_exists(static_cast<uint64_t>(index)))
      << "loop" << index << " outlived the agent that created it";
}

TEST(AgentAsProcess, AgentCheckPassesThroughExec) {
  REQUIRE_HOST_LOOP();
  const auto begun = std::chrono::steady_clock::now();
  const ProcessResult r = run_process({std::string(LOOPCHECK_BINARY_DIR) + "/loopcheck",
                                       "agent-check", "--target", "exec:" + agent_command(),
                                       "--corpus", std::string(LOOPCHECK_SOURCE_DIR) + "/corpus"});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  std::printf("%s(agent-check via exec: %.1f s)\n", r.output.c_str(), s);
  RecordProperty("agent_check_seconds", std::to_string(s));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(" 0 failed, 0 skipped"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace loopcheck::vm
