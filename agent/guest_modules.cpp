#include "agent/guest_modules.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/guest_loop.h"

namespace loopcheck::vm::agent {

bool load_module(const std::string& path, const std::string& params, std::string* why) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "open " + path + ": " + std::strerror(errno);
    return false;
  }
  const long rc = syscall(SYS_finit_module, fd, params.c_str(), 0);
  const int err = errno;
  close(fd);
  if (rc == 0) return true;
  *why = "finit_module(" + path + "): " + std::strerror(err);
  return false;
}

bool wait_for_path(const char* path, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (access(path, F_OK) == 0) return true;
    sleep_ms(10);
  }
  return access(path, F_OK) == 0;
}

}  // namespace loopcheck::vm::agent
