// Links to an agent over a plain byte stream (docs/agent-protocol.md):
//   exec:CMD    CMD run by /bin/sh -c as a child process, the protocol on its
//               stdin/stdout, its stderr kept in a log whose tail every error shows;
//   serial:PATH a Unix stream socket at PATH (connected to), or a pty / serial
//               character device (opened read-write, set raw).
// The child of exec: runs in its own process group with PR_SET_PDEATHSIG(SIGTERM),
// so it ends with the thread that started it; closing the link sends the group
// SIGTERM, then SIGKILL after a second, by its pid (never by name), and reaps it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "targets/vm/agent_link.h"

namespace loopcheck::vm {

// How long a new link waits for the agent's Ready frame.
inline constexpr int kDefaultReadyTimeoutMs = 30000;

class StreamLink : public AgentLink {
 public:
  // Spawns `command` (sh -c) and waits for its Ready. Null with `why` (the
  // agent's stderr tail, the problem and the fix) when it does not come up.
  static std::unique_ptr<StreamLink> spawn(const std::string& command, int ready_timeout_ms,
                                           std::string* why);
  // Connects to the Unix socket or opens the pty at `path` and waits for Ready.
  static std::unique_ptr<StreamLink> open_serial(const std::string& path, int ready_timeout_ms,
                                                 std::string* why);
  ~StreamLink() override;
  StreamLink(const StreamLink&) = delete;
  StreamLink& operator=(const StreamLink&) = delete;

  std::optional<Frame> call(const std::vector<uint8_t>& frame, FrameType reply, int timeout_ms,
                            std::string* why) override;
  bool send_bytes(std::span<const uint8_t> bytes, std::string* why) override;
  ChannelEnd wait_for_close(int timeout_ms, std::string* why) override;
  bool alive() const override { return !closed_; }
  const ReadyInfo& ready() const override { return ready_; }
  double boot_seconds() const override { return boot_seconds_; }
  void shutdown() override;

  pid_t pid() const { return pid_; }  // the exec: child while it runs; -1 otherwise

 private:
  StreamLink() = default;
  bool wait_ready(int timeout_ms, std::string* why);
  // Reads what arrived within `slice_ms`; false once the agent's end is closed.
  bool pump(int slice_ms);
  bool wait_for_frame(FrameType type, int timeout_ms, Frame* out, std::string* why);
  // "the agent exited (status 1); its stderr ends: ..." for messages.
  std::string ending() const;
  std::string log_tail() const;
  bool reap(bool wait);
  void await_exit(int ms);
  bool group_alive();
  void close_link();

  std::string description_;  // "exec:CMD" or "serial:PATH", for messages
  int read_fd_ = -1;
  int write_fd_ = -1;
  pid_t pid_ = -1;        // the exec: child until reaped
  pid_t group_ = -1;      // its process group, until the link is closed
  int exit_status_ = -1;  // waitpid status once reaped
  std::string log_path_;  // the exec: child's stderr
  bool eof_ = false;      // the agent closed its end
  bool closed_ = false;
  FrameReader reader_;
  ReadyInfo ready_;
  std::chrono::steady_clock::time_point started_;
  double boot_seconds_ = 0;
};

}  // namespace loopcheck::vm
