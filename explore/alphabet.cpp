// The explorer's operations per state, their argument domains and their labels.
#include "explore/alphabet.h"

#include <climits>

#include "trace/names.h"
#include "trace/ops.h"

namespace loopcheck::model {

namespace {

constexpr uint64_t kLlong = static_cast<uint64_t>(LLONG_MAX);
constexpr uint64_t k2to63 = 1ull << 63;

void push_unique(std::vector<uint64_t>& v, uint64_t x) {
  for (uint64_t y : v)
    if (y == x) return;
  v.push_back(x);
}

}  // namespace

ArgDomain make_domain(const Scope& scope) {
  ArgDomain d;
  const uint64_t size = kScopeFileSizes[0];
  if (scope.domain == Domain::Small) {
    // One value inside, one at the backing size (capacity 0) and one past EOF.
    d.offsets = {0, 512, size + 512};
    d.sizelimits = {0, 1024};
    d.status_flags = {0, kLoAutoclear, kLoReadOnly | kLoAutoclear};
    d.config_flags = {0, kLoReadOnly, kLoAutoclear};
    d.block_sizes = {512, 4096, 1000};
    d.loop_access = {Access::Ro, Access::Rw};
    d.loop_flags = {0, kOpenExcl};
    d.file_access = {Access::Ro, Access::Rw};
    d.file_flags = {0};
    return d;
  }
  for (uint64_t x : {uint64_t{0}, uint64_t{1}, uint64_t{511}, uint64_t{512}, size - 512, size,
                     size + 512, kLlong, k2to63})
    push_unique(d.offsets, x);
  for (uint64_t x : {uint64_t{0}, uint64_t{1}, uint64_t{511}, uint64_t{512}, size - 512, size + 512,
                     kLlong, k2to63})
    push_unique(d.sizelimits, x);
  // Every subset of the four LO_FLAGS the ABI names.
  for (uint32_t bits = 0; bits < 16; ++bits) {
    uint32_t f = 0;
    if (bits & 1) f |= kLoReadOnly;
    if (bits & 2) f |= kLoAutoclear;
    if (bits & 4) f |= kLoPartscan;
    if (bits & 8) f |= kLoDirectIo;
    d.status_flags.push_back(f);
    d.config_flags.push_back(f);
  }
  d.block_sizes = {0, 256, 512, 1024, 4095, 4096, 8192, 65536, 131072};
  d.loop_access = {Access::Ro, Access::Wo, Access::Rw};
  d.loop_flags = {0, kOpenExcl, kOpenDirect, kOpenExcl | kOpenDirect};
  d.file_access = {Access::Ro, Access::Wo, Access::Rw};
  d.file_flags = {0, kOpenDirect};
  d.add_existing = true;
  d.blkroset = true;
  d.discard_ranges = {{0, 4096}, {512, 512}, {0, 0}};
  return d;
}

namespace {

using FdList = std::array<const Desc*, kMaxDescs>;

// Open fds in fd order (slot order is first-free and would do, but fd order reads
// better in traces and does not depend on slot reuse). Returns how many.
int open_fds(const State& s, FdList& fds) {
  int nfds = 0;
  for (const Desc& d : s.descs)
    if (d.kind != DescKind::None && d.fd != 0) fds[nfds++] = &d;
  for (int i = 1; i < nfds; ++i)
    for (int j = i; j > 0 && fds[j - 1]->fd > fds[j]->fd; --j) std::swap(fds[j - 1], fds[j]);
  return nfds;
}

// Whether a scope file carries a partition table (scope.h: img2): only then do
// partition ops join the alphabet, so scopes without one explore as before.
bool scope_has_table(const State& s) {
  for (int o = 0; o < s.object_count; ++o)
    if (s.objects[o].mbr_count != 0) return true;
  return false;
}

void push_opens(const State& s, const ArgDomain& domain, bool have_ctl, std::vector<Op>& out) {
  // A second loop-control fd can do nothing the first cannot.
  if (!have_ctl) out.push_back(op_open_loop_control(Access::Rw));
  for (int i = 0; i < s.device_count; ++i)
    for (Access a : domain.loop_access)
      for (uint8_t f : domain.loop_flags)
        out.push_back(op_open_loop(Value::literal(s.devices[i].index), a, f));
  if (scope_has_table(s))
    for (int i = 0; i < s.device_count; ++i)
      for (uint8_t part : kScopePartitions)
        out.push_back(op_open_partition(Value::literal(s.devices[i].index), part, Access::Rw));
  for (int o = 0; o < s.object_count; ++o)
    for (Access a : domain.file_access)
      for (uint8_t f : domain.file_flags)
        out.push_back(op_open_file(static_cast<uint8_t>(o), a, f));
}

void push_control_ops(const State& s, const Scope& scope, const ArgDomain& domain, Value v,
                      std::vector<Op>& out) {
  if (s.device_count < scope.devices)
    out.push_back(op_ioctl(v, Req::LoopCtlAdd, Value::signed_literal(-1)));
  for (int k = 0; k < s.device_count; ++k) {
    const Value index = Value::literal(s.devices[k].index);
    if (domain.add_existing) out.push_back(op_ioctl(v, Req::LoopCtlAdd, index));
    out.push_back(op_ioctl(v, Req::LoopCtlRemove, index));
  }
}

void push_set_status(const ArgDomain& domain, Value v, std::vector<Op>& out) {
  for (uint64_t off : domain.offsets)
    for (uint64_t limit : domain.sizelimits)
      for (uint32_t flags : domain.status_flags) {
        StructFields f;
        f.set(Field::Offset, Value::literal(off));
        f.set(Field::Sizelimit, Value::literal(limit));
        f.set(Field::Flags, Value::literal(flags));
        out.push_back(op_ioctl_struct(v, Req::LoopSetStatus64, f));
      }
}

void push_configure(const ArgDomain& domain, Value v, Value file, std::vector<Op>& out) {
  for (uint64_t bs : domain.block_sizes)
    for (uint32_t flags : domain.config_flags) {
      StructFields f;
      f.set(Field::Fd, file);
      f.set(Field::BlockSize, Value::literal(bs));
      f.set(Field::Flags, Value::literal(flags));
      out.push_back(op_ioctl_struct(v, Req::LoopConfigure, f));
    }
}

void push_loop_ops(const FdList& fds, int nfds, const ArgDomain& domain, Value v,
                   std::vector<Op>& out) {
  // Backing candidates: every open file or whole loop device fd (itself
  // included: EBADF); a partition as a backing file is not modelled.
  for (int k = 0; k < nfds; ++k)
    if (fds[k]->kind == DescKind::File || (fds[k]->kind == DescKind::Loop && fds[k]->part == 0))
      out.push_back(op_ioctl(v, Req::LoopSetFd, Value::literal(fds[k]->fd)));
  out.push_back(op_ioctl_noarg(v, Req::LoopClrFd));
  push_set_status(domain, v, out);
  for (int k = 0; k < nfds; ++k)
    if (fds[k]->kind == DescKind::File) push_configure(domain, v, Value::literal(fds[k]->fd), out);
  for (int k = 0; k < nfds; ++k)
    if (fds[k]->kind == DescKind::File)
      out.push_back(op_ioctl(v, Req::LoopChangeFd, Value::literal(fds[k]->fd)));
  for (uint64_t bs : domain.block_sizes)
    out.push_back(op_ioctl(v, Req::LoopSetBlockSize, Value::literal(bs)));
  out.push_back(op_ioctl_noarg(v, Req::LoopSetCapacity));
  out.push_back(op_ioctl(v, Req::LoopSetDirectIo, Value::literal(0)));
  out.push_back(op_ioctl(v, Req::LoopSetDirectIo, Value::literal(1)));
  out.push_back(op_ioctl_noarg(v, Req::LoopGetStatus64));
  if (domain.blkroset) {
    out.push_back(op_ioctl(v, Req::BlkRoSet, Value::literal(0)));
    out.push_back(op_ioctl(v, Req::BlkRoSet, Value::literal(1)));
  }
  for (const auto& [start, len] : domain.discard_ranges) {
    out.push_back(op_ioctl_range(v, Req::BlkDiscard, start, len));
    out.push_back(op_ioctl_range(v, Req::BlkZeroout, start, len));
  }
  if (!domain.discard_ranges.empty()) {
    const auto& [start, len] = domain.discard_ranges.front();
    out.push_back(op_ioctl_range(v, Req::BlkSecDiscard, start, len));
    // fallocate on the device: its two zeroing modes over the first range.
    const auto off = static_cast<int64_t>(start);
    out.push_back(op_fallocate(v, off, len, kFallocZeroRange | kFallocKeepSize));
    out.push_back(op_fallocate(v, off, len, kFallocPunchHole | kFallocKeepSize));
  }
}

}  // namespace

void alphabet(const State& s, const Scope& scope, const ArgDomain& domain, std::vector<Op>& out) {
  out.clear();
  FdList fds{};
  const int nfds = open_fds(s, fds);
  bool have_ctl = false;
  for (int i = 0; i < nfds; ++i) have_ctl |= fds[i]->kind == DescKind::LoopControl;
  if (static_cast<uint32_t>(nfds) < scope.fds) push_opens(s, domain, have_ctl, out);
  for (int i = 0; i < nfds; ++i) {
    const Desc& fd = *fds[i];
    const Value v = Value::literal(fd.fd);
    if (fd.kind == DescKind::LoopControl) {
      push_control_ops(s, scope, domain, v, out);
    } else if (fd.kind == DescKind::Loop && fd.part != 0) {
      // A partition fd: its size, and the rescan it refuses.
      out.push_back(op_ioctl_noarg(v, Req::BlkGetSize64));
      out.push_back(op_ioctl_noarg(v, Req::BlkRrPart));
    } else if (fd.kind == DescKind::Loop) {
      push_loop_ops(fds, nfds, domain, v, out);
      if (scope_has_table(s)) out.push_back(op_ioctl_noarg(v, Req::BlkRrPart));
    }
    out.push_back(op_close(v));
  }
}

const std::vector<Op>& AlphabetCache::get(const State& s) {
  // Enough to hold hundreds of distinct lists; a scope with more starts over.
  constexpr size_t kMaxLists = 512;
  key_.clear();
  key_.push_back(static_cast<char>(s.object_count));
  key_.push_back(static_cast<char>(s.device_count));
  for (int i = 0; i < s.device_count; ++i)
    key_.append(reinterpret_cast<const char*>(&s.devices[i].index), sizeof s.devices[i].index);
  // Open fds in slot order: states listing the same fds in another order get their
  // own (equal) lists, which costs memory, never correctness.
  for (const Desc& d : s.descs) {
    if (d.kind == DescKind::None || d.fd == 0) continue;
    key_.push_back(static_cast<char>(d.kind));
    key_.push_back(static_cast<char>(d.part));
    key_.append(reinterpret_cast<const char*>(&d.fd), sizeof d.fd);
  }
  auto it = lists_.find(key_);
  if (it != lists_.end()) return it->second;
  if (lists_.size() >= kMaxLists) lists_.clear();
  std::vector<Op>& ops = lists_[key_];
  alphabet(s, scope_, domain_, ops);
  return ops;
}

}  // namespace loopcheck::model
