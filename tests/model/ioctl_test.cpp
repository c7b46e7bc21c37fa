// Check order and errno of the loop ioctls per profile (docs/semantics.md §3), block ioctls,
// capacity (§4), sysfs (§8).
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "model/model.h"
#include "tests/model/model_sim.h"
#include "trace/ops.h"

namespace loopcheck::model {
namespace {

struct Sim : ModelSim {
  explicit Sim(const Profile& profile, Env e = Env{})
      : ModelSim(profile,
                 {file_object("img", 1 << 20), file_object("big", 2 << 20), dir_object("d")}, e) {}
};

StructFields cfg(uint64_t fd) {
  StructFields f;
  f.set(Field::Fd, L(fd));
  return f;
}

TEST(ModelIoctl, PermissionRuleComesFirst) {
  Env env;
  env.cap_sys_admin = false;
  Sim m(kLinux618, env);
  uint64_t d = m.ok(op_open_loop(L(0), Access::Ro));
  EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopSetStatus64, StructFields{})), EPERM);
  EXPECT_EQ(m.err(op_ioctl_null(L(d), Req::LoopSetStatus64)), EPERM);
  EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetBlockSize, L(1234))), EPERM);
  EXPECT_EQ(m.err(op_ioctl_noarg(L(d), Req::LoopSetCapacity)), EPERM);
  EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetDirectIo, L(1))), EPERM);
  // No permission check for these: the state check answers.
  EXPECT_EQ(m.err(op_ioctl_noarg(L(d), Req::LoopClrFd)), ENXIO);
  EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopGetStatus64, StructFields{})), ENXIO);
  EXPECT_EQ(m.err(op_ioctl(L(d), Req::BlkRoSet, L(1))), EACCES);
  EXPECT_EQ(m.err(op_ioctl_noarg(L(d), Req::BlkFlsBuf)), EACCES);
  // A writable fd passes without the capability.
  uint64_t w = m.ok(op_open_loop(L(0), Access::Rw));
  EXPECT_EQ(m.err(op_ioctl_struct(L(w), Req::LoopSetStatus64, StructFields{})), ENXIO);
  EXPECT_EQ(m.err(op_ioctl_null(L(w), Req::LoopSetStatus64)), EFAULT);
}

TEST(ModelIoctl, NullPointers) {
  Sim m(kLinux618);
  uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
  EXPECT_EQ(m.err(op_ioctl_null(L(d), Req::LoopGetStatus64)), EINVAL);
  EXPECT_EQ(m.err(op_ioctl_null(L(d), Req::LoopGetStatus)), EINVAL);
  EXPECT_EQ(m.err(op_ioctl_null(L(d), Req::LoopConfigure)), EFAULT);
  EXPECT_EQ(m.err(op_ioctl_null(L(d), Req::LoopSetStatus)), EFAULT);
  EXPECT_EQ(m.err(op_ioctl_null(L(d), Req::BlkGetSize64)), EFAULT);
}

TEST(ModelIoctl, UnknownAndMisdirectedRequests) {
  Sim m(kLinux618);
  uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
  uint64_t f = m.ok(op_open_file(0, Access::Rw));
  uint64_t dir = m.ok(op_open_dir(2));
  EXPECT_EQ(m.err(op_ioctl_raw(L(d), 0x4c0b, L(0))), EINVAL);
  EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopCtlAdd, L(3))), EINVAL);
  EXPECT_EQ(m.err(op_ioctl(L(f), Req::LoopSetFd, L(f))), ENOTTY);
  EXPECT_EQ(m.err(op_ioctl_noarg(L(dir), Req::BlkGetSize64)), ENOTTY);
  EXPECT_EQ(m.err(op_ioctl_noarg(L(99), Req::LoopClrFd)), EBADF);
}

