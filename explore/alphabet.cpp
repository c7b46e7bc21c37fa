// The explorer's operations per state, their argument domains and their labels.
#include "explore/alphabet.h"

#include <cassert>
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
  return d;
}

void alphabet(const State& s, const Scope& scope, const ArgDomain& domain, std::vector<Op>& out) {
  out.clear();
  // Open fds in fd order (slot order is first-free and would do, but fd order reads
  // better in traces and does not depend on slot reuse).
  std::array<const Desc*, kMaxDescs> fds{};
  int nfds = 0;
  for (const Desc& d : s.descs)
    if (d.kind != DescKind::None && d.fd != 0) fds[nfds++] = &d;
  for (int i = 1; i < nfds; ++i)
    for (int j = i; j > 0 && fds[j - 1]->fd > fds[j]->fd; --j) std::swap(fds[j - 1], fds[j]);

  bool have_ctl = false;
  for (int i = 0; i < nfds; ++i) have_ctl |= fds[i]->kind == DescKind::LoopControl;

  if (static_cast<uint32_t>(nfds) < scope.fds) {
    // A second loop-control fd can do nothing the first cannot.
    if (!have_ctl) out.push_back(op_open_loop_control(Access::Rw));
    for (int i = 0; i < s.device_count; ++i)
      for (Access a : domain.loop_access)
        for (uint8_t f : domain.loop_flags)
          out.push_back(op_open_loop(Value::literal(s.devices[i].index), a, f));
    for (int o = 0; o < s.object_count; ++o)
      for (Access a : domain.file_access)
        for (uint8_t f : domain.file_flags)
          out.push_back(op_open_file(static_cast<uint8_t>(o), a, f));
  }

  for (int i = 0; i < nfds; ++i) {
    const Desc& fd = *fds[i];
    const Value v = Value::literal(fd.fd);
    if (fd.kind == DescKind::LoopControl) {
      if (s.device_count < scope.devices)
        out.push_back(op_ioctl(v, Req::LoopCtlAdd, Value::signed_literal(-1)));
      for (int k = 0; k < s.device_count; ++k) {
        const Value index = Value::literal(s.devices[k].index);
        if (domain.add_existing) out.push_back(op_ioctl(v, Req::LoopCtlAdd, index));
        out.push_back(op_ioctl(v, Req::LoopCtlRemove, index));
      }
    } else if (fd.kind == DescKind::Loop) {
      // Backing candidates: every open file or loop fd (itself included: EBADF).
      for (int k = 0; k < nfds; ++k)
        if (fds[k]->kind == DescKind::File || fds[k]->kind == DescKind::Loop)
          out.push_back(op_ioctl(v, Req::LoopSetFd, Value::literal(fds[k]->fd)));
      out.push_back(op_ioctl_noarg(v, Req::LoopClrFd));
      for (uint64_t off : domain.offsets)
        for (uint64_t limit : domain.sizelimits)
          for (uint32_t flags : domain.status_flags) {
            StructFields f;
            f.set(Field::Offset, Value::literal(off));
            f.set(Field::Sizelimit, Value::literal(limit));
            f.set(Field::Flags, Value::literal(flags));
            out.push_back(op_ioctl_struct(v, Req::LoopSetStatus64, f));
          }
      for (int k = 0; k < nfds; ++k) {
        if (fds[k]->kind != DescKind::File) continue;
        for (uint64_t bs : domain.block_sizes)
          for (uint32_t flags : domain.config_flags) {
            StructFields f;
            f.set(Field::Fd, Value::literal(fds[k]->fd));
            f.set(Field::BlockSize, Value::literal(bs));
            f.set(Field::Flags, Value::literal(flags));
            out.push_back(op_ioctl_struct(v, Req::LoopConfigure, f));
          }
      }
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
    }
    out.push_back(op_close(v));
  }
}

// Label layout: 0 open loop-control; 1..12 open loop (access x excl x direct);
// 13..18 open file (access x direct); 19 close; 20.. ioctls by Req; then the rest.
namespace {
constexpr int kLabelOpenLoop = 1;
constexpr int kLabelOpenFile = 13;
constexpr int kLabelClose = 19;
constexpr int kLabelIoctl = 20;
constexpr int kLabelOther = kLabelIoctl + kReqCount;
static_assert(kLabelOther + 8 <= kMaxLabels);
constexpr const char* kAccessName[] = {"ro", "wo", "rw"};
}  // namespace

int op_label(const Op& op) {
  switch (op.kind) {
    case OpKind::Open: {
      const int a = static_cast<int>(op.access);
      const int excl = (op.open_flags & kOpenExcl) ? 1 : 0;
      const int direct = (op.open_flags & kOpenDirect) ? 1 : 0;
      if (op.node == Node::LoopControl) return 0;
      if (op.node == Node::Loop) return kLabelOpenLoop + a * 4 + excl * 2 + direct;
      return kLabelOpenFile + a * 2 + direct;
    }
    case OpKind::Close:
      return kLabelClose;
    case OpKind::Ioctl:
      return kLabelIoctl + static_cast<int>(op.req);
    default:
      return kLabelOther + static_cast<int>(op.kind);
  }
}

std::string op_label_name(int label) {
  assert(label >= 0 && label < kMaxLabels);
  if (label == 0) return "open loop-control";
  if (label < kLabelOpenFile) {
    const int x = label - kLabelOpenLoop;
    std::string s = std::string("open loop ") + kAccessName[x / 4];
    if (x & 2) s += " excl";
    if (x & 1) s += " direct";
    return s;
  }
  if (label < kLabelClose) {
    const int x = label - kLabelOpenFile;
    return std::string("open file ") + kAccessName[x / 2] + ((x & 1) ? " direct" : "");
  }
  if (label == kLabelClose) return "close";
  if (label < kLabelOther) {
    const Req req = static_cast<Req>(label - kLabelIoctl);
    return req == Req::Unknown ? std::string("ioctl unknown") : std::string(req_name(req));
  }
  static constexpr const char* kOther[] = {"open",   "close", "ioctl",    "pread",
                                           "pwrite", "fsync", "truncate", "sysfs"};
  return kOther[label - kLabelOther];
}

int outcome_class(const Outcome& outcome) {
  if (outcome.kind != Outcome::Kind::Error) return 0;
  return outcome.err > 0 && outcome.err < kOutcomeClasses ? outcome.err : kOutcomeClasses - 1;
}

std::string outcome_class_name(int cls) {
  if (cls == 0) return "ok";
  std::string_view name = errno_name(cls);
  return name.empty() ? "errno:" + std::to_string(cls) : std::string(name);
}

}  // namespace loopcheck::model
