// Shared helpers for the loopcheck kernel probes (scripts/probes/*.c).
// SAFETY: probes only touch loop devices they create themselves with
// LOOP_CTL_ADD at a fixed index >= 200 (refusing to run if it already exists),
// keep backing files in a private mktemp -d directory under /var/tmp, and
// remove both at the end.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int g_fail, g_pass;
static char g_dir[256];
static int g_ctl = -1;
static int g_added[8], g_nadded;

// "want" is either a value >= 0 or -errno.
static long rv(long r) {
  return r < 0 ? -errno : r;
}
#define CHECK(desc, got, want)                                                                    \
  do {                                                                                            \
    long g__ = (got), w__ = (want);                                                               \
    if (g__ == w__) {                                                                             \
      g_pass++;                                                                                   \
      printf("PASS %-60s %ld\n", desc, g__);                                                      \
    } else {                                                                                      \
      g_fail++;                                                                                   \
      printf("FAIL %-60s got %ld (%s) want %ld (%s)\n", desc, g__, g__ < 0 ? strerror(-g__) : "", \
             w__, w__ < 0 ? strerror(-w__) : "");                                                 \
    }                                                                                             \
  } while (0)
#define NOTE(...) printf("NOTE " __VA_ARGS__)

static void die(const char* m) {
  perror(m);
  exit(2);
}

static void setup(void) {
  strcpy(g_dir, "/var/tmp/loopprobe.XXXXXX");
  if (!mkdtemp(g_dir)) die("mkdtemp");
  g_ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (g_ctl < 0) die("loop-control");
}

static int exists(int idx) {
  char p[64];
  snprintf(p, sizeof p, "/sys/block/loop%d", idx);
  return access(p, F_OK) == 0;
}

// Create loop<idx> (idx >= 200), refusing if it exists.
static int add_dev(int idx) {
  if (idx < 200) {
    fprintf(stderr, "refusing idx %d\n", idx);
    exit(2);
  }
  if (exists(idx)) {
    fprintf(stderr, "loop%d exists, not mine\n", idx);
    exit(2);
  }
  int r = ioctl(g_ctl, LOOP_CTL_ADD, idx);
  if (r != idx) die("LOOP_CTL_ADD");
  g_added[g_nadded++] = idx;
  return idx;
}

static int open_dev(int idx, int flags) {
  char p[64];
  snprintf(p, sizeof p, "/dev/loop%d", idx);
  // The node may take a moment to appear (devtmpfs is synchronous; be safe).
  for (int i = 0; i < 100; i++) {
    int fd = open(p, flags | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT) return fd < 0 ? -errno : fd;
    usleep(10000);
  }
  return -ENOENT;
}

static char* path_of(const char* name) {
  static char buf[4][512];
  static int k;
  char* b = buf[k++ & 3];
  snprintf(b, 512, "%s/%s", g_dir, name);
  return b;
}

static int mkfile(const char* name, off_t size, int fill) {
  int fd = open(path_of(name), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) die("mkfile");
  if (fill) {
    char b[4096];
    memset(b, fill, sizeof b);
    for (off_t o = 0; o < size; o += sizeof b)
      if (pwrite(fd, b, size - o < (off_t)sizeof b ? size - o : (off_t)sizeof b, o) < 0)
        die("fill");
  } else if (ftruncate(fd, size))
    die("ftruncate");
  close(fd);
  return 0;
}

static int open_file(const char* name, int flags) {
  int fd = open(path_of(name), flags | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

static int sysfs_read(int idx, const char* attr, char* out, size_t n) {
  char p[128];
  snprintf(p, sizeof p, "/sys/block/loop%d/%s", idx, attr);
  int fd = open(p, O_RDONLY);
  if (fd < 0) return -errno;
  ssize_t r = read(fd, out, n - 1);
  int e = errno;
  close(fd);
  if (r < 0) return -e;
  out[r] = 0;
  if (r && out[r - 1] == '\n') out[r - 1] = 0;
  return 0;
}
static long sysfs_num(int idx, const char* attr) {
  char b[128];
  int r = sysfs_read(idx, attr, b, sizeof b);
  return r < 0 ? r : strtol(b, 0, 10);
}

static uint8_t pat(unsigned seed, size_t i) {
  return (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}
static void fill_pat(uint8_t* b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) b[i] = pat(seed, i);
}
static int is_pat(const uint8_t* b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != pat(seed, i)) return 0;
  return 1;
}
static int is_fill(const uint8_t* b, size_t n, int c) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != c) return 0;
  return 1;
}

// Remove devices this probe created (detaching if still bound through a fresh fd)
// and the private directory.
static void teardown(void) {
  for (int i = 0; i < g_nadded; i++) {
    int idx = g_added[i];
    if (!exists(idx)) continue;
    int fd = open_dev(idx, O_RDONLY);
    if (fd >= 0) {
      ioctl(fd, LOOP_CLR_FD, 0);
      close(fd);
    }
    for (int t = 0; t < 50; t++) {
      if (ioctl(g_ctl, LOOP_CTL_REMOVE, idx) == 0 || errno == ENODEV) break;
      usleep(20000);
    }
    if (exists(idx)) printf("WARN loop%d still exists after teardown\n", idx);
  }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (strncmp(g_dir, "/var/tmp/loopprobe.", 19) == 0) system(cmd);
  printf("== %d passed, %d failed (kernel matches spec where PASS)\n", g_pass, g_fail);
}
