#include "targets/fork_guard.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>

namespace loopcheck {

ForkGuard& ForkGuard::instance() {
  static ForkGuard guard;
  return guard;
}

void ForkGuard::lock_shared() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !writer_ && writers_waiting_ == 0; });
  ++readers_;
}

void ForkGuard::unlock_shared() {
  std::lock_guard lock(mutex_);
  assert(readers_ > 0);
  if (--readers_ == 0) changed_.notify_all();
}

void ForkGuard::lock() {
  std::unique_lock lock(mutex_);
  ++writers_waiting_;
  changed_.wait(lock, [&] { return !writer_ && readers_ == 0; });
  --writers_waiting_;
  writer_ = true;
}

void ForkGuard::unlock() {
  std::lock_guard lock(mutex_);
  assert(writer_);
  writer_ = false;
  changed_.notify_all();
}

int child_shed_inherited_fds(int report_fd) {
  constexpr int kReportFd = STDERR_FILENO + 1;
  if (report_fd != kReportFd) {
    ::dup2(report_fd, kReportFd);
    ::fcntl(kReportFd, F_SETFD, FD_CLOEXEC);
  }
  if (::close_range(kReportFd + 1, ~0U, 0) != 0) {
    for (int fd = kReportFd + 1; fd < 65536; ++fd) ::close(fd);  // before Linux 5.9
  }
  const char shed = 'S';
  (void)!::write(kReportFd, &shed, 1);
  return kReportFd;
}

void wait_until_child_shed_fds(int report_read_fd) {
  char shed = 0;
  while (::read(report_read_fd, &shed, 1) < 0 && errno == EINTR) {
  }
}

}  // namespace loopcheck
