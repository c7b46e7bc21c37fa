#include "targets/host/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace loopcheck::host {
namespace {

int make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return 0;
  return errno;
}

}  // namespace

int ensure_state_dir(const std::string& state_dir) {
  for (const std::string& dir : {state_dir, state_dir + "/locks", state_dir + "/ledgers"}) {
    if (int err = make_dir(dir)) return err;
  }
  return 0;
}

std::string DeviceLocks::path(uint64_t index) const {
  return state_dir_ + "/locks/loop" + std::to_string(index) + ".lock";
}

bool DeviceLocks::try_lock(uint64_t index) {
  if (holds(index)) return true;
  const std::string p = path(index);
  // Two attempts suffice: the path changes inode only when a holder unlinks it
  // on release, and a second attempt then meets the fresh file.
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return false;
    }
    struct stat locked, current;
    if (::fstat(fd, &locked) == 0 && ::stat(p.c_str(), &current) == 0 &&
        locked.st_ino == current.st_ino && locked.st_dev == current.st_dev) {
      held_[index] = fd;
      return true;
    }
    ::close(fd);  // we locked a file its holder had already unlinked
  }
  return false;
}

void DeviceLocks::release(uint64_t index) {
  auto it = held_.find(index);
  if (it == held_.end()) return;
  ::unlink(path(index).c_str());  // while still holding it: see the class comment
  ::close(it->second);
  held_.erase(it);
}

void DeviceLocks::release_all() {
  while (!held_.empty()) release(held_.begin()->first);
}

int KernelScopeLock::acquire(bool exclusive) {
  release();
  // Never unlinked: every run locks the same inode, so no re-check is needed.
  const std::string path = state_dir_ + "/locks/loop-control.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  while (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return err;
  }
  fd_ = fd;
  return 0;
}

void KernelScopeLock::release() {
  if (fd_ < 0) return;
  ::close(fd_);  // drops the flock
  fd_ = -1;
}

}  // namespace loopcheck::host
