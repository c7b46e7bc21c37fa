// Constructors for Ops, so code that builds traces (explorer, fuzzer, minimizer,
// tests) never has to know which Op members each kind uses. Each returns an Op
// whose unused members keep their defaults, so two Ops built the same way compare
// equal and print the same.
#pragma once

#include <cstdint>

#include "trace/trace.h"

namespace loopcheck {

inline Op op_open_loop_control(Access access = Access::Rw) {
  Op op;
  op.kind = OpKind::Open;
  op.node = Node::LoopControl;
  op.access = access;
  return op;
}

// `open loop N FLAGS`: `index` is the loop device number (literal or variable).
inline Op op_open_loop(Value index, Access access, uint8_t open_flags = 0) {
  Op op;
  op.kind = OpKind::Open;
  op.node = Node::Loop;
  op.subject = index;
  op.access = access;
  op.open_flags = open_flags;
  return op;
}

// `open loop N part K FLAGS`: partition K (1..kMaxPartitions) of loop device N.
inline Op op_open_partition(Value index, uint8_t part, Access access, uint8_t open_flags = 0) {
  Op op = op_open_loop(index, access, open_flags);
  op.part = part;
  return op;
}

// `open file NAME FLAGS`: `object` is the index of the `file` declaration.
inline Op op_open_file(uint8_t object, Access access, uint8_t open_flags = 0) {
  Op op;
  op.kind = OpKind::Open;
  op.node = Node::File;
  op.object = object;
  op.access = access;
  op.open_flags = open_flags;
  return op;
}

// `open dir NAME FLAGS`: `object` is the index of the `dir` declaration.
inline Op op_open_dir(uint8_t object, Access access = Access::Ro, uint8_t open_flags = 0) {
  Op op;
  op.kind = OpKind::Open;
  op.node = Node::Dir;
  op.object = object;
  op.access = access;
  op.open_flags = open_flags;
  return op;
}

inline Op op_close(Value fd) {
  Op op;
  op.kind = OpKind::Close;
  op.subject = fd;
  return op;
}

// An ioctl without an argument (`ioctl d LOOP_CLR_FD`).
inline Op op_ioctl_noarg(Value fd, Req req) {
  Op op;
  op.kind = OpKind::Ioctl;
  op.subject = fd;
  op.req = req;
  op.arg_kind = ArgKind::None;
  return op;
}

// An ioctl with a numeric argument (an fd, an index, a size, a flag).
inline Op op_ioctl(Value fd, Req req, Value arg) {
  Op op = op_ioctl_noarg(fd, req);
  op.arg_kind = ArgKind::Number;
  op.arg = arg;
  return op;
}

// LOOP_SET_STATUS / LOOP_SET_STATUS64 / LOOP_CONFIGURE with a braced struct.
inline Op op_ioctl_struct(Value fd, Req req, const StructFields& fields) {
  Op op = op_ioctl_noarg(fd, req);
  op.arg_kind = ArgKind::Struct;
  op.fields = fields;
  return op;
}

// BLKDISCARD / BLKZEROOUT with the {start, len} range they read.
inline Op op_ioctl_range(Value fd, Req req, uint64_t start, uint64_t len) {
  Op op = op_ioctl_noarg(fd, req);
  op.arg_kind = ArgKind::Range;
  op.offset = Value::literal(start);
  op.arg = Value::literal(len);
  return op;
}

// A pointer-taking ioctl passed NULL.
inline Op op_ioctl_null(Value fd, Req req) {
  Op op = op_ioctl_noarg(fd, req);
  op.arg_kind = ArgKind::Null;
  return op;
}

// `ioctl FD 0xNNNN ARG`: a request number the language does not name. Callers
// that might pass a known number should go through req_from_number (names.h)
// first; the parser does, so that printing gives the name.
inline Op op_ioctl_raw(Value fd, uint64_t number, Value arg) {
  Op op = op_ioctl(fd, Req::Unknown, arg);
  op.raw_req = number;
  return op;
}

inline Op op_pread(Value fd, int64_t offset, uint64_t length) {
  Op op;
  op.kind = OpKind::Pread;
  op.subject = fd;
  op.offset = Value::signed_literal(offset);
  op.length = length;
  return op;
}

inline Op op_pwrite(Value fd, int64_t offset, uint64_t length, uint32_t seed) {
  Op op;
  op.kind = OpKind::Pwrite;
  op.subject = fd;
  op.offset = Value::signed_literal(offset);
  op.length = length;
  op.seed = seed;
  return op;
}

// `allocated file NAME`: how many bytes of the file's data blocks are allocated.
inline Op op_allocated(uint8_t object) {
  Op op;
  op.kind = OpKind::Allocated;
  op.object = object;
  return op;
}

inline Op op_fsync(Value fd) {
  Op op;
  op.kind = OpKind::Fsync;
  op.subject = fd;
  return op;
}

// `fallocate FD OFF LEN MODE...`: `mode` is a set of FallocFlag bits.
inline Op op_fallocate(Value fd, int64_t offset, uint64_t length, uint8_t mode) {
  Op op;
  op.kind = OpKind::Fallocate;
  op.subject = fd;
  op.offset = Value::signed_literal(offset);
  op.length = length;
  op.falloc_mode = mode;
  return op;
}

// `truncate file NAME SIZE`: the new size is kept in Op::offset.
inline Op op_truncate(uint8_t object, uint64_t size) {
  Op op;
  op.kind = OpKind::Truncate;
  op.object = object;
  op.offset = Value::literal(size);
  return op;
}

// `sysfs N ATTR`: `index` is the loop device number.
inline Op op_sysfs(Value index, SysAttr attr) {
  Op op;
  op.kind = OpKind::Sysfs;
  op.subject = index;
  op.attr = attr;
  return op;
}

// `sysfs N part K ATTR`: an attribute of partition K of loop device N.
inline Op op_sysfs_partition(Value index, uint8_t part, SysAttr attr) {
  Op op = op_sysfs(index, attr);
  op.part = part;
  return op;
}

// `uevents`: the trace's devices' uevents since the previous `uevents`.
inline Op op_uevents() {
  Op op;
  op.kind = OpKind::Uevents;
  return op;
}

}  // namespace loopcheck
