// Probe: the loop device's own page cache. A buffered write through /dev/loopN
// stays in the device's page cache (dirty) until fsync / BLKFLSBUF / last close;
// a reader of the backing file sees the old bytes before and the new ones after.
// Also: end-of-device read/write, straddling requests, unbound read/write.
#include "probe.h"

int main(void) {
  setup();
  int n = add_dev(231);
  uint8_t w[4096], r[8192];
  mkfile("img", 64 * 1024, 0);
  int f = open_file("img", O_RDWR);
  int d = open_dev(n, O_RDWR);
  CHECK("SET_FD", rv(ioctl(d, LOOP_SET_FD, f)), 0);
  int g = open_file("img", O_RDONLY);

  fill_pat(w, 4096, 3);
  CHECK("pwrite loop 0 4096", rv(pwrite(d, w, 4096, 0)), 4096);
  CHECK("pread backing before fsync", rv(pread(g, r, 4096, 0)), 4096);
  CHECK("  backing still zero (dirty in loop cache)", is_fill(r, 4096, 0), 1);
  CHECK("pread loop sees new data", rv(pread(d, r, 4096, 0)), 4096);
  CHECK("  loop data = pattern", is_pat(r, 4096, 3), 1);
  CHECK("fsync loop", rv(fsync(d)), 0);
  CHECK("pread backing after fsync", rv(pread(g, r, 4096, 0)), 4096);
  CHECK("  backing = pattern", is_pat(r, 4096, 3), 1);

  // BLKFLSBUF writes back and drops the cache.
  fill_pat(w, 4096, 4);
  CHECK("pwrite loop 8192", rv(pwrite(d, w, 4096, 8192)), 4096);
  CHECK("pread backing 8192 before BLKFLSBUF", rv(pread(g, r, 4096, 8192)), 4096);
  CHECK("  still zero", is_fill(r, 4096, 0), 1);
  CHECK("BLKFLSBUF", rv(ioctl(d, BLKFLSBUF, 0)), 0);
  CHECK("pread backing after BLKFLSBUF", rv(pread(g, r, 4096, 8192)), 4096);
  CHECK("  = pattern 4", is_pat(r, 4096, 4), 1);

  // Write through the backing file after the loop cached a page: loop cache is stale.
  CHECK("pread loop 16384 (cache it)", rv(pread(d, r, 4096, 16384)), 4096);
  fill_pat(w, 4096, 5);
  CHECK("pwrite backing 16384", rv(pwrite(g == -1 ? f : f, w, 4096, 16384)), 4096);
  CHECK("pread loop 16384 again", rv(pread(d, r, 4096, 16384)), 4096);
  printf("NOTE stale loop cache after backing write: loop shows %s\n", is_fill(r, 4096, 0) ? "old zeros (stale)" : is_pat(r, 4096, 5) ? "new data" : "other");
  CHECK("BLKFLSBUF", rv(ioctl(d, BLKFLSBUF, 0)), 0);
  CHECK("pread loop 16384 after BLKFLSBUF", rv(pread(d, r, 4096, 16384)), 4096);
  CHECK("  = pattern 5", is_pat(r, 4096, 5), 1);

  // Last close writes back dirty pages.
  fill_pat(w, 4096, 6);
  CHECK("pwrite loop 24576", rv(pwrite(d, w, 4096, 24576)), 4096);
  CHECK("pread backing 24576 before close", rv(pread(g, r, 4096, 24576)), 4096);
  CHECK("  still zero", is_fill(r, 4096, 0), 1);
  CHECK("close loop (last)", rv(close(d)), 0);
  CHECK("pread backing 24576 after last close", rv(pread(g, r, 4096, 24576)), 4096);
  CHECK("  = pattern 6", is_pat(r, 4096, 6), 1);

  // Non-last close does not write back.
  d = open_dev(n, O_RDWR);
  int d2 = open_dev(n, O_RDONLY);
  fill_pat(w, 4096, 7);
  CHECK("pwrite loop 32768", rv(pwrite(d, w, 4096, 32768)), 4096);
  CHECK("close writer (not last)", rv(close(d)), 0);
  CHECK("pread backing 32768 after non-last close", rv(pread(g, r, 4096, 32768)), 4096);
  CHECK("  still zero", is_fill(r, 4096, 0), 1);
  d = d2;

  // End of device: 64K.
  CHECK("BLKGETSIZE64", ({ uint64_t s = 0; ioctl(d, BLKGETSIZE64, &s); (long)s; }), 65536);
  CHECK("pread at end -> 0", rv(pread(d, r, 4096, 65536)), 0);
  CHECK("pread past end -> 0", rv(pread(d, r, 4096, 1 << 20)), 0);
  CHECK("pread straddling end -> short", rv(pread(d, r, 8192, 61440)), 4096);
  CHECK("pwrite on ro fd -> EBADF", rv(pwrite(d, w, 512, 0)), -EBADF);
  int dw = open_dev(n, O_RDWR);
  CHECK("pwrite at end -> ENOSPC", rv(pwrite(dw, w, 4096, 65536)), -ENOSPC);
  CHECK("pwrite straddling end -> short", rv(pwrite(dw, w, 4096, 63488)), 2048);
  CHECK("pread unaligned small (buffered) ok", rv(pread(dw, r, 100, 7)), 100);
  CHECK("fsync", rv(fsync(dw)), 0);
  CHECK("CLR_FD (2 openers)", rv(ioctl(dw, LOOP_CLR_FD, 0)), 0);
  close(dw);
  close(d);
  CHECK("sysfs size after detach", sysfs_num(n, "size"), 0);
  d = open_dev(n, O_RDWR);
  CHECK("unbound: pread -> 0", rv(pread(d, r, 512, 0)), 0);
  CHECK("unbound: pwrite -> ENOSPC", rv(pwrite(d, w, 512, 0)), -ENOSPC);
  CHECK("unbound: fsync -> 0", rv(fsync(d)), 0);
  CHECK("unbound: BLKFLSBUF -> 0", rv(ioctl(d, BLKFLSBUF, 0)), 0);
  uint64_t sz = 1;
  CHECK("unbound: BLKGETSIZE64 -> 0", rv(ioctl(d, BLKGETSIZE64, &sz)), 0);
  CHECK("  size 0", (long)sz, 0);
  int ss = 0;
  CHECK("unbound: BLKSSZGET", rv(ioctl(d, BLKSSZGET, &ss)), 0);
  CHECK("  512", ss, 512);
  close(d);
  close(g); close(f);
  teardown();
  return g_fail != 0;
}
