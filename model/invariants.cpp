// Invariants of every reachable state (docs/invariants.md lists them with reasons).
#include <cstdio>
#include <cstring>

#include "model/machine.h"
#include "model/model.h"

namespace loopcheck::model {

namespace {

bool fail(std::string* why, const char* text, long a = -1) {
  if (why) {
    char buf[160];
    if (a >= 0)
      std::snprintf(buf, sizeof buf, "%s (%ld)", text, a);
    else
      std::snprintf(buf, sizeof buf, "%s", text);
    *why = buf;
  }
  return false;
}

// Unused slots hold the default value, so equal states have equal bytes. The
// default is built once: this runs after every model step (fuzzing, lockstep
// runs), and constructing a fresh Device per slot was most of its cost.
template <class T>
bool is_default(const T& x) {
  static const T d{};
  return std::memcmp(&x, &d, sizeof(T)) == 0;
}

bool extents_well_formed(const ExtentList& l, uint64_t limit) {
  for (int i = 0; i < l.count; ++i) {
    const Extent& x = l.e[i];
    if (x.start >= x.end || x.end > limit || x.origin > x.start) return false;
    if (i > 0 && l.e[i - 1].end > x.start) return false;
  }
  for (int i = l.count; i < kMaxExtents; ++i)
    if (!is_default(l.e[i])) return false;
  return true;
}

// A bound (or Rundown) device's binding: its backing description, geometry and
// flags, and a backing chain that ends.
bool check_binding(Machine& m, const Device& d, std::string* why) {
  const State& s = m.s;
  if (d.backing_desc >= kMaxDescs)
    return fail(why, "bound device without backing description", d.index);
  const Desc& b = s.descs[d.backing_desc];
  if (b.holders == 0 || (b.kind != DescKind::File && b.kind != DescKind::Loop))
    return fail(why, "backing description not held or not a file/device", d.index);
  if (d.sizelimit > 0 && d.capacity * kSectorSize > d.sizelimit)
    return fail(why, "capacity exceeds sizelimit", d.index);
  if (d.offset > kLlongMax || d.sizelimit > kLlongMax)
    return fail(why, "offset/sizelimit beyond LLONG_MAX", d.index);
  if (!Machine::valid_block_size(d.block_size, 65536))
    return fail(why, "invalid block size", d.index);
  if (d.flags & kLoDirectIo) return fail(why, "DIO kept outside flags", d.index);
  // DIO feasibility is decided when the device itself is configured; a stacked
  // device keeps DIO when its lower device's block size changes later (the
  // kernel does, checked on 6.18), so "DIO on => possible now" is not an invariant.
  if (d.dio && b.kind == DescKind::File && !m.dio_possible(d, b, d.block_size, d.offset))
    return fail(why, "DIO on although impossible", d.index);
  if (d.flags & kLoReadOnly) {
    if (d.dirty.count != 0) return fail(why, "read-only device has dirty pages", d.index);
  }
  // Backing chains are acyclic.
  const Desc* f = &b;
  for (int depth = 0; f->kind == DescKind::Loop; ++depth) {
    if (depth > kMaxDevices || f->device == d.index)
      return fail(why, "cycle in backing chain", d.index);
    const Device* l = m.device(f->device);
    if (!l) return fail(why, "backing device does not exist", d.index);
    if (!has_backing(l->state)) break;
    f = &s.descs[l->backing_desc];
  }
  return true;
}

// Lifecycle, cache and holder facts of device slot i in use.
bool check_device(Machine& m, int i, std::string* why) {
  const State& s = m.s;
  const Device& d = s.devices[i];
  if (!d.exists) return fail(why, "device slot in use but not marked existing", i);
  if (i > 0 && s.devices[i - 1].index >= d.index)
    return fail(why, "devices not sorted by index", d.index);
  if ((uint64_t{d.index} << m.part_shift()) >= (1u << kMinorBits))
    return fail(why, "minor beyond MINORMASK", d.index);
  const uint32_t openers = m.openers(d.index);
  if (!has_backing(d.state)) {
    if (d.backing_desc != kNoDesc || d.capacity != 0 || d.offset != 0 || d.sizelimit != 0 ||
        d.flags != 0 || d.dio != 0 || d.block_size != 512 || d.name.len != 0)
      return fail(why, "unbound device keeps binding state", d.index);
    if (d.dirty.count != 0 || d.dirty.unknown)
      return fail(why, "unbound device has dirty pages", d.index);
  } else if (!check_binding(m, d, why)) {
    return false;
  }
  // Concurrent blocks: work left pending matches the state it left behind.
  if ((d.state == DevState::Deleting) != (d.pending == Pending::Remove))
    return fail(why, "Deleting without a pending removal, or the reverse", d.index);
  if (d.pending != Pending::None && d.pending != Pending::Remove && d.state != DevState::Rundown)
    return fail(why, "a pending teardown on a device not in Rundown", d.index);
  if (d.state == DevState::Deleting && openers != 0)
    return fail(why, "a device being removed has openers", d.index);
  // A teardown in progress has dropped its locks: its Rundown is transient.
  if (d.state == DevState::Rundown && d.pending == Pending::None) {
    if (!m.p.deferred_detach) return fail(why, "Rundown on a synchronous-detach profile", d.index);
    if (!(d.flags & kLoAutoclear)) return fail(why, "Rundown without AUTOCLEAR", d.index);
    if (openers == 0)
      return fail(why, "Rundown with no opener (should have been torn down)", d.index);
  }
  if (d.state == DevState::Bound && (d.flags & kLoAutoclear) && openers == 0)
    return fail(why, "autoclear device with no opener still bound", d.index);
  if (openers == 0 && (d.dirty.count || d.cache_populated || d.orphan_dirty))
    return fail(why, "closed device keeps page cache", d.index);
  if (d.cache_stale && !d.cache_populated)
    return fail(why, "stale cache that is not populated", d.index);
  if (!d.cache_populated && (d.cache_lo || d.cache_hi))
    return fail(why, "cached hull without a cache", d.index);
  if (d.cache_lo > d.cache_hi) return fail(why, "cached hull inverted", d.index);
  if (d.sure_lo < d.sure_hi && (d.sure_lo < d.cache_lo || d.sure_hi > d.cache_hi))
    return fail(why, "surely cached bytes outside the cached hull", d.index);
  if (!d.cache_populated && (d.held.count || d.sure_hi || d.stale_hi))
    return fail(why, "held or stale bytes without a cache", d.index);
  int exclusive = 0;
  for (const Desc& x : s.descs)
    if (x.kind == DescKind::Loop && x.device == d.index && (x.open_flags & kOpenExcl)) ++exclusive;
  if (exclusive > 1) return fail(why, "more than one exclusive holder", d.index);
  if (!extents_well_formed(d.dirty, ~uint64_t{0}))
    return fail(why, "dirty extents malformed", d.index);
  return true;
}

// Description slot i in use: open or held, its fd unique, its holder count right,
// what it refers to present.
bool check_desc(Machine& m, int i, std::string* why) {
  const State& s = m.s;
  const Desc& x = s.descs[i];
  if (x.fd == 0 && x.holders == 0) return fail(why, "description neither open nor held", i);
  if (x.fd != 0 && x.fd < static_cast<uint32_t>(kFirstFd)) return fail(why, "fd below 3", i);
  for (int j = i + 1; j < kMaxDescs; ++j)
    if (x.fd != 0 && s.descs[j].kind != DescKind::None && s.descs[j].fd == x.fd)
      return fail(why, "fd number used twice", static_cast<long>(x.fd));
  int holders = 0;
  for (int k = 0; k < s.device_count; ++k)
    if (has_backing(s.devices[k].state) && s.devices[k].backing_desc == i) ++holders;
  if (holders != x.holders) return fail(why, "holder count differs from bound devices", i);
  if (x.kind == DescKind::Loop && !m.device(x.device))
    return fail(why, "fd on a device that does not exist", i);
  if ((x.kind == DescKind::File || x.kind == DescKind::Dir) &&
      (x.object >= s.object_count ||
       s.objects[x.object].kind != (x.kind == DescKind::Dir ? ObjKind::Dir : ObjKind::File)))
    return fail(why, "fd on a missing or mismatched object", i);
  if (x.kind == DescKind::Dir && x.access != Access::Ro)
    return fail(why, "directory open for writing", i);
  return true;
}

}  // namespace

bool check_invariants(const State& s, const Profile& profile, const Env& env, std::string* why) {
  // Machine only reads here; the const_cast lets us reuse its lookups.
  State& mutable_state = const_cast<State&>(s);
  Machine m{mutable_state, profile, env};

  if (s.device_count > kMaxDevices) return fail(why, "device_count out of bounds");
  for (int i = 0; i < kMaxDevices; ++i) {
    if (i >= s.device_count) {
      if (!is_default(s.devices[i])) return fail(why, "unused device slot not default", i);
      continue;
    }
    if (!check_device(m, i, why)) return false;
  }

  for (int i = 0; i < kMaxDescs; ++i) {
    if (s.descs[i].kind == DescKind::None) {
      if (!is_default(s.descs[i])) return fail(why, "free description slot not default", i);
      continue;
    }
    if (!check_desc(m, i, why)) return false;
  }

  for (int i = 0; i < kMaxObjects; ++i) {
    const Object& o = s.objects[i];
    if (i >= s.object_count) {
      if (!is_default(o)) return fail(why, "unused object slot not default", i);
      continue;
    }
    if (o.fill_end > o.size) return fail(why, "fill extends past the file size", i);
    if (!extents_well_formed(o.data, o.size)) return fail(why, "file extents malformed", i);
  }
  return true;
}

}  // namespace loopcheck::model
