// Probe: the two read-only bits of a loop block device. The RO flag of a bind
// sets the *disk* ro bit (set_disk_ro, sticky after teardown); BLKROSET sets the
// *bdev* (part0) ro bit. sysfs ro / BLKROGET / write(2) EPERM see their OR.
// Also: buffered write into a Rundown device.
#include "probe.h"
static int roget(int d) { int v = -1; return ioctl(d, BLKROGET, &v) ? -errno : v; }
static int roset(int d, int v) { return ioctl(d, BLKROSET, &v) ? -errno : 0; }

int main(void) {
  setup();
  uint8_t b[4096] = {0};
  mkfile("img", 64 * 1024, 0);
  int n = add_dev(233);
  int d = open_dev(n, O_RDWR);
  int f = open_file("img", O_RDWR), fr = open_file("img", O_RDONLY);
  // A: BLKROSET before bind survives a rw bind.
  CHECK("A BLKROSET 1 unbound", roset(d, 1), 0);
  CHECK("A SET_FD rw", rv(ioctl(d, LOOP_SET_FD, f)), 0);
  CHECK("A sysfs ro after rw bind", sysfs_num(n, "ro"), 1);
  CHECK("A BLKROGET", roget(d), 1);
  CHECK("A GET_STATUS64 flags (no RO)", ({ struct loop_info64 i = {0}; ioctl(d, LOOP_GET_STATUS64, &i); (long)i.lo_flags; }), 0);
  CHECK("A pwrite -> EPERM", rv(pwrite(d, b, 4096, 0)), -EPERM);
  CHECK("A BLKROSET 0", roset(d, 0), 0);
  CHECK("A sysfs ro", sysfs_num(n, "ro"), 0);
  CHECK("A pwrite ok", rv(pwrite(d, b, 4096, 0)), 4096);
  // B: BLKROSET on bound rw, then clear binding: bdev bit persists after teardown.
  CHECK("B BLKROSET 1 bound", roset(d, 1), 0);
  int d2 = open_dev(n, O_RDONLY);
  CHECK("B CLR_FD (2 openers)", rv(ioctl(d, LOOP_CLR_FD, 0)), 0);
  close(d2); close(d);
  d = open_dev(n, O_RDWR);
  CHECK("B unbound ro", sysfs_num(n, "ro"), 1);
  CHECK("B unbound pwrite -> EPERM", rv(pwrite(d, b, 512, 0)), -EPERM);
  CHECK("B BLKROSET 0", roset(d, 0), 0);
  CHECK("B unbound pwrite -> ENOSPC", rv(pwrite(d, b, 512, 0)), -ENOSPC);
  // C: RO bind, BLKROSET 0 does not clear the disk bit.
  CHECK("C SET_FD ro file", rv(ioctl(d, LOOP_SET_FD, fr)), 0);
  CHECK("C sysfs ro", sysfs_num(n, "ro"), 1);
  CHECK("C BLKROSET 0", roset(d, 0), 0);
  CHECK("C sysfs ro after BLKROSET 0", sysfs_num(n, "ro"), 1);
  CHECK("C BLKROGET", roget(d), 1);
  CHECK("C pwrite -> EPERM", rv(pwrite(d, b, 512, 0)), -EPERM);
  d2 = open_dev(n, O_RDONLY);
  CHECK("C CLR_FD", rv(ioctl(d, LOOP_CLR_FD, 0)), 0);
  close(d2); close(d);
  d = open_dev(n, O_RDWR);
  CHECK("C unbound after ro bind: ro sticky", sysfs_num(n, "ro"), 1);
  CHECK("C unbound pwrite -> EPERM", rv(pwrite(d, b, 512, 0)), -EPERM);
  CHECK("C BLKROSET 0 unbound", roset(d, 0), 0);
  CHECK("C ro still 1 (disk bit)", sysfs_num(n, "ro"), 1);
  CHECK("C SET_FD rw resets", rv(ioctl(d, LOOP_SET_FD, f)), 0);
  CHECK("C ro 0", sysfs_num(n, "ro"), 0);
  // D: BLKROSET through an O_RDONLY fd (root) works.
  int dr = open_dev(n, O_RDONLY);
  CHECK("D BLKROSET 1 via ro fd", roset(dr, 1), 0);
  CHECK("D ro", sysfs_num(n, "ro"), 1);
  CHECK("D BLKROSET 0 via ro fd", roset(dr, 0), 0);
  CHECK("D BLKFLSBUF via ro fd", rv(ioctl(dr, BLKFLSBUF, 0)), 0);
  close(dr);
  // E: rundown buffered write.
  CHECK("E CLR_FD sole", rv(ioctl(d, LOOP_CLR_FD, 0)), 0);
  CHECK("E rundown pwrite 4096 aligned", rv(pwrite(d, b, 4096, 0)), 4096);
  CHECK("E rundown pwrite 512 at 8192 (needs read)", rv(pwrite(d, b, 512, 8192)), -EIO);
  CHECK("E rundown pread cached page", rv(pread(d, b, 4096, 0)), 4096);
  CHECK("E rundown pread uncached", rv(pread(d, b, 4096, 16384)), -EIO);
  CHECK("E close", rv(close(d)), 0);
  close(f); close(fr);
  teardown();
  return g_fail != 0;
}
