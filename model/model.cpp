// The public entry points: initial_state, step, summarize.
#include "model/model.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>

#include "model/machine.h"

namespace loopcheck::model {

State initial_state(const Profile& profile, const Env& env, std::span<const ObjectDecl> objects) {
  State s{};
  assert(objects.size() <= static_cast<size_t>(kMaxObjects));
  // More precreated devices than the model tracks: only the first kMaxDevices exist
  // in the model (docs/model.md).
  const uint32_t n = std::min<uint32_t>(env.precreated, kMaxDevices);
  for (uint32_t i = 0; i < n; ++i) {
    s.devices[i].exists = 1;
    s.devices[i].index = i;
    s.devices[i].write_cache = kWriteCacheUnknown;  // its history is not the trace's
    // So are its discard limits: the host hands out loop0..7 as earlier runs left
    // them (gen --seed 11: discard_max_bytes 4294966784 on a never-bound device).
    s.devices[i].discard_granularity = kDiscardLimitsUnknown;
    s.devices[i].discard_max_sectors = kDiscardLimitsUnknown;
    // As module init made it: targets hand out pre-created devices so (the host
    // target resets queue/rotational and read_ahead_kb, docs/host.md).
    s.devices[i].rotational = profile.created_rotational ? 1 : 0;
  }
  s.device_count = static_cast<uint8_t>(n);
  const size_t count = std::min<size_t>(objects.size(), kMaxObjects);
  for (size_t i = 0; i < count; ++i) {
    const ObjectDecl& d = objects[i];
    Object& o = s.objects[i];
    o.kind = d.kind == ObjectDecl::Kind::Dir ? ObjKind::Dir : ObjKind::File;
    if (o.kind == ObjKind::File) {
      o.size = d.size;
      o.fill = d.fill;
      o.fill_end = d.size;
      if (o.fill != 0) allocate_blocks(o, 0, d.size);  // the fill is written
      place_mbr(o, d.mbr);
    }
    Name64& name = s.object_names[i];
    name.len = static_cast<uint8_t>(std::min<size_t>(d.name.size(), kNameSize));
    std::copy_n(d.name.data(), name.len, name.bytes.data());
  }
  s.object_count = static_cast<uint8_t>(count);
  return s;
}

Outcome step(State& state, const Profile& profile, const Env& env, const Op& op) {
  Machine m{state, profile, env};
  return dispatch(m, op);
}

Outcome step(State& state, const Profile& profile, const Env& env, const Op& op,
             const Outcome& observed) {
  Machine m{state, profile, env, &observed};
  return dispatch(m, op);
}

Outcome dispatch(Machine& m, const Op& op) {
  assert(op.subject.is_literal() && op.arg.is_literal() && op.offset.is_literal());
  // I/O through a partition fd is not modelled (model/partitions.cpp).
  const bool io = op.kind == OpKind::Pread || op.kind == OpKind::Pwrite ||
                  op.kind == OpKind::Fsync || op.kind == OpKind::Fallocate;
  if (Desc* d = io ? m.desc_by_fd(op.subject.lit) : nullptr; d && d->part != 0)
    return m.partition_io(*d, op);
  switch (op.kind) {
    case OpKind::Open:
      return m.open(op);
    case OpKind::Close:
      return m.close(op);
    case OpKind::Ioctl:
      return m.ioctl(op);
    case OpKind::Pread:
      return m.pread(op);
    case OpKind::Pwrite:
      return m.pwrite(op);
    case OpKind::Fsync:
      return m.fsync(op);
    case OpKind::Truncate:
      return m.truncate(op);
    case OpKind::Sysfs:
      return m.sysfs(op);
    case OpKind::Fallocate:
      return m.fallocate(op);
    case OpKind::Allocated:
      return m.allocated(op);
    case OpKind::Uevents:
      return m.uevents();
  }
  return Outcome::error(EINVAL);
}

std::string summarize(const State& s) {
  static constexpr const char* kStateName[] = {"unbound", "bound", "rundown", "deleting"};
  static constexpr const char* kKindName[] = {"-", "loop-control", "loop", "file", "dir"};
  static constexpr const char* kAccess[] = {"ro", "wo", "rw"};
  std::string out;
  char line[256];
  for (int i = 0; i < s.device_count; ++i) {
    const Device& d = s.devices[i];
    std::snprintf(line, sizeof line,
                  "loop%u %s cap=%llu off=%llu limit=%llu flags=0x%x dio=%d bs=%u ro=%d/%d "
                  "dirty=%u%s cache=%s\n",
                  d.index, kStateName[static_cast<int>(d.state)],
                  static_cast<unsigned long long>(d.capacity),
                  static_cast<unsigned long long>(d.offset),
                  static_cast<unsigned long long>(d.sizelimit), d.flags, d.dio, d.block_size,
                  d.disk_ro, d.bdev_ro_policy, d.dirty.count, d.dirty.unknown ? "+?" : "",
                  d.cache_stale       ? "stale"
                  : d.cache_populated ? "populated"
                                      : "empty");
    out += line;
  }
  for (int i = 0; i < kMaxDescs; ++i) {
    const Desc& d = s.descs[i];
    if (d.kind == DescKind::None) continue;
    std::snprintf(line, sizeof line, "desc%d fd=%u %s %s%s%s target=%u holders=%u\n", i, d.fd,
                  kKindName[static_cast<int>(d.kind)], kAccess[static_cast<int>(d.access)],
                  (d.open_flags & kOpenExcl) ? " excl" : "",
                  (d.open_flags & kOpenDirect) ? " direct" : "",
                  d.kind == DescKind::Loop ? d.device : d.object, d.holders);
    out += line;
  }
  for (int i = 0; i < s.object_count; ++i) {
    const Object& o = s.objects[i];
    if (o.kind != ObjKind::File) continue;
    std::snprintf(line, sizeof line, "file %.*s size=%llu extents=%u%s\n", s.object_names[i].len,
                  s.object_names[i].bytes.data(), static_cast<unsigned long long>(o.size),
                  o.data.count, o.data.unknown ? " (unknown)" : "");
    out += line;
  }
  return out;
}

}  // namespace loopcheck::model