TEST(ModelIoctl, DirectoryFdOnBoundDeviceDiffersBetweenProfiles) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
    uint64_t f = m.ok(op_open_file(0, Access::Rw));
    uint64_t dir = m.ok(op_open_dir(2));
    // Unbound: directory is EINVAL everywhere (sanity check or file-type check).
    EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetFd, L(dir))), EINVAL);
    m.ok(op_ioctl(L(d), Req::LoopSetFd, L(f)));
    EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetFd, L(dir))),
              p->rw_iter_sanity_check ? EINVAL : EBUSY)
        << p->name;
    EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetFd, Value::signed_literal(-1))), EBADF);
    EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetFd, L(f))), EBUSY);
    uint64_t c = m.ok(op_open_loop_control());
    EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetFd, L(c))),
              p->rw_iter_sanity_check ? EINVAL : EBUSY);
  }
}

TEST(ModelIoctl, ConfigureCheckOrderPerProfile) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
    uint64_t f = m.ok(op_open_file(0, Access::Rw));
    StructFields a = cfg(f);
    a.set(Field::BlockSize, L(1000));
    a.set(Field::Offset, L(uint64_t{1} << 63));
    EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopConfigure, a)),
              p->configure_block_size_early ? EINVAL : EOVERFLOW)
        << p->name;
    StructFields bad_flags = cfg(f);
    bad_flags.set(Field::Flags, L(2));
    EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopConfigure, bad_flags)), EINVAL);
    StructFields bad_fd = bad_flags;
    bad_fd.set(Field::Fd, Value::signed_literal(-1));
    EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopConfigure, bad_fd)), EBADF);
    StructFields key = cfg(f);
    key.set(Field::EncryptKeySize, L(40));
    key.set(Field::Sizelimit, L(uint64_t{1} << 63));
    EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopConfigure, key)), EINVAL);
    StructFields crypt = cfg(f);
    crypt.set(Field::EncryptType, L(1));
    EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopConfigure, crypt)), EINVAL);
    // Residue: read-only flag plus a bad block size leaves the ro bit on 6.11+.
    StructFields residue = cfg(f);
    residue.set(Field::Flags, L(kLoReadOnly));
    residue.set(Field::BlockSize, L(1000));
    EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopConfigure, residue)), EINVAL);
    EXPECT_EQ(m.sysfs(0, SysAttr::Ro), p->configure_block_size_early ? "0" : "1") << p->name;
    EXPECT_EQ(m.err(op_pwrite(L(d), 0, 512, 1)), p->configure_block_size_early ? ENOSPC : EPERM);
  }
}

TEST(ModelIoctl, ConfigureSetsStatusAndCapacity) {
  Sim m(kLinux618);
  uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
  uint64_t f = m.ok(op_open_file(0, Access::Rw));
  StructFields a = cfg(f);
  a.set(Field::Offset, L(100));
  a.set(Field::Flags, L(kLoAutoclear));
  a.set(Field::BlockSize, L(4096));
  a.name.len = 3;
  a.name.bytes = {'i', 'm', 'g'};
  EXPECT_EQ(m.ok(op_ioctl_struct(L(d), Req::LoopConfigure, a)), 0);
  EXPECT_EQ(m.sysfs(0, SysAttr::Size), "2047");  // (1 MiB - 100) / 512
  EXPECT_EQ(m.sysfs(0, SysAttr::QueueLogicalBlockSize), "4096");
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopBackingFile), "img");
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(d), Req::BlkGetSize64)), 2047 * 512);
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(d), Req::BlkSszGet)), 4096);
  Outcome st = m.run(op_ioctl_struct(L(d), Req::LoopGetStatus64, StructFields{}));
  ASSERT_EQ(st.kind, Outcome::Kind::Status);
  EXPECT_EQ(st.status.offset, 100u);
  EXPECT_EQ(st.status.flags, uint32_t{kLoAutoclear});
  EXPECT_EQ(st.status.name.view(), "img");
  EXPECT_EQ(st.status.number, 0u);
  EXPECT_EQ(st.status.rdevice, 0u);
}

TEST(ModelIoctl, SetFdThroughReadOnlyFdForcesReadOnly) {
  Sim m(kLinux618);
  uint64_t d = m.ok(op_open_loop(L(0), Access::Ro));
  uint64_t f = m.ok(op_open_file(0, Access::Rw));
  m.ok(op_ioctl(L(d), Req::LoopSetFd, L(f)));
  EXPECT_EQ(m.sysfs(0, SysAttr::Ro), "1");
  EXPECT_EQ(m.ok(op_ioctl_noarg(L(d), Req::BlkRoGet)), 1);
  uint64_t w = m.ok(op_open_loop(L(0), Access::Rw));
  EXPECT_EQ(m.err(op_pwrite(L(w), 0, 512, 1)), EPERM);
  // The ro bit stays after teardown until the next bind.
  m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd));
  m.ok(op_close(L(d)));
  m.ok(op_close(L(w)));
  EXPECT_EQ(m.sysfs(0, SysAttr::Ro), "1");
}

