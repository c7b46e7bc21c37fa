#include "inproc/loop_control.h"

#include <sys/sysmacros.h>

#include <bit>
#include <cassert>
#include <cerrno>
#include <vector>

#include "inproc/uapi.h"

namespace loopcheck::inproc {

LoopControl::LoopControl(const DriverProfile& profile, const DriverConfig& config,
                         UeventBus& uevents)
    : profile_(profile), config_(config), uevents_(uevents) {
  std::lock_guard lock(idr_mutex_);
  for (uint32_t i = 0; i < config_.precreated; ++i) {
    long r = add_locked(static_cast<int>(i));
    assert(r == static_cast<long>(i));
    (void)r;
  }
}

LoopControl::~LoopControl() {
  // Unbind everything first, then drop the backing files: a stacked device's
  // backing file is another device's /dev/loopN file, whose release must find
  // that device still alive.
  std::vector<std::shared_ptr<OpenFile>> dropped;
  std::map<int, std::shared_ptr<LoopDevice>> devices;
  {
    std::lock_guard lock(idr_mutex_);
    devices = idr_;
  }
  for (auto& [index, dev] : devices) dropped.push_back(dev->shutdown());
  dropped.clear();
  std::lock_guard lock(idr_mutex_);
  idr_.clear();
}

long LoopControl::add_locked(int index) {
  if (index < 0) {
    // idr_alloc(0, 0): the lowest index not in use.
    index = 0;
    for (const auto& [i, dev] : idr_) {
      if (i != index) break;
      ++index;
    }
  } else if (idr_.contains(index)) {
    return -EEXIST;  // even while it is being deleted
  }
  uint32_t shift =
      config_.max_part == 0 ? 0 : static_cast<uint32_t>(std::bit_width(config_.max_part));
  // add_disk refuses a first minor beyond MINORMASK.
  if ((static_cast<int64_t>(index) << shift) > kMaxMinor) return -EINVAL;
  auto [it, added] =
      idr_.emplace(index, std::make_shared<LoopDevice>(index, profile_, config_, uevents_));
  assert(added);
  it->second->announce_added();
  return index;
}

long LoopControl::remove(int index) {
  if (index < 0) return -EINVAL;
  std::shared_ptr<LoopDevice> dev;
  {
    std::lock_guard lock(idr_mutex_);
    auto it = idr_.find(index);
    if (it == idr_.end() || it->second->state() == LoState::Deleting) return -ENODEV;
    if (int err = it->second->mark_deleting(); err != 0) return err;
    dev = std::move(it->second);
    idr_.erase(it);
  }
  dev->announce_removed();  // loop_remove → del_gendisk
  return 0;                 // `dev` (del_gendisk, the last reference) goes here
}

long LoopControl::get_free() {
  std::lock_guard lock(idr_mutex_);
  for (const auto& [i, dev] : idr_)
    if (dev->state() == LoState::Unbound) return i;
  return add_locked(-1);
}

long LoopControl::ioctl(unsigned long cmd, unsigned long arg) {
  int index = static_cast<int>(arg);  // the parameter is converted to int
  switch (cmd) {
    case LOOP_CTL_ADD: {
      std::lock_guard lock(idr_mutex_);
      return add_locked(index);
    }
    case LOOP_CTL_REMOVE:
      return remove(index);
    case LOOP_CTL_GET_FREE:
      return get_free();
    default:
      return -ENOSYS;
  }
}

std::shared_ptr<LoopDevice> LoopControl::lookup_for_open(uint64_t index, int* err) {
  std::lock_guard lock(idr_mutex_);
  if (index > static_cast<uint64_t>(kMaxMinor)) {
    *err = -ENXIO;
    return nullptr;
  }
  auto it = idr_.find(static_cast<int>(index));
  if (it == idr_.end() && profile_.missing_device_open_errno) {
    *err = -profile_.missing_device_open_errno;  // a port without the autoload
    return nullptr;
  }
  if (it == idr_.end()) {
    // CONFIG_BLOCK_LEGACY_AUTOLOAD: opening 7:N creates loopN.
    long r = add_locked(static_cast<int>(index));
    if (r < 0) {
      *err = -ENXIO;
      return nullptr;
    }
    it = idr_.find(static_cast<int>(index));
  }
  return it->second;
}

std::shared_ptr<LoopDevice> LoopControl::find(uint64_t index) const {
  std::lock_guard lock(idr_mutex_);
  if (index > static_cast<uint64_t>(kMaxMinor)) return nullptr;
  auto it = idr_.find(static_cast<int>(index));
  return it == idr_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<LoopDevice>> LoopControl::devices() const {
  std::lock_guard lock(idr_mutex_);
  std::vector<std::shared_ptr<LoopDevice>> out;
  for (const auto& [index, dev] : idr_) out.push_back(dev);
  return out;
}

int LoopControlFile::getattr(FileAttr& out) const {
  out = FileAttr{};
  out.dev = 5;
  out.ino = 999;
  out.rdev = makedev(10, 237);
  return 0;
}

}  // namespace loopcheck::inproc
