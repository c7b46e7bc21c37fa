// Probe: loop-control errno paths, Rundown behaviour, fsync on unbound devices,
// O_EXCL opens, block ioctls on unbound/bound devices, sysfs presence.
#include "probe.h"

int main(void) {
  setup();
  uint8_t b[4096] = {0};
  mkfile("img", 64 * 1024, 0);
  // ---- loop-control ----
  int n = add_dev(232);
  CHECK("CTL_ADD existing -> EEXIST", rv(ioctl(g_ctl, LOOP_CTL_ADD, n)), -EEXIST);
  CHECK("CTL_REMOVE -1 -> EINVAL", rv(ioctl(g_ctl, LOOP_CTL_REMOVE, -1)), -EINVAL);
  CHECK("CTL_REMOVE 1<<20 (absent) -> ENODEV", rv(ioctl(g_ctl, LOOP_CTL_REMOVE, 1 << 20)), -ENODEV);
  CHECK("CTL_ADD 1<<20 -> EINVAL", rv(ioctl(g_ctl, LOOP_CTL_ADD, 1 << 20)), -EINVAL);
  CHECK("CTL_ADD 2000000 -> EINVAL", rv(ioctl(g_ctl, LOOP_CTL_ADD, 2000000)), -EINVAL);
  CHECK("ctl unknown 0x4C83 -> ENOSYS", rv(ioctl(g_ctl, 0x4C83, 0)), -ENOSYS);
  CHECK("ctl LOOP_SET_FD on control -> ENOSYS", rv(ioctl(g_ctl, LOOP_SET_FD, 0)), -ENOSYS);
  CHECK("ctl BLKGETSIZE64 on control -> ENOSYS", ({ uint64_t s; rv(ioctl(g_ctl, BLKGETSIZE64, &s)); }), -ENOSYS);
  int d = open_dev(n, O_RDWR);
  CHECK("CTL_REMOVE open unbound -> EBUSY", rv(ioctl(g_ctl, LOOP_CTL_REMOVE, n)), -EBUSY);
  // fresh never-bound device
  CHECK("fresh unbound: fsync", rv(fsync(d)), 0);
  CHECK("fresh unbound: BLKROGET", ({ int v = 7; long r = rv(ioctl(d, BLKROGET, &v)); r ? r : v; }), 0);
  CHECK("fresh unbound: GET_STATUS64 -> ENXIO", ({ struct loop_info64 i; rv(ioctl(d, LOOP_GET_STATUS64, &i)); }), -ENXIO);
  CHECK("fresh unbound: GET_STATUS NULL -> EINVAL", rv(ioctl(d, LOOP_GET_STATUS, NULL)), -EINVAL);
  CHECK("fresh unbound: GET_STATUS64 NULL -> EINVAL", rv(ioctl(d, LOOP_GET_STATUS64, NULL)), -EINVAL);
  CHECK("fresh unbound: SET_STATUS NULL -> EFAULT", rv(ioctl(d, LOOP_SET_STATUS, NULL)), -EFAULT);
  CHECK("fresh unbound: SET_STATUS legacy -> ENXIO", ({ struct loop_info i = {0}; rv(ioctl(d, LOOP_SET_STATUS, &i)); }), -ENXIO);
  CHECK("fresh unbound: CONFIGURE NULL -> EFAULT", rv(ioctl(d, LOOP_CONFIGURE, NULL)), -EFAULT);
  CHECK("fresh unbound: SET_CAPACITY -> ENXIO", rv(ioctl(d, LOOP_SET_CAPACITY, 0)), -ENXIO);
  CHECK("fresh unbound: SET_DIRECT_IO -> ENXIO", rv(ioctl(d, LOOP_SET_DIRECT_IO, 1)), -ENXIO);
  CHECK("fresh unbound: CHANGE_FD -1 -> EBADF", rv(ioctl(d, LOOP_CHANGE_FD, -1)), -EBADF);
  CHECK("fresh unbound: unknown 0x4C0B -> EINVAL", rv(ioctl(d, 0x4C0B, 0)), -EINVAL);
  CHECK("fresh unbound: BLKROSET 1", ({ int v = 1; rv(ioctl(d, BLKROSET, &v)); }), 0);
  CHECK("  sysfs ro", sysfs_num(n, "ro"), 1);
  CHECK("  write -> EPERM", rv(pwrite(d, b, 512, 0)), -EPERM);
  CHECK("fresh unbound: BLKROSET 0", ({ int v = 0; rv(ioctl(d, BLKROSET, &v)); }), 0);
  CHECK("  sysfs loop/offset absent", ({ char t[64]; sysfs_read(n, "loop/offset", t, sizeof t); }), -ENOENT);
  // BLKROSET then bind rw resets ro bit
  CHECK("BLKROSET 1 before bind", ({ int v = 1; rv(ioctl(d, BLKROSET, &v)); }), 0);
  int f = open_file("img", O_RDWR);
  CHECK("SET_FD rw", rv(ioctl(d, LOOP_SET_FD, f)), 0);
  CHECK("  ro bit reset by bind", sysfs_num(n, "ro"), 0);
  CHECK("CTL_REMOVE bound -> EBUSY", rv(ioctl(g_ctl, LOOP_CTL_REMOVE, n)), -EBUSY);
  // exclusive opens
  int e1 = open_dev(n, O_RDONLY | O_EXCL);
  CHECK("open O_EXCL while non-excl opener", e1 >= 0 ? 0 : e1, 0);
  CHECK("second open O_EXCL -> EBUSY", ({ int e = open_dev(n, O_RDONLY | O_EXCL); if (e >= 0) close(e); e >= 0 ? 0 : e; }), -EBUSY);
  CHECK("plain open while excl held", ({ int e = open_dev(n, O_RDONLY); if (e >= 0) close(e); e >= 0 ? 0 : e; }), 0);
  CHECK("SET_BLOCK_SIZE via non-excl fd while excl held -> EBUSY", rv(ioctl(d, LOOP_SET_BLOCK_SIZE, 1024)), -EBUSY);
  CHECK("SET_BLOCK_SIZE via excl fd (ro fd, root) ok", rv(ioctl(e1, LOOP_SET_BLOCK_SIZE, 1024)), 0);
  CHECK("SET_BLOCK_SIZE same value no-op via non-excl -> EBUSY first", rv(ioctl(d, LOOP_SET_BLOCK_SIZE, 1024)), -EBUSY);
  close(e1);
  CHECK("SET_BLOCK_SIZE 512 after excl closed", rv(ioctl(d, LOOP_SET_BLOCK_SIZE, 512)), 0);
  // Rundown
  CHECK("CLR_FD sole opener", rv(ioctl(d, LOOP_CLR_FD, 0)), 0);
  CHECK("rundown: sysfs loop/autoclear", sysfs_num(n, "loop/autoclear"), 1);
  CHECK("rundown: size still reported", sysfs_num(n, "size"), 128);
  CHECK("rundown: open -> ENXIO", ({ int e = open_dev(n, O_RDONLY); if (e >= 0) close(e); e >= 0 ? 0 : e; }), -ENXIO);
  CHECK("rundown: CLR_FD -> ENXIO", rv(ioctl(d, LOOP_CLR_FD, 0)), -ENXIO);
  CHECK("rundown: SET_FD -> EBUSY", rv(ioctl(d, LOOP_SET_FD, f)), -EBUSY);
  CHECK("rundown: GET_STATUS64 -> ENXIO", ({ struct loop_info64 i; rv(ioctl(d, LOOP_GET_STATUS64, &i)); }), -ENXIO);
  CHECK("rundown: SET_CAPACITY -> ENXIO", rv(ioctl(d, LOOP_SET_CAPACITY, 0)), -ENXIO);
  CHECK("rundown: CTL_REMOVE -> EBUSY", rv(ioctl(g_ctl, LOOP_CTL_REMOVE, n)), -EBUSY);
  CHECK("rundown: pread -> EIO", rv(pread(d, b, 4096, 0)), -EIO);
  CHECK("rundown: pwrite (buffered, cache) ", rv(pwrite(d, b, 4096, 0)), 4096);
  CHECK("rundown: fsync -> EIO", rv(fsync(d)), -EIO);
  CHECK("rundown: BLKGETSIZE64", ({ uint64_t s = 0; ioctl(d, BLKGETSIZE64, &s); (long)s; }), 65536);
  CHECK("rundown: GET_FREE does not return it", rv(ioctl(g_ctl, LOOP_CTL_GET_FREE)) != n, 1);
  CHECK("close (last) -> teardown", rv(close(d)), 0);
  CHECK("after teardown: size 0", sysfs_num(n, "size"), 0);
  CHECK("after teardown: loop/ absent", ({ char t[64]; sysfs_read(n, "loop/offset", t, sizeof t); }), -ENOENT);
  d = open_dev(n, O_RDWR);
  CHECK("reopen after teardown ok", d >= 0 ? 0 : d, 0);
  CHECK("formerly bound unbound: fsync", rv(fsync(d)), -EIO);
  CHECK("formerly bound unbound: pread -> 0", rv(pread(d, b, 512, 0)), 0);
  close(d);
  CHECK("CTL_REMOVE unbound closed -> 0", rv(ioctl(g_ctl, LOOP_CTL_REMOVE, n)), 0);
  CHECK("CTL_REMOVE again -> ENODEV", rv(ioctl(g_ctl, LOOP_CTL_REMOVE, n)), -ENODEV);
  CHECK("CTL_ADD 1048575 -> 1048575", rv(exists(1048575) ? -EEXIST : ioctl(g_ctl, LOOP_CTL_ADD, 1048575)), 1048575);
  CHECK("CTL_REMOVE 1048575 -> 0", rv(ioctl(g_ctl, LOOP_CTL_REMOVE, 1048575)), 0);
  close(f);
  teardown();
  return g_fail != 0;
}
