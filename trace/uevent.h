// Kernel uevents of loop devices as the language sees them (`uevents`): what a
// udev-like listener on NETLINK_KOBJECT_UEVENT receives for /dev/loopN and its
// partitions, cut down to what the model predicts — the action, the device,
// the partition, and the one extra key a loop event carries (RESIZE=1 or
// DISK_MEDIA_CHANGE=1). SEQNUM and DISKSEQ count events of the whole machine,
// and the bdi device's events are not the block layer's: none is kept.
//
// Text form (trace-format.md, "uevents"): events in order, ", " between them:
//   "change loop0, change loop0 media, remove loop0p1"
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loopcheck {

enum class UeventAction : uint8_t { Add, Remove, Change };

// The extra key a change carries: RESIZE=1 (set_capacity_and_notify between two
// non-zero sizes), DISK_MEDIA_CHANGE=1 (disk_force_media_change).
enum class UeventDetail : uint8_t { None, Resize, MediaChange };

struct Uevent {
  UeventAction action = UeventAction::Change;
  UeventDetail detail = UeventDetail::None;
  uint8_t part = 0;  // 0: the whole disk loopN; k: its partition loopNpk
  uint8_t reserved = 0;
  uint32_t device = 0;  // the loop device number N
  friend bool operator==(const Uevent&, const Uevent&) = default;
};

// Events between two `uevents` statements. More than kMaxUevents: `lost` is set
// and the list is no longer the whole sequence (a target's listener that lost
// messages, ENOBUFS, says the same).
inline constexpr int kMaxUevents = 16;
// The longest text a list can have ("remove loop1048575p255" and ", " each).
inline constexpr size_t kMaxUeventsText = kMaxUevents * 32;

struct UeventList {
  std::array<Uevent, kMaxUevents> event{};
  uint8_t count = 0;
  uint8_t lost = 0;
  uint8_t reserved[6] = {};
  // Appends `e`, or marks the list lost when it is full.
  void push(const Uevent& e);
  friend bool operator==(const UeventList&, const UeventList&) = default;
};

// "change loop0, add loop0p1" (the empty list is "").
std::string format_uevents(const UeventList& list);
std::string format_uevent(const Uevent& e);

// The inverse of format_uevents; nullopt and *error (naming the bad event) when
// the text is not a list of events.
std::optional<UeventList> parse_uevents(std::string_view text, std::string* error);

// "add", "remove", "change" (the kernel's ACTION= and the text form alike).
std::optional<UeventAction> uevent_action_from_name(std::string_view name);

// "loop12" -> 12, "loop12p3" -> {12, 3}: a DEVNAME of a loop device or partition.
struct LoopDevName {
  uint32_t device = 0;
  uint8_t part = 0;
};
std::optional<LoopDevName> parse_loop_devname(std::string_view name);

}  // namespace loopcheck
