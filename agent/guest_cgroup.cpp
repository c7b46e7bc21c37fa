#include "agent/guest_cgroup.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace loopcheck::vm::agent {
namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";
constexpr const char* kChild = "/sys/fs/cgroup/loopcheck";

bool write_text(const std::string& path, const char* text, std::string* why) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  bool ok =
      fd >= 0 && write(fd, text, std::strlen(text)) == static_cast<ssize_t>(std::strlen(text));
  if (!ok && why)
    *why = "cgroup: writing '" + std::string(text) + "' to " + path + ": " + std::strerror(errno);
  if (fd >= 0) close(fd);
  return ok;
}

}  // namespace

bool enter_trace_cgroup(std::string* why) {
  mkdir(kRoot, 0755);
  if (access((std::string(kRoot) + "/cgroup.procs").c_str(), F_OK) != 0 &&
      mount("cgroup2", kRoot, "cgroup2", 0, nullptr) != 0) {
    *why = std::string("cgroup: mount cgroup2 on ") + kRoot + ": " + std::strerror(errno);
    return false;
  }
  if (!write_text(std::string(kRoot) + "/cgroup.subtree_control", "+io +memory", why)) return false;
  if (mkdir(kChild, 0755) != 0 && errno != EEXIST) {
    *why = std::string("cgroup: mkdir ") + kChild + ": " + std::strerror(errno);
    return false;
  }
  return write_text(std::string(kChild) + "/cgroup.procs", "0", why);  // "0": the writer
}

void leave_trace_cgroup() {
  if (access(kChild, F_OK) != 0) return;
  write_text(std::string(kRoot) + "/cgroup.procs", "0", nullptr);
  rmdir(kChild);
}

}  // namespace loopcheck::vm::agent
