// Lowering one capability from the calling thread's *effective* set for a while,
// keeping it in the permitted set so it can be raised again. This lets the host
// target run a trace step as a caller without CAP_SYS_ADMIN (@env cap_sys_admin=0)
// and still clean up with it afterwards.
#pragma once

namespace loopcheck::host {

class EffectiveCapabilityDrop {
 public:
  // Does nothing when `active` is false. ok() tells whether the drop took effect.
  EffectiveCapabilityDrop(int capability, bool active);
  ~EffectiveCapabilityDrop();
  EffectiveCapabilityDrop(const EffectiveCapabilityDrop&) = delete;
  EffectiveCapabilityDrop& operator=(const EffectiveCapabilityDrop&) = delete;
  bool ok() const { return ok_; }

 private:
  int capability_;
  bool dropped_ = false;
  bool ok_ = true;
};

}  // namespace loopcheck::host