TEST(ModelIoctl, SetStatusRules) {
  Sim m(kLinux618);
  uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
  uint64_t f = m.ok(op_open_file(0, Access::Rw));
  m.ok(op_ioctl(L(d), Req::LoopSetFd, L(f)));
  StructFields a;
  a.set(Field::Flags, L(0xffffffff));  // other bits silently ignored
  a.set(Field::Sizelimit, L(4096));
  EXPECT_EQ(m.ok(op_ioctl_struct(L(d), Req::LoopSetStatus64, a)), 0);
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopAutoclear), "1");
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopPartscan), "1");
  EXPECT_EQ(m.sysfs(0, SysAttr::Size), "8");
  EXPECT_EQ(m.sysfs(0, SysAttr::Ro), "0");  // READ_ONLY in info is ignored
  // PARTSCAN cannot be cleared; AUTOCLEAR can.
  StructFields clear;
  clear.set(Field::Sizelimit, L(4096));
  m.ok(op_ioctl_struct(L(d), Req::LoopSetStatus64, clear));
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopAutoclear), "0");
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopPartscan), "1");
  // Legacy struct: negative offset → EOVERFLOW; sizelimit reset to 0; no key checks.
  StructFields neg;
  neg.set(Field::Offset, Value::signed_literal(-512));
  EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopSetStatus, neg)), EOVERFLOW);
  StructFields legacy;
  legacy.set(Field::EncryptType, L(1));
  legacy.set(Field::EncryptKeySize, L(100));
  EXPECT_EQ(m.ok(op_ioctl_struct(L(d), Req::LoopSetStatus, legacy)), 0);
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopSizelimit), "0");
  EXPECT_EQ(m.sysfs(0, SysAttr::Size), "2048");
  // Legacy GET_STATUS overflows for offsets beyond INT_MAX.
  StructFields far;
  far.set(Field::Offset, L(uint64_t{3} << 30));
  m.ok(op_ioctl_struct(L(d), Req::LoopSetStatus64, far));
  EXPECT_EQ(m.sysfs(0, SysAttr::Size), "0");  // offset beyond EOF is allowed
  EXPECT_EQ(m.err(op_ioctl_struct(L(d), Req::LoopGetStatus, StructFields{})), EOVERFLOW);
  EXPECT_EQ(m.run(op_ioctl_struct(L(d), Req::LoopGetStatus64, StructFields{})).kind,
            Outcome::Kind::Status);
}

TEST(ModelIoctl, SetBlockSizePerProfile) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
    EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetBlockSize, L(1234))),
              ENXIO);  // unbound: not validated
    uint64_t f = m.ok(op_open_file(0, Access::Rw));
    m.ok(op_ioctl(L(d), Req::LoopSetFd, L(f)));
    EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetBlockSize, L(1234))), EINVAL);
    EXPECT_EQ(m.ok(op_ioctl(L(d), Req::LoopSetBlockSize, L(2048))), 0);
    EXPECT_EQ(m.sysfs(0, SysAttr::QueueLogicalBlockSize), "2048");
    Outcome zero = m.run(op_ioctl(L(d), Req::LoopSetBlockSize, L(0)));
    if (p->block_size_zero_is_default) {
      EXPECT_EQ(zero.kind, Outcome::Kind::Value);
      EXPECT_EQ(m.sysfs(0, SysAttr::QueueLogicalBlockSize), "512");
    } else {
      EXPECT_EQ(zero.err, EINVAL);
    }
    Outcome big = m.run(op_ioctl(L(d), Req::LoopSetBlockSize, L(65536)));
    EXPECT_EQ(big.kind == Outcome::Kind::Value, p->large_block_sizes) << p->name;
    Outcome wrapped = m.run(op_ioctl(L(d), Req::LoopSetBlockSize, L((uint64_t{1} << 32) + 1024)));
    EXPECT_EQ(wrapped.kind == Outcome::Kind::Value, p->block_size_arg_bits == 32) << p->name;
  }
}

