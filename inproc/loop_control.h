// The loop driver's device registry and /dev/loop-control (loop_control_ioctl):
// index allocation like the kernel's IDR (lowest free, explicit, EEXIST, the
// 20-bit minor limit), removal of unused devices, LOOP_CTL_GET_FREE, and the
// legacy autoload that opening a missing /dev/loopN triggers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "inproc/file.h"
#include "inproc/loop_device.h"
#include "inproc/driver_profile.h"

namespace loopcheck::inproc {

class LoopControl {
 public:
  // Creates config.precreated devices (max_loop at module init).
  LoopControl(const DriverProfile& profile, const DriverConfig& config, UeventBus& uevents);
  ~LoopControl();

  // loop_control_ioctl: LOOP_CTL_ADD/REMOVE/GET_FREE; anything else ENOSYS.
  long ioctl(unsigned long cmd, unsigned long arg);

  // The device behind /dev/loopN for open(): created on demand (legacy
  // autoload) if missing; nullptr with *err set if it cannot be opened.
  std::shared_ptr<LoopDevice> lookup_for_open(uint64_t index, int* err);
  // An existing device (for sysfs and tests), or nullptr.
  std::shared_ptr<LoopDevice> find(uint64_t index) const;
  // Every existing device, in index order (for summaries and tests).
  std::vector<std::shared_ptr<LoopDevice>> devices() const;

  const DriverProfile& profile() const { return profile_; }
  const DriverConfig& config() const { return config_; }

 private:
  long add_locked(int index);
  long remove(int index);
  long get_free();

  const DriverProfile& profile_;
  const DriverConfig config_;
  UeventBus& uevents_;
  mutable std::mutex idr_mutex_;  // loop_ctl_mutex + loop_index_idr
  std::map<int, std::shared_ptr<LoopDevice>> idr_;
};

// An open file description of /dev/loop-control (a misc device: no read/write).
class LoopControlFile final : public OpenFile {
 public:
  LoopControlFile(LoopControl& control, int flags)
      : OpenFile(FileKind::LoopControl, flags), control_(control) {}
  LoopControl& control() const { return control_; }
  int64_t read_at(void*, uint64_t, int64_t) override { return -EINVAL; }
  int64_t write_at(const void*, uint64_t, int64_t) override { return -EINVAL; }
  int fsync() override { return -EINVAL; }
  int getattr(FileAttr& out) const override;

 private:
  LoopControl& control_;
};

}  // namespace loopcheck::inproc
