#include "trace/uapi_structs.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

namespace loopcheck {
namespace {

static_assert(LO_NAME_SIZE == kNameSize);

void copy_name(const Name64& name, void* field) {
  std::memcpy(field, name.bytes.data(), std::min<size_t>(name.len, LO_NAME_SIZE));
}

Name64 name_from(const void* field) {
  Name64 name;
  std::memcpy(name.bytes.data(), field, kNameSize);
  name.len = static_cast<uint8_t>(strnlen(name.bytes.data(), kNameSize));
  return name;
}

}  // namespace

loop_info64 to_loop_info64(const StructFields& f) {
  loop_info64 info{};
  info.lo_device = f.get(Field::Device);
  info.lo_inode = f.get(Field::Inode);
  info.lo_rdevice = f.get(Field::Rdevice);
  info.lo_offset = f.get(Field::Offset);
  info.lo_sizelimit = f.get(Field::Sizelimit);
  info.lo_number = static_cast<uint32_t>(f.get(Field::Number));
  info.lo_encrypt_type = static_cast<uint32_t>(f.get(Field::EncryptType));
  info.lo_encrypt_key_size = static_cast<uint32_t>(f.get(Field::EncryptKeySize));
  info.lo_flags = static_cast<uint32_t>(f.get(Field::Flags));
  copy_name(f.name, info.lo_file_name);
  return info;
}

loop_info to_loop_info(const StructFields& f) {
  loop_info info{};
  info.lo_number = static_cast<int>(f.get(Field::Number));
  info.lo_device = static_cast<__kernel_old_dev_t>(f.get(Field::Device));
  info.lo_inode = static_cast<unsigned long>(f.get(Field::Inode));
  info.lo_rdevice = static_cast<__kernel_old_dev_t>(f.get(Field::Rdevice));
  info.lo_offset = static_cast<int>(f.get(Field::Offset));
  info.lo_encrypt_type = static_cast<int>(f.get(Field::EncryptType));
  info.lo_encrypt_key_size = static_cast<int>(f.get(Field::EncryptKeySize));
  info.lo_flags = static_cast<int>(f.get(Field::Flags));
  copy_name(f.name, info.lo_name);
  return info;
}

loop_config to_loop_config(const StructFields& f) {
  loop_config config{};
  config.fd = static_cast<uint32_t>(f.get(Field::Fd));
  config.block_size = static_cast<uint32_t>(f.get(Field::BlockSize));
  config.info = to_loop_info64(f);
  return config;
}

Outcome status_outcome(const loop_info64& info) {
  Outcome o;
  o.kind = Outcome::Kind::Status;
  StatusInfo& s = o.status;
  s.device = info.lo_device;
  s.inode = info.lo_inode;
  s.rdevice = info.lo_rdevice;
  s.offset = info.lo_offset;
  s.sizelimit = info.lo_sizelimit;
  s.number = info.lo_number;
  s.encrypt_type = info.lo_encrypt_type;
  s.encrypt_key_size = info.lo_encrypt_key_size;
  s.flags = info.lo_flags;
  s.name = name_from(info.lo_file_name);
  return o;
}

Outcome status_outcome(const loop_info& info) {
  Outcome o;
  o.kind = Outcome::Kind::Status;
  StatusInfo& s = o.status;
  s.device = info.lo_device;
  s.inode = info.lo_inode;
  s.rdevice = info.lo_rdevice;
  s.offset = static_cast<uint64_t>(static_cast<int64_t>(info.lo_offset));
  s.number = static_cast<uint32_t>(info.lo_number);
  s.encrypt_type = static_cast<uint32_t>(info.lo_encrypt_type);
  s.encrypt_key_size = static_cast<uint32_t>(info.lo_encrypt_key_size);
  s.flags = static_cast<uint32_t>(info.lo_flags);
  s.name = name_from(info.lo_name);
  return o;
}

int open_flags_of(const Op& op) {
  int flags = op.access == Access::Ro ? O_RDONLY : op.access == Access::Wo ? O_WRONLY : O_RDWR;
  if (op.open_flags & kOpenExcl) flags |= O_EXCL;
  if (op.open_flags & kOpenDirect) flags |= O_DIRECT;
  if (op.open_flags & kOpenSync) flags |= O_SYNC;
  if (op.open_flags & kOpenDsync) flags |= O_DSYNC;
  if (op.open_flags & kOpenNonblock) flags |= O_NONBLOCK;
  return flags;
}

}  // namespace loopcheck