TEST(ModelIoctl, SetBlockSizeUnderExclusiveHolder) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
    uint64_t f = m.ok(op_open_file(0, Access::Rw));
    m.ok(op_ioctl(L(d), Req::LoopSetFd, L(f)));
    uint64_t x = m.ok(op_open_loop(L(0), Access::Rw, kOpenExcl));
    Outcome o = m.run(op_ioctl(L(d), Req::LoopSetBlockSize, L(1024)));
    if (p->block_size_exclusive_check)
      EXPECT_EQ(o.err, EBUSY) << p->name;
    else
      EXPECT_EQ(o.kind, Outcome::Kind::Value) << p->name;
    // Through the exclusive fd itself it works everywhere.
    EXPECT_EQ(m.ok(op_ioctl(L(x), Req::LoopSetBlockSize, L(4096))), 0);
  }
}

TEST(ModelIoctl, ChangeFdRules) {
  Sim m(kLinux618);
  uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
  uint64_t f = m.ok(op_open_file(0, Access::Rw));
  uint64_t g = m.ok(op_open_file(1, Access::Ro));
  EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopChangeFd, L(g))), ENXIO);
  m.ok(op_ioctl(L(d), Req::LoopSetFd, L(f)));
  EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopChangeFd, L(g))), EINVAL);  // not read-only
  uint64_t r = m.ok(op_open_loop(L(1), Access::Ro));
  uint64_t f1 = m.ok(op_open_file(0, Access::Ro));
  m.ok(op_ioctl(L(r), Req::LoopSetFd, L(f1)));
  EXPECT_EQ(m.err(op_ioctl(L(r), Req::LoopChangeFd, L(g))), EINVAL);  // 2 MiB vs 1 MiB
  m.ok(op_truncate(1, (1 << 20) + 100));                              // same sector count: accepted
  EXPECT_EQ(m.ok(op_ioctl(L(r), Req::LoopChangeFd, L(g))), 0);
  EXPECT_EQ(m.sysfs(1, SysAttr::LoopBackingFile), "big");
  EXPECT_EQ(m.err(op_ioctl(L(r), Req::LoopChangeFd, L(r))), EBADF);
}

TEST(ModelIoctl, DirectIoFeasibility) {
  Env env;  // dio_align 512
  Sim m(kLinux618, env);
  uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
  uint64_t f = m.ok(op_open_file(0, Access::Rw));
  m.ok(op_ioctl(L(d), Req::LoopSetFd, L(f)));
  EXPECT_EQ(m.ok(op_ioctl(L(d), Req::LoopSetDirectIo, L(2))), 0);
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopDio), "1");
  StructFields off;
  off.set(Field::Offset, L(100));
  m.ok(op_ioctl_struct(L(d), Req::LoopSetStatus64, off));
  EXPECT_EQ(m.sysfs(0, SysAttr::LoopDio), "0");  // silently dropped
  EXPECT_EQ(m.err(op_ioctl(L(d), Req::LoopSetDirectIo, L(1))), EINVAL);
  EXPECT_EQ(m.ok(op_ioctl(L(d), Req::LoopSetDirectIo, L(0))), 0);
  // A filesystem without O_DIRECT.
  Env no_dio;
  no_dio.dio_align = 0;
  no_dio.bdev_block_size = 0;
  for (const Profile* p : kProfiles) {
    Sim t(*p, no_dio);
    uint64_t td = t.ok(op_open_loop(L(0), Access::Rw));
    EXPECT_EQ(t.err(op_open_file(0, Access::Rw, kOpenDirect)), EINVAL);
    uint64_t tf = t.ok(op_open_file(0, Access::Rw));
    t.ok(op_ioctl(L(td), Req::LoopSetFd, L(tf)));
    EXPECT_EQ(t.err(op_ioctl(L(td), Req::LoopSetDirectIo, L(1))), EINVAL);
  }
}

}  // namespace
}  // namespace loopcheck::model
