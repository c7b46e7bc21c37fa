// A minimal client of QEMU's machine protocol (QMP, JSON lines over a Unix
// socket): what saving and restoring a guest snapshot needs (stop, cont,
// migrate, query-migrate, query-status). Every wait has a deadline; QMP's
// asynchronous events are read and dropped.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace loopcheck::vm {

class QmpClient {
 public:
  QmpClient() = default;
  ~QmpClient();
  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;

  // Connects to QEMU's `-qmp unix:PATH,server=on,wait=off` socket (retrying
  // while QEMU starts) and negotiates capabilities. False with `why`.
  bool connect(const std::string& socket_path, int timeout_ms, std::string* why);

  // Runs `command` with `arguments` (null: none); its "return" value, or nullopt
  // with `why` (QEMU's error, a closed socket, the deadline).
  std::optional<nlohmann::json> execute(const std::string& command, const nlohmann::json& arguments,
                                        int timeout_ms, std::string* why);

 private:
  std::optional<nlohmann::json> read_message(int timeout_ms, std::string* why);

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace loopcheck::vm
