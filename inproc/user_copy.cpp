#include "inproc/user_copy.h"

#include <sys/uio.h>
#include <unistd.h>

namespace loopcheck::inproc {

bool copy_from_user(void* to, const void* user, size_t bytes) {
  if (user == nullptr) return false;
  iovec local{to, bytes};
  iovec remote{const_cast<void*>(user), bytes};
  return ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(bytes);
}

bool copy_to_user(void* user, const void* from, size_t bytes) {
  if (user == nullptr) return false;
  iovec local{const_cast<void*>(from), bytes};
  iovec remote{user, bytes};
  return ::process_vm_writev(::getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(bytes);
}

}  // namespace loopcheck::inproc
