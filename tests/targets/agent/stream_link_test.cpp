// exec: and serial: links with the real static agent (`loopcheck-agent --stdio`)
// and with stand-ins that fail on purpose: the handshake, Shutdown, and a dead,
// silent or wrong-version agent each becoming a clear error. Nothing here opens
// a loop device, so it runs in the unit tier.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "targets/registry.h"
#include "targets/vm/stream_link.h"
#include "tests/targets/agent/agent_test_support.h"

namespace loopcheck::vm {
namespace {

TEST(StreamLink, ExecHandshakeAndShutdown) {
  std::string why;
  std::unique_ptr<StreamLink> link = StreamLink::spawn(agent_command(), 10000, &why);
  ASSERT_TRUE(link) << why;
  utsname u{};
  uname(&u);
  EXPECT_EQ(link->ready().protocol_version, kProtocolVersion);
  EXPECT_EQ(link->ready().kernel_release, u.release);
  EXPECT_FALSE(link->ready().backing_fs.empty());
  const pid_t pid = link->pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(link->send_bytes(encode_empty(FrameType::Shutdown), &why)) << why;
  EXPECT_EQ(link->wait_for_close(10000, &why), ChannelEnd::Closed) << why;
  EXPECT_FALSE(link->alive());
  EXPECT_TRUE(kill(pid, 0) != 0 && errno == ESRCH) << "the agent was not reaped";
}

TEST(StreamLink, AnAgentThatExitsIsNamedWithItsStderr) {
  std::string why;
  EXPECT_FALSE(StreamLink::spawn("echo no loop here >&2; exit 3", 10000, &why));
  EXPECT_NE(why.find("exited with status 3"), std::string::npos) << why;
  EXPECT_NE(why.find("no loop here"), std::string::npos) << why;
  EXPECT_NE(why.find("docs/agent-protocol.md"), std::string::npos) << why;
}

TEST(StreamLink, ASilentAgentTimesOut) {
  std::string why;
  const auto begun = std::chrono::steady_clock::now();
  EXPECT_FALSE(StreamLink::spawn("exec sleep 60", 500, &why));
  EXPECT_LT(std::chrono::steady_clock::now() - begun, std::chrono::seconds(10));
  EXPECT_NE(why.find("no answer from the agent within 500 ms"), std::string::npos) << why;
}

TEST(StreamLink, AnotherProtocolVersionIsRefused) {
  // Ready with version 4: length 16, type 1, u32 4, two empty strings, two u32 0.
  const std::string ready =
      "printf '\\020\\000\\000\\000\\001\\004\\000\\000\\000'; "
      "printf '\\000%.0s' 1 2 3 4 5 6 7 8 9 10 11 12; sleep 5";
  std::string why;
  EXPECT_FALSE(StreamLink::spawn(ready, 5000, &why));
  EXPECT_NE(
      why.find(fmt::format("protocol version 4, this loopcheck version {}", kProtocolVersion)),
      std::string::npos)
      << why;
}

TEST(StreamLink, ATargetWhoseAgentCannotStartIsAnError) {
  const TargetChoice chosen = make_target("exec:/nonexistent/agent");
  EXPECT_FALSE(chosen.ok);
  EXPECT_NE(chosen.error.find("exited with status 127"), std::string::npos) << chosen.error;
  EXPECT_FALSE(make_target("exec:").ok);
  EXPECT_NE(make_target("serial:/nonexistent/socket").error.find("does not exist"),
            std::string::npos);
}

TEST(StreamLink, SerialOverAUnixSocket) {
  SocketAgent agent;
  ASSERT_TRUE(agent.listening()) << agent.error();
  std::string why;
  std::unique_ptr<StreamLink> link = StreamLink::open_serial(agent.path(), 10000, &why);
  ASSERT_TRUE(link) << why;
  EXPECT_EQ(link->ready().protocol_version, kProtocolVersion);
  link->shutdown();
  EXPECT_EQ(agent.wait_exit_status(), 0) << "Shutdown ends the agent with status 0";
}

}  // namespace
}  // namespace loopcheck::vm
