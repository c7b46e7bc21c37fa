#include "trace/classify.h"

#include <fmt/format.h>

#include <array>
#include <cassert>

#include "trace/names.h"

namespace loopcheck {
namespace {

constexpr std::array<std::string_view, kOpClassCount> kOpClassNames{"open loop-control",
                                                                    "open loop",
                                                                    "open file",
                                                                    "open dir",
                                                                    "close",
                                                                    "pread",
                                                                    "pwrite",
                                                                    "fsync",
                                                                    "truncate",
                                                                    "sysfs",
                                                                    "fallocate",
                                                                    "allocated",
                                                                    "uevents",
                                                                    "ioctl"};

// Label layout: 0 open loop-control; 1..12 open loop (access x excl x direct);
// 13..18 open file (access x direct); 19 close; 20.. ioctls by Req; then the other
// kinds by OpKind. The numbers key the explorer's edge hashes, so they stay put.
constexpr int kLabelOpenLoop = 1;
constexpr int kLabelOpenFile = 13;
constexpr int kLabelClose = 19;
constexpr int kLabelIoctl = 20;
constexpr int kLabelOther = kLabelIoctl + kReqCount;
static_assert(kLabelOther + 10 <= kMaxOpLabels);

// Outcome keys: 0 success, 1 + errno for errnos below kErrnoKeys, then the other classes.
constexpr int kErrnoKeys = kOutcomeKeyCount - 6;

std::string errno_text(int err) {
  const std::string_view name = errno_name(err);
  return name.empty() ? fmt::format("errno:{}", err) : std::string(name);
}

}  // namespace

OpClass op_class(const Op& op) {
  switch (op.kind) {
    case OpKind::Open:
      return static_cast<OpClass>(static_cast<int>(op.node));
    case OpKind::Close:
      return OpClass::Close;
    case OpKind::Pread:
      return OpClass::Pread;
    case OpKind::Pwrite:
      return OpClass::Pwrite;
    case OpKind::Fsync:
      return OpClass::Fsync;
    case OpKind::Truncate:
      return OpClass::Truncate;
    case OpKind::Sysfs:
      return OpClass::Sysfs;
    case OpKind::Fallocate:
      return OpClass::Fallocate;
    case OpKind::Allocated:
      return OpClass::Allocated;
    case OpKind::Uevents:
      return OpClass::Uevents;
    case OpKind::Ioctl:
      return OpClass::Ioctl;
  }
  return OpClass::Sysfs;
}

std::string_view op_class_name(OpClass cls) {
  return kOpClassNames[static_cast<size_t>(cls)];
}

int op_key(const Op& op) {
  const OpClass cls = op_class(op);
  if (cls == OpClass::Ioctl) return static_cast<int>(cls) + static_cast<int>(op.req);
  return static_cast<int>(cls);
}

std::string op_signature_name(const Op& op) {
  const OpClass cls = op_class(op);
  if (cls == OpClass::Sysfs) return fmt::format("{} {}", op_class_name(cls), sysattr_path(op.attr));
  if (cls == OpClass::Ioctl) {
    if (op.req == Req::Unknown) return fmt::format("{} {:#x}", op_class_name(cls), op.raw_req);
    return std::string(req_name(op.req));
  }
  return std::string(op_class_name(cls));
}

int op_label(const Op& op) {
  const int a = static_cast<int>(op.access);
  const int excl = (op.open_flags & kOpenExcl) ? 1 : 0;
  const int direct = (op.open_flags & kOpenDirect) ? 1 : 0;
  switch (op_class(op)) {
    case OpClass::OpenLoopControl:
      return 0;
    case OpClass::OpenLoop:
      return kLabelOpenLoop + a * 4 + excl * 2 + direct;
    case OpClass::OpenFile:
    case OpClass::OpenDir:
      return kLabelOpenFile + a * 2 + direct;
    case OpClass::Close:
      return kLabelClose;
    case OpClass::Ioctl:
      return kLabelIoctl + static_cast<int>(op.req);
    default:
      return kLabelOther + static_cast<int>(op.kind);
  }
}

std::string op_label_name(int label) {
  assert(label >= 0 && label < kMaxOpLabels);
  if (label == 0) return std::string(op_class_name(OpClass::OpenLoopControl));
  if (label < kLabelOpenFile) {
    const int x = label - kLabelOpenLoop;
    std::string s = fmt::format("{} {}", op_class_name(OpClass::OpenLoop),
                                access_name(static_cast<Access>(x / 4)));
    if (x & 2) s += " excl";
    if (x & 1) s += " direct";
    return s;
  }
  if (label < kLabelClose) {
    const int x = label - kLabelOpenFile;
    return fmt::format("{} {}{}", op_class_name(OpClass::OpenFile),
                       access_name(static_cast<Access>(x / 2)), (x & 1) ? " direct" : "");
  }
  if (label == kLabelClose) return std::string(op_class_name(OpClass::Close));
  if (label < kLabelOther) {
    const Req req = static_cast<Req>(label - kLabelIoctl);
    if (req == Req::Unknown) return fmt::format("{} unknown", op_class_name(OpClass::Ioctl));
    return std::string(req_name(req));
  }
  Op other;
  other.kind = static_cast<OpKind>(label - kLabelOther);
  return std::string(op_class_name(op_class(other)));
}

OutcomeClass outcome_class(const Outcome& outcome) {
  switch (outcome.kind) {
    case Outcome::Kind::Value:
      return OutcomeClass::Ok;
    case Outcome::Kind::Error:
      return OutcomeClass::Errno;
    case Outcome::Kind::Status:
      return OutcomeClass::Status;
    case Outcome::Kind::Data:
      return OutcomeClass::Data;
    case Outcome::Kind::Text:
      return OutcomeClass::Text;
    case Outcome::Kind::Uevents:
      return OutcomeClass::Uevents;
    case Outcome::Kind::Skipped:
      return OutcomeClass::Skipped;
  }
  return OutcomeClass::Ok;
}

int outcome_key(const Outcome& outcome) {
  const OutcomeClass cls = outcome_class(outcome);
  if (cls == OutcomeClass::Ok) return 0;
  if (cls == OutcomeClass::Errno)
    return 1 + (outcome.err > 0 && outcome.err < kErrnoKeys ? outcome.err : 0);
  return kErrnoKeys + static_cast<int>(cls) - 1;
}

std::string outcome_signature_name(const Outcome& outcome) {
  switch (outcome_class(outcome)) {
    case OutcomeClass::Ok:
      if (outcome.role == ValueRole::Fd) return "fd";
      if (outcome.role == ValueRole::DevIndex) return "index";
      return fmt::format("{}", outcome.value);
    case OutcomeClass::Errno:
      return errno_text(outcome.err);
    case OutcomeClass::Status:
      return "status";
    case OutcomeClass::Data:
      return fmt::format("data {}", outcome.value);
    case OutcomeClass::Text:
      return "text";
    case OutcomeClass::Uevents:
      return "uevents";
    case OutcomeClass::Skipped:
      return "SKIPPED";
  }
  return "?";
}

int errno_class(const Outcome& outcome) {
  if (outcome_class(outcome) != OutcomeClass::Errno) return 0;
  return outcome.err > 0 && outcome.err < kErrnoClassCount ? outcome.err : kErrnoClassCount - 1;
}

std::string errno_class_name(int cls) {
  if (cls == 0) return "ok";
  return errno_text(cls);
}

}  // namespace loopcheck
