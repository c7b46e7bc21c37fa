// Probe: permission rule without CAP_SYS_ADMIN (dropped from the effective set
// with capset): SET_STATUS(64)/SET_CAPACITY/SET_DIRECT_IO/SET_BLOCK_SIZE through
// an O_RDONLY loop fd are EPERM before any other check; GET_STATUS64, CLR_FD and
// SET_FD need no capability; BLKROSET and BLKFLSBUF are EACCES.
#include "probe.h"
#include <linux/capability.h>
#include <sys/syscall.h>

static void drop_sys_admin(int drop) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d)) die("capget");
  if (drop) d[0].effective &= ~(1u << CAP_SYS_ADMIN);
  else d[0].effective |= (1u << CAP_SYS_ADMIN);
  if (syscall(SYS_capset, &h, d)) die("capset");
}

int main(void) {
  setup();
  mkfile("img", 64 * 1024, 0);
  int n = add_dev(234);
  int r = open_dev(n, O_RDONLY);
  int f = open_file("img", O_RDONLY);
  struct loop_info64 i = {0};
  struct loop_info li = {0};
  drop_sys_admin(1);
  CHECK("unbound ro fd: SET_STATUS64 -> EPERM", rv(ioctl(r, LOOP_SET_STATUS64, &i)), -EPERM);
  CHECK("unbound ro fd: SET_STATUS64 NULL -> EPERM", rv(ioctl(r, LOOP_SET_STATUS64, NULL)), -EPERM);
  CHECK("unbound ro fd: SET_BLOCK_SIZE -> EPERM", rv(ioctl(r, LOOP_SET_BLOCK_SIZE, 1234)), -EPERM);
  CHECK("unbound ro fd: GET_STATUS64 -> ENXIO", rv(ioctl(r, LOOP_GET_STATUS64, &i)), -ENXIO);
  CHECK("ro fd: SET_FD (no cap needed)", rv(ioctl(r, LOOP_SET_FD, f)), 0);
  CHECK("bound ro fd: SET_STATUS64 -> EPERM", rv(ioctl(r, LOOP_SET_STATUS64, &i)), -EPERM);
  CHECK("bound ro fd: SET_STATUS -> EPERM", rv(ioctl(r, LOOP_SET_STATUS, &li)), -EPERM);
  CHECK("bound ro fd: SET_CAPACITY -> EPERM", rv(ioctl(r, LOOP_SET_CAPACITY, 0)), -EPERM);
  CHECK("bound ro fd: SET_DIRECT_IO -> EPERM", rv(ioctl(r, LOOP_SET_DIRECT_IO, 0)), -EPERM);
  CHECK("bound ro fd: SET_BLOCK_SIZE -> EPERM", rv(ioctl(r, LOOP_SET_BLOCK_SIZE, 512)), -EPERM);
  CHECK("bound ro fd: GET_STATUS64 ok", rv(ioctl(r, LOOP_GET_STATUS64, &i)), 0);
  CHECK("bound ro fd: unknown 0x4C0B -> EINVAL", rv(ioctl(r, 0x4C0B, 0)), -EINVAL);
  CHECK("bound ro fd: BLKROSET -> EACCES", ({ int v = 1; rv(ioctl(r, BLKROSET, &v)); }), -EACCES);
  CHECK("bound ro fd: BLKFLSBUF -> EACCES", rv(ioctl(r, BLKFLSBUF, 0)), -EACCES);
  CHECK("bound ro fd: BLKROGET ok", ({ int v = 0; rv(ioctl(r, BLKROGET, &v)); }), 0);
  int w = open_dev(n, O_RDWR);
  CHECK("rw fd without cap: SET_CAPACITY ok", rv(ioctl(w, LOOP_SET_CAPACITY, 0)), 0);
  CHECK("rw fd without cap: SET_STATUS64 ok", rv(ioctl(w, LOOP_SET_STATUS64, &i)), 0);
  CHECK("rw fd without cap: SET_BLOCK_SIZE ok", rv(ioctl(w, LOOP_SET_BLOCK_SIZE, 1024)), 0);
  CHECK("rw fd without cap: BLKFLSBUF -> EACCES", rv(ioctl(w, BLKFLSBUF, 0)), -EACCES);
  close(w);
  CHECK("ro fd: CLR_FD (no cap needed)", rv(ioctl(r, LOOP_CLR_FD, 0)), 0);
  drop_sys_admin(0);
  close(r); close(f);
  teardown();
  return g_fail != 0;
}
