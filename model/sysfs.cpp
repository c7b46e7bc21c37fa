// /sys/block/loopN attributes (docs/semantics.md §8). Values as the files show them, without
// the trailing newline.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "model/machine.h"

namespace loopcheck::model {

Outcome text_outcome(const char* text) {
  Outcome o;
  o.kind = Outcome::Kind::Text;
  const size_t n = std::min(std::strlen(text), static_cast<size_t>(kMaxTextSize - 1));
  std::memcpy(o.text.data(), text, n);
  o.text_len = static_cast<uint8_t>(n);
  return o;
}

Outcome number_text(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  return text_outcome(buf);
}

// queue/discard_granularity, discard_max_bytes and write_zeroes_max_bytes; of a
// device whose limits an earlier bind (before the trace) may have set: not
// predicted.
Outcome discard_limit_text(const Device& dev, SysAttr attr) {
  if (dev.discard_max_sectors == kDiscardLimitsUnknown) {
    Outcome o = number_text(0);
    o.any = true;
    o.data_known = false;
    o.data_rule = EnvelopeRule::DiscardLimitsUnknown;
    return o;
  }
  if (attr == SysAttr::QueueDiscardGranularity) return number_text(dev.discard_granularity);
  return number_text(uint64_t{dev.discard_max_sectors} << 9);
}

Outcome Machine::sysfs(const Op& op) {
  if (op.subject.lit > 0xffffffffu) return Outcome::error(ENOENT);
  Device* dev = device(static_cast<uint32_t>(op.subject.lit));
  if (!dev) return Outcome::error(ENOENT);
  if (op.part != 0) return partition_sysfs(*dev, op);
  auto flag = [](bool b) { return text_outcome(b ? "1" : "0"); };
  switch (op.attr) {
    case SysAttr::Size:
      return number_text(dev->capacity);
    case SysAttr::Ro:
      return flag(bdev_read_only(*dev));
    case SysAttr::QueueLogicalBlockSize:
    case SysAttr::QueuePhysicalBlockSize:
    case SysAttr::QueueMinimumIoSize:
      return number_text(dev->block_size);
    case SysAttr::QueueReadAheadKb:
      return number_text(dev->readahead_raised ? kRaisedReadAheadKb : kDefaultReadAheadKb);
    case SysAttr::QueueRotational:
      return flag(dev->rotational);
    case SysAttr::QueueDiscardGranularity:
    case SysAttr::QueueDiscardMaxBytes:
    case SysAttr::QueueWriteZeroesMaxBytes:
      return discard_limit_text(*dev, op.attr);
    default:
      break;
  }
  // The loop/ group exists from bind until teardown (also during Rundown).
  if (!has_backing(dev->state)) return Outcome::error(ENOENT);
  switch (op.attr) {
    case SysAttr::LoopBackingFile: {
      const Desc& b = s.descs[dev->backing_desc];
      if (b.kind == DescKind::File) {
        const Name64& n = s.object_names[b.object];
        char buf[kNameSize + 1] = {};
        std::memcpy(buf, n.bytes.data(), n.len);
        return text_outcome(buf);
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "/dev/loop%u", b.device);
      return text_outcome(buf);
    }
    case SysAttr::LoopOffset:
      return number_text(dev->offset);
    case SysAttr::LoopSizelimit:
      return number_text(dev->sizelimit);
    case SysAttr::LoopAutoclear:
      return flag(dev->flags & kLoAutoclear);
    case SysAttr::LoopPartscan:
      return flag(dev->flags & kLoPartscan);
    case SysAttr::LoopDio:
      return flag(dev->dio);
    default:
      return Outcome::error(ENOENT);
  }
}

}  // namespace loopcheck::model
