#include "targets/host/capability.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cassert>

namespace loopcheck::host {
namespace {

// glibc has no capget/capset wrappers without libcap; the raw syscalls are stable ABI.
bool set_effective(int capability, bool on) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  const unsigned word = static_cast<unsigned>(capability) / 32, bit = 1u << (capability % 32);
  if (on) {
    if (!(data[word].permitted & bit)) return false;
    data[word].effective |= bit;
  } else {
    data[word].effective &= ~bit;
  }
  return syscall(SYS_capset, &header, data) == 0;
}

}  // namespace

EffectiveCapabilityDrop::EffectiveCapabilityDrop(int capability, bool active)
    : capability_(capability) {
  if (!active) return;
  ok_ = set_effective(capability_, false);
  dropped_ = ok_;
}

EffectiveCapabilityDrop::~EffectiveCapabilityDrop() {
  if (!dropped_) return;
  [[maybe_unused]] bool raised = set_effective(capability_, true);
  assert(raised && "CAP_SYS_ADMIN stays in the permitted set, so raising it again cannot fail");
}

}  // namespace loopcheck::host
