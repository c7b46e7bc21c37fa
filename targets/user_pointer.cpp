#include "targets/user_pointer.h"

#include <sys/mman.h>

#include <cassert>
#include <cstdlib>

namespace loopcheck {

void* unmapped_page() {
  static void* const page = [] {
    void* p = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();  // no address space left: nothing can run
    return p;
  }();
  return page;
}

void* ioctl_pointer(ArgKind kind, void* valid) {
  assert(valid != nullptr);
  if (kind == ArgKind::Null) return nullptr;
  if (kind == ArgKind::Fault) return unmapped_page();
  return valid;
}

}  // namespace loopcheck
