// The in-process loop driver through its syscall-like API (inproc::Kernel):
// control device, lifecycle per profile, ioctl errors, struct layouts, real data
// paths through backing files, page-cache flush points and request merging.
// Expected values come from docs/semantics.md, not from
// running the driver.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "inproc/kernel.h"
#include "inproc/uapi.h"
#include "trace/partition_table.h"

namespace loopcheck::inproc {
namespace {

// Layouts the kernel ABI fixes (docs/semantics.md §1.3), checked here as well as in uapi.h.
static_assert(sizeof(loop_info64) == 232 && offsetof(loop_info64, lo_file_name) == 56);
static_assert(sizeof(loop_config) == 304 && offsetof(loop_config, info) == 8);
static_assert(sizeof(loop_info) == 168 && offsetof(loop_info, lo_name) == 48);

unsigned long ptr(void* p) {
  return reinterpret_cast<unsigned long>(p);
}

class Sandbox {
 public:
  Sandbox() {
    char tmpl[] = "/var/tmp/loopcheck-inproc-test-XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  ~Sandbox() {
    for (const std::string& p : made_) {
      if (::unlink(p.c_str()) != 0) ::rmdir(p.c_str());
    }
    ::rmdir(dir_.c_str());
  }
  std::string file(const std::string& name, uint64_t size, uint8_t fill = 0) {
    std::string p = dir_ + "/" + name;
    int fd = ::open(p.c_str(), O_CREAT | O_TRUNC | O_RDWR, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    if (fill != 0) {
      std::vector<uint8_t> b(size, fill);
      EXPECT_EQ(::pwrite(fd, b.data(), size, 0), static_cast<ssize_t>(size));
    }
    ::close(fd);
    made_.push_back(p);
    return p;
  }
  std::string dir(const std::string& name) {
    std::string p = dir_ + "/" + name;
    EXPECT_EQ(::mkdir(p.c_str(), 0700), 0);
    made_.push_back(p);
    return p;
  }
  // Bytes of the real file, read behind the driver's back.
  static std::vector<uint8_t> raw(const std::string& path, uint64_t off, uint64_t len) {
    std::vector<uint8_t> b(len);
    int fd = ::open(path.c_str(), O_RDONLY);
    ssize_t n = ::pread(fd, b.data(), len, static_cast<off_t>(off));
    ::close(fd);
    b.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return b;
  }
  static void raw_write(const std::string& path, uint64_t off, const std::vector<uint8_t>& b) {
    int fd = ::open(path.c_str(), O_WRONLY);
    EXPECT_EQ(::pwrite(fd, b.data(), b.size(), static_cast<off_t>(off)),
              static_cast<ssize_t>(b.size()));
    ::close(fd);
  }

 private:
  std::string dir_;
  std::vector<std::string> made_;
};

struct Driver {
  explicit Driver(const char* profile = "linux-6.18", DriverConfig config = {})
      : kernel(*find_profile(profile), config) {}
  Kernel kernel;
  std::string sysfs(uint64_t index, std::string_view attr) {
    std::string out;
    int err = kernel.read_sysfs(index, attr, out);
    return err != 0 ? "E" + std::to_string(-err) : out.substr(0, out.size() - 1);
  }
  // open /dev/loopN rw, open the file, LOOP_SET_FD. Returns the loop fd.
  int bind(uint64_t index, const std::string& path, int file_flags = O_RDWR,
           int loop_flags = O_RDWR) {
    int d = kernel.open_loop(index, loop_flags);
    int f = kernel.open_host(path, file_flags, "img");
    EXPECT_EQ(kernel.ioctl(d, LOOP_SET_FD, static_cast<unsigned long>(f)), 0);
    EXPECT_EQ(kernel.close(f), 0);
    return d;
  }
};

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 9));
  return b;
}

// ---- profiles ----------------------------------------------------------------------

TEST(InprocProfile, KnownNamesAndDefault) {
  ASSERT_NE(find_profile("linux-6.1"), nullptr);
  ASSERT_NE(find_profile("linux-6.12"), nullptr);
  EXPECT_EQ(find_profile("linux-5.4"), nullptr);
  EXPECT_EQ(find_profile("")->name, "linux-6.18");
  EXPECT_FALSE(find_profile("linux-6.1")->deferred_detach);
  EXPECT_TRUE(find_profile("linux-6.12")->deferred_detach);
}

// ---- loop-control ---------------------------------------------------------------------

TEST(InprocControl, IndexAllocation) {
  Driver d;
  int ctl = d.kernel.open_loop_control(O_RDWR);
  EXPECT_EQ(ctl, 3);  // lowest free fd of a fresh process
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_GET_FREE, 0), 0);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_GET_FREE, 0), 0);  // same until bound
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_ADD, 3), -EEXIST);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_ADD, static_cast<unsigned long>(-1L)), 8);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_ADD, 1ul << 20), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_ADD, (1ul << 20) - 1), (1 << 20) - 1);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_ADD, (1ul << 32) + 103), 103);  // converted to int
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_REMOVE, static_cast<unsigned long>(-1L)), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_REMOVE, 50), -ENODEV);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_REMOVE, 103), 0);  // returns 0, not the index
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_REMOVE, 103), -ENODEV);
  EXPECT_EQ(d.sysfs(103, "size"), "E" + std::to_string(ENOENT));
  EXPECT_EQ(d.kernel.ioctl(ctl, 0x4C83, 0), -ENOSYS);
  EXPECT_EQ(d.kernel.ioctl(ctl, BLKGETSIZE64, 0), -ENOSYS);
  int dev = d.kernel.open_loop(2, O_RDONLY);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_REMOVE, 2), -EBUSY);  // open but unbound
  d.kernel.close(dev);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_REMOVE, 2), 0);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_ADD, static_cast<unsigned long>(-1L)),
            2);  // lowest unused again
}

TEST(InprocControl, GetFreeCreatesWhenAllBoundAndPrecreatedCount) {
  Sandbox sb;
  std::string img = sb.file("img", 64 << 10);
  DriverConfig config;
  config.precreated = 1;
  Driver d("linux-6.18", config);
  int ctl = d.kernel.open_loop_control(O_RDWR);
  EXPECT_EQ(d.sysfs(1, "size"), "E" + std::to_string(ENOENT));
  int l0 = d.bind(0, img);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_GET_FREE, 0), 1);
  EXPECT_EQ(d.sysfs(1, "size"), "0");
  d.kernel.close(l0);
}

TEST(InprocControl, OpenOfMissingDeviceAutoloads) {
  Driver d;
  EXPECT_EQ(d.sysfs(150, "size"), "E" + std::to_string(ENOENT));
  int fd = d.kernel.open_loop(150, O_RDONLY);
  EXPECT_GE(fd, 3);
  EXPECT_EQ(d.sysfs(150, "size"), "0");
  EXPECT_EQ(d.kernel.open_loop(1u << 20, O_RDONLY), -ENXIO);
}

// ---- lifecycle -------------------------------------------------------------------------

TEST(InprocLifecycle, DeferredDetachOn618) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d("linux-6.18");
  int dev = d.bind(0, img);
  EXPECT_EQ(d.sysfs(0, "size"), "2048");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CLR_FD, 0), 0);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CLR_FD, 0), -ENXIO);  // Rundown
  EXPECT_EQ(d.sysfs(0, "loop/autoclear"), "1");            // loop/ still there
  EXPECT_EQ(d.kernel.open_loop(0, O_RDONLY), -ENXIO);
  int f = d.kernel.open_host(img, O_RDWR, "img");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(f)), -EBUSY);
  loop_info64 info{};
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_GET_STATUS64, ptr(&info)), -ENXIO);
  uint8_t buf[512];
  EXPECT_EQ(d.kernel.pread(dev, buf, 512, 0), -EIO);  // requests fail in Rundown
  EXPECT_EQ(d.kernel.close(dev), 0);
  EXPECT_EQ(d.sysfs(0, "size"), "0");
  EXPECT_EQ(d.sysfs(0, "loop/offset"), "E" + std::to_string(ENOENT));
  dev = d.kernel.open_loop(0, O_RDWR);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(f)), 0);
}

TEST(InprocLifecycle, SynchronousDetachOn61) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d("linux-6.1");
  int dev = d.bind(0, img);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CLR_FD, 0), 0);
  EXPECT_EQ(d.sysfs(0, "size"), "0");  // torn down inside the ioctl
  uint8_t buf[512];
  EXPECT_EQ(d.kernel.pread(dev, buf, 512, 0), 0);  // unbound: EOF
  EXPECT_EQ(d.kernel.pwrite(dev, buf, 512, 0), -ENOSPC);
  int f = d.kernel.open_host(img, O_RDWR, "img");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(f)),
            0);  // same fd, at once
}

TEST(InprocLifecycle, ClrFdWithOtherOpenersSetsAutoclear) {
  for (const char* profile : {"linux-6.1", "linux-6.18"}) {
    SCOPED_TRACE(profile);
    Sandbox sb;
    std::string img = sb.file("img", 1 << 20);
    Driver d(profile);
    int a = d.bind(0, img);
    int b = d.kernel.open_loop(0, O_RDONLY);
    EXPECT_EQ(d.kernel.ioctl(a, LOOP_CLR_FD, 0), 0);
    EXPECT_EQ(d.sysfs(0, "size"), "2048");  // still bound
    EXPECT_EQ(d.sysfs(0, "loop/autoclear"), "1");
    d.kernel.close(a);
    EXPECT_EQ(d.sysfs(0, "size"), "2048");
    d.kernel.close(b);
    EXPECT_EQ(d.sysfs(0, "size"), "0");  // last close ran the autoclear teardown
  }
}

TEST(InprocLifecycle, ClearingAutoclearCancelsDetach) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d;
  int a = d.bind(0, img);
  int b = d.kernel.open_loop(0, O_RDONLY);
  EXPECT_EQ(d.kernel.ioctl(a, LOOP_CLR_FD, 0), 0);
  loop_info64 info{};
  EXPECT_EQ(d.kernel.ioctl(a, LOOP_SET_STATUS64, ptr(&info)), 0);
  d.kernel.close(a);
  d.kernel.close(b);
  EXPECT_EQ(d.sysfs(0, "size"), "2048");
}

TEST(InprocLifecycle, StackedAutoclearDevicesCollapseTogether) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d;
  int lower = d.bind(0, img);
  int upper = d.kernel.open_loop(1, O_RDWR);
  EXPECT_EQ(d.kernel.ioctl(upper, LOOP_SET_FD, static_cast<unsigned long>(lower)), 0);
  EXPECT_EQ(d.sysfs(1, "loop/backing_file"), "/dev/loop0");
  EXPECT_EQ(d.kernel.ioctl(lower, LOOP_CLR_FD, 0), 0);  // upper holds it too: autoclear
  loop_info64 info{};
  info.lo_flags = LO_FLAGS_AUTOCLEAR;
  EXPECT_EQ(d.kernel.ioctl(upper, LOOP_SET_STATUS64, ptr(&info)), 0);
  d.kernel.close(lower);
  EXPECT_EQ(d.sysfs(0, "size"), "2048");
  d.kernel.close(upper);
  EXPECT_EQ(d.sysfs(1, "size"), "0");
  EXPECT_EQ(d.sysfs(0, "size"), "0");
}

TEST(InprocLifecycle, ExclusiveOpenBlocksOtherBinders) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d;
  int excl = d.kernel.open_loop(0, O_RDWR | O_EXCL);
  EXPECT_EQ(d.kernel.open_loop(0, O_RDWR | O_EXCL), -EBUSY);
  int plain = d.kernel.open_loop(0, O_RDWR);
  int f = d.kernel.open_host(img, O_RDWR, "img");
  EXPECT_EQ(d.kernel.ioctl(plain, LOOP_SET_FD, static_cast<unsigned long>(f)), -EBUSY);
  EXPECT_EQ(d.kernel.ioctl(excl, LOOP_SET_FD, static_cast<unsigned long>(f)), 0);
  EXPECT_EQ(d.kernel.ioctl(plain, LOOP_SET_BLOCK_SIZE, 1024), -EBUSY);  // 6.17+: claims
  EXPECT_EQ(d.kernel.ioctl(excl, LOOP_SET_BLOCK_SIZE, 1024), 0);
}

// ---- ioctl errors -------------------------------------------------------------------------

TEST(InprocIoctl, SetFdAndConfigureErrors) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  std::string dir = sb.dir("d");
  Driver d;
  int dev = d.kernel.open_loop(0, O_RDWR);
  int f = d.kernel.open_host(img, O_RDWR, "img");
  int dfd = d.kernel.open_host(dir, O_RDONLY, "d");
  int ctl = d.kernel.open_loop_control(O_RDWR);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, 0xffffffffu), -EBADF);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, 99), -EBADF);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(dfd)), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(ctl)), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(dev)), -EBADF);  // itself
  int other = d.kernel.open_loop(1, O_RDWR);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(other)),
            -EINVAL);  // unbound loop
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CONFIGURE, 0), -EFAULT);
  loop_config cfg{};
  cfg.fd = static_cast<uint32_t>(f);
  cfg.info.lo_flags = 2;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CONFIGURE, ptr(&cfg)), -EINVAL);
  cfg.info.lo_flags = 0;
  cfg.info.lo_encrypt_key_size = 33;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CONFIGURE, ptr(&cfg)), -EINVAL);
  cfg.info.lo_encrypt_key_size = 0;
  cfg.info.lo_encrypt_type = LO_CRYPT_XOR;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CONFIGURE, ptr(&cfg)), -EINVAL);
  cfg.info.lo_encrypt_type = 0;
  cfg.info.lo_offset = 1ull << 63;
  cfg.block_size = 1000;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CONFIGURE, ptr(&cfg)),
            -EOVERFLOW);  // status before block size
  cfg.info.lo_offset = 0;
  cfg.info.lo_flags = LO_FLAGS_READ_ONLY;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CONFIGURE, ptr(&cfg)), -EINVAL);
  EXPECT_EQ(d.sysfs(0, "ro"), "1");  // residue of the failed configure
  uint8_t buf[512] = {};
  EXPECT_EQ(d.kernel.pwrite(dev, buf, 512, 0), -EPERM);
  cfg.block_size = 4096;
  cfg.info.lo_flags = 0;
  std::memcpy(cfg.info.lo_file_name, "backing-name", 13);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CONFIGURE, ptr(&cfg)), 0);
  EXPECT_EQ(d.sysfs(0, "ro"), "0");  // the next bind resets it
  EXPECT_EQ(d.sysfs(0, "queue/logical_block_size"), "4096");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(f)), -EBUSY);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(dfd)),
            -EINVAL);  // 6.18: file first
  EXPECT_EQ(d.kernel.ioctl(dev, 0x4C0B, 0), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CTL_GET_FREE, 0), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(f, LOOP_GET_STATUS64, 0), -ENOTTY);
  EXPECT_EQ(d.kernel.ioctl(dfd, BLKGETSIZE64, 0), -ENOTTY);
  EXPECT_EQ(d.kernel.ioctl(77, LOOP_CLR_FD, 0), -EBADF);
}

TEST(InprocIoctl, Linux61OrderDiffers) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  std::string dir = sb.dir("d");
  Driver d("linux-6.1");
  int dev = d.bind(0, img);
  int dfd = d.kernel.open_host(dir, O_RDONLY, "d");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_FD, static_cast<unsigned long>(dfd)), -EBUSY);
  int dev1 = d.kernel.open_loop(1, O_RDWR);
  int f = d.kernel.open_host(img, O_RDWR, "img");
  loop_config cfg{};
  cfg.fd = static_cast<uint32_t>(f);
  cfg.block_size = 1000;
  cfg.info.lo_offset = 1ull << 63;
  cfg.info.lo_flags = LO_FLAGS_READ_ONLY;
  EXPECT_EQ(d.kernel.ioctl(dev1, LOOP_CONFIGURE, ptr(&cfg)), -EINVAL);  // block size first
  EXPECT_EQ(d.sysfs(1, "ro"), "0");                                     // and no residue
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 0), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 8192), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 2048), 0);
}

TEST(InprocIoctl, StatusRoundTripAndLegacyStruct) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d;
  int dev = d.bind(3, img);
  loop_info64 in{};
  in.lo_offset = 512;
  in.lo_sizelimit = 4096;
  in.lo_flags = 0xffffffffu;                        // only AUTOCLEAR|PARTSCAN are taken
  std::memset(in.lo_file_name, 'x', LO_NAME_SIZE);  // not NUL-terminated
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, ptr(&in)), 0);
  loop_info64 out{};
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_GET_STATUS64, ptr(&out)), 0);
  struct stat st;
  ASSERT_EQ(::stat(img.c_str(), &st), 0);
  EXPECT_EQ(out.lo_number, 3u);
  EXPECT_EQ(out.lo_offset, 512u);
  EXPECT_EQ(out.lo_sizelimit, 4096u);
  EXPECT_EQ(out.lo_flags, uint32_t{LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN});
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out.lo_file_name)), std::string(63, 'x'));
  EXPECT_EQ(out.lo_device, st.st_dev);
  EXPECT_EQ(out.lo_inode, st.st_ino);
  EXPECT_EQ(out.lo_rdevice, 0u);
  EXPECT_EQ(d.sysfs(3, "size"), "8");
  EXPECT_EQ(d.sysfs(3, "loop/partscan"), "1");
  in.lo_flags = 0;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, ptr(&in)), 0);
  EXPECT_EQ(d.sysfs(3, "loop/partscan"), "1");  // never cleared
  EXPECT_EQ(d.sysfs(3, "loop/autoclear"), "0");

  loop_info old{};
  old.lo_offset = -512;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS, ptr(&old)), -EOVERFLOW);
  old.lo_offset = 1024;
  old.lo_encrypt_type = 1;  // not even copied
  old.lo_encrypt_key_size = 100;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS, ptr(&old)), 0);
  EXPECT_EQ(d.sysfs(3, "loop/sizelimit"), "0");  // legacy set resets sizelimit
  EXPECT_EQ(d.sysfs(3, "size"), "2046");
  loop_info got{};
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_GET_STATUS, ptr(&got)), 0);
  EXPECT_EQ(got.lo_offset, 1024);
  EXPECT_EQ(got.lo_number, 3);
  in = loop_info64{};
  in.lo_offset = 3ull << 30;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, ptr(&in)), 0);
  EXPECT_EQ(d.sysfs(3, "size"), "0");  // offset past EOF is allowed
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_GET_STATUS, ptr(&got)), -EOVERFLOW);
  in.lo_sizelimit = 1ull << 63;
  in.lo_encrypt_key_size = 40;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, ptr(&in)), -EINVAL);  // key size checked first
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, 0), -EFAULT);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_GET_STATUS64, 0), -EINVAL);
}

TEST(InprocIoctl, UnboundDeviceErrors) {
  Driver d;
  int dev = d.kernel.open_loop(0, O_RDWR);
  loop_info64 info{};
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_GET_STATUS64, 0), -EINVAL);  // NULL before state
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_GET_STATUS64, ptr(&info)), -ENXIO);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, 0), -EFAULT);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, ptr(&info)), -ENXIO);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CLR_FD, 0), -ENXIO);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_CAPACITY, 0), -ENXIO);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_DIRECT_IO, 1), -ENXIO);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 1234), -ENXIO);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CHANGE_FD, 0xffffffffu), -EBADF);
  EXPECT_EQ(d.sysfs(0, "loop/backing_file"), "E" + std::to_string(ENOENT));
  uint64_t size = 1;
  EXPECT_EQ(d.kernel.ioctl(dev, BLKGETSIZE64, ptr(&size)), 0);
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(d.kernel.ioctl(dev, BLKGETSIZE64, 0), -EFAULT);
}

TEST(InprocIoctl, PermissionWithoutCapSysAdmin) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  DriverConfig config;
  config.cap_sys_admin = false;
  Driver d("linux-6.18", config);
  int ro = d.kernel.open_loop(0, O_RDONLY);
  loop_info64 info{};
  EXPECT_EQ(d.kernel.ioctl(ro, LOOP_SET_STATUS64, ptr(&info)), -EPERM);  // before EFAULT/ENXIO
  EXPECT_EQ(d.kernel.ioctl(ro, LOOP_SET_STATUS64, 0), -EPERM);
  EXPECT_EQ(d.kernel.ioctl(ro, LOOP_SET_BLOCK_SIZE, 512), -EPERM);
  int one = 1;
  EXPECT_EQ(d.kernel.ioctl(ro, BLKROSET, ptr(&one)), -EACCES);
  int f = d.kernel.open_host(img, O_RDWR, "img");
  EXPECT_EQ(d.kernel.ioctl(ro, LOOP_SET_FD, static_cast<unsigned long>(f)),
            0);  // no check, forced RO
  EXPECT_EQ(d.sysfs(0, "ro"), "1");
  EXPECT_EQ(d.kernel.ioctl(ro, LOOP_CLR_FD, 0), 0);
}

TEST(InprocIoctl, ChangeFdRules) {
  Sandbox sb;
  std::string a = sb.file("a", 1 << 20);
  std::string b = sb.file("b", (1 << 20) + 100);  // same sector count
  std::string big = sb.file("big", 2 << 20);
  Driver d;
  int rw = d.bind(0, a);
  int fb = d.kernel.open_host(b, O_RDONLY, "b");
  EXPECT_EQ(d.kernel.ioctl(rw, LOOP_CHANGE_FD, static_cast<unsigned long>(fb)), -EINVAL);  // not RO
  int dev = d.bind(1, a, O_RDONLY);
  int fbig = d.kernel.open_host(big, O_RDONLY, "big");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CHANGE_FD, static_cast<unsigned long>(fbig)), -EINVAL);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CHANGE_FD, static_cast<unsigned long>(dev)), -EBADF);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CHANGE_FD, static_cast<unsigned long>(fb)), 0);
  EXPECT_EQ(d.sysfs(1, "loop/backing_file"), "b");
}

TEST(InprocIoctl, BlockSizeRulesPerProfile) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d618("linux-6.18");
  int dev = d618.bind(0, img);
  EXPECT_EQ(d618.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 65536), 0);
  EXPECT_EQ(d618.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 131072), -EINVAL);
  EXPECT_EQ(d618.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 4095), -EINVAL);
  EXPECT_EQ(d618.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, (1ul << 32) + 2048), 0);  // truncated
  EXPECT_EQ(d618.sysfs(0, "queue/physical_block_size"), "2048");
  EXPECT_EQ(d618.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 0), 0);  // default
  EXPECT_EQ(d618.sysfs(0, "queue/minimum_io_size"), "512");
  int bs = 0;
  EXPECT_EQ(d618.kernel.ioctl(dev, BLKSSZGET, ptr(&bs)), 0);
  EXPECT_EQ(bs, 512);
  EXPECT_EQ(d618.sysfs(0, "size"), "2048");  // not rounded or recomputed

  Driver d612("linux-6.12");
  int dev2 = d612.bind(0, img);
  EXPECT_EQ(d612.kernel.ioctl(dev2, LOOP_SET_BLOCK_SIZE, 8192), -EINVAL);  // no 64K lift
  EXPECT_EQ(d612.kernel.ioctl(dev2, LOOP_SET_BLOCK_SIZE, 4096), 0);
}

TEST(InprocIoctl, DirectIoToggle) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d;
  int dev = d.bind(0, img);
  EXPECT_EQ(d.sysfs(0, "loop/dio"), "0");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_DIRECT_IO, 2), 0);
  EXPECT_EQ(d.sysfs(0, "loop/dio"), "1");
  loop_info64 info{};
  info.lo_offset = 100;  // misaligned: DIO silently off, and stays off
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, ptr(&info)), 0);
  EXPECT_EQ(d.sysfs(0, "loop/dio"), "0");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_DIRECT_IO, 1), -EINVAL);
  info.lo_offset = 0;
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, ptr(&info)), 0);
  EXPECT_EQ(d.sysfs(0, "loop/dio"), "0");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_DIRECT_IO, 0), 0);
}

// ---- data paths ----------------------------------------------------------------------------

TEST(InprocData, OffsetMappingThroughRealFile) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d;
  int dev = d.bind(0, img);
  loop_info64 info{};
  info.lo_offset = 4096 + 512;
  ASSERT_EQ(d.kernel.ioctl(dev, LOOP_SET_STATUS64, ptr(&info)), 0);
  std::vector<uint8_t> data = bytes(8192, 3);
  EXPECT_EQ(d.kernel.pwrite(dev, data.data(), data.size(), 1024), 8192);
  EXPECT_EQ(d.kernel.fsync(dev), 0);
  EXPECT_EQ(Sandbox::raw(img, 4096 + 512 + 1024, 8192), data);
  // And the other way: bytes put in the file appear at device position - offset.
  std::vector<uint8_t> more = bytes(3000, 9);
  Sandbox::raw_write(img, 4096 + 512 + 65536, more);
  ASSERT_EQ(d.kernel.ioctl(dev, BLKFLSBUF, 0), 0);  // drop what the cache holds
  std::vector<uint8_t> got(3000);
  EXPECT_EQ(d.kernel.pread(dev, got.data(), got.size(), 65536), 3000);
  EXPECT_EQ(got, more);
}

TEST(InprocData, EndOfDeviceAndReadOnly) {
  Sandbox sb;
  std::string img = sb.file("img", 10 * 1024);
  Driver d;
  int dev = d.bind(0, img);
  std::vector<uint8_t> buf(4096);
  EXPECT_EQ(d.kernel.pread(dev, buf.data(), 4096, 10240), 0);
  EXPECT_EQ(d.kernel.pwrite(dev, buf.data(), 4096, 10240), -ENOSPC);
  EXPECT_EQ(d.kernel.pread(dev, buf.data(), 4096, 8192), 2048);
  EXPECT_EQ(d.kernel.pwrite(dev, buf.data(), 4096, 8192), 2048);
  EXPECT_EQ(d.kernel.pread(dev, buf.data(), 16, -1), -EINVAL);
  int one = 1;
  EXPECT_EQ(d.kernel.ioctl(dev, BLKROSET, ptr(&one)), 0);
  EXPECT_EQ(d.kernel.pwrite(dev, buf.data(), 512, 0), -EPERM);
  int ro = -1;
  EXPECT_EQ(d.kernel.ioctl(dev, BLKROGET, ptr(&ro)), 0);
  EXPECT_EQ(ro, 1);
  loop_info64 info{};
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_GET_STATUS64, ptr(&info)), 0);
  EXPECT_EQ(info.lo_flags & LO_FLAGS_READ_ONLY, 0u);  // BLKROSET is not lo_flags

  int rdev = d.bind(1, img, O_RDONLY);
  EXPECT_EQ(d.kernel.pwrite(rdev, buf.data(), 512, 0), -EPERM);
  EXPECT_EQ(d.kernel.ioctl(rdev, LOOP_CLR_FD, 0), 0);
  d.kernel.close(rdev);
  rdev = d.kernel.open_loop(1, O_RDWR);
  EXPECT_EQ(d.sysfs(1, "ro"), "1");  // sticky after unbind
  EXPECT_EQ(d.kernel.pwrite(rdev, buf.data(), 512, 0), -EPERM);
  int wo = d.kernel.open_host(img, O_WRONLY, "img");
  EXPECT_EQ(d.kernel.pread(wo, buf.data(), 16, 0), -EBADF);
}

TEST(InprocData, DirectIoOnDeviceAndBacking) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20, 0x5a);
  Driver d;
  int dev = d.bind(0, img);
  ASSERT_EQ(d.kernel.ioctl(dev, LOOP_SET_DIRECT_IO, 1), 0);
  int ddev = d.kernel.open_loop(0, O_RDWR | O_DIRECT);
  void* raw = nullptr;
  ASSERT_EQ(posix_memalign(&raw, 4096, 16384), 0);
  auto* buf = static_cast<uint8_t*>(raw);
  EXPECT_EQ(d.kernel.pread(ddev, buf, 4096, 100), -EINVAL);    // misaligned position
  EXPECT_EQ(d.kernel.pread(ddev, buf + 1, 4096, 0), -EINVAL);  // misaligned memory
  EXPECT_EQ(d.kernel.pread(ddev, buf, 1000, 0), -EINVAL);      // misaligned length
  EXPECT_EQ(d.kernel.pread(ddev, buf, 16384, 0), 16384);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + 16384), std::vector<uint8_t>(16384, 0x5a));
  std::vector<uint8_t> data = bytes(16384, 1);
  std::memcpy(buf, data.data(), data.size());
  EXPECT_EQ(d.kernel.pwrite(ddev, buf, 16384, 8192), 16384);
  EXPECT_EQ(Sandbox::raw(img, 8192, 16384), data);  // no fsync needed: bypasses the cache
  // A buffered writer through the cached fd sees the direct write.
  std::vector<uint8_t> got(100);
  EXPECT_EQ(d.kernel.pread(dev, got.data(), 100, 8192), 100);
  EXPECT_EQ(got, std::vector<uint8_t>(data.begin(), data.begin() + 100));
  std::free(raw);
}

TEST(InprocData, PageCacheFlushPoints) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d;
  int dev = d.bind(0, img);
  std::vector<uint8_t> a = bytes(1000, 5);
  EXPECT_EQ(d.kernel.pwrite(dev, a.data(), a.size(), 300), 1000);
  EXPECT_EQ(Sandbox::raw(img, 300, 1000), std::vector<uint8_t>(1000, 0));  // still in the cache
  EXPECT_EQ(d.kernel.fsync(dev), 0);
  EXPECT_EQ(Sandbox::raw(img, 300, 1000), a);

  std::vector<uint8_t> b = bytes(1000, 6);
  EXPECT_EQ(d.kernel.pwrite(dev, b.data(), b.size(), 5000), 1000);
  EXPECT_EQ(d.kernel.ioctl(dev, BLKFLSBUF, 0), 0);
  EXPECT_EQ(Sandbox::raw(img, 5000, 1000), b);

  std::vector<uint8_t> c = bytes(1000, 7);
  int second = d.kernel.open_loop(0, O_RDONLY);
  EXPECT_EQ(d.kernel.pwrite(dev, c.data(), c.size(), 9000), 1000);
  d.kernel.close(dev);  // not the last close: nothing written
  EXPECT_EQ(Sandbox::raw(img, 9000, 1000), std::vector<uint8_t>(1000, 0));
  d.kernel.close(second);  // last close flushes
  EXPECT_EQ(Sandbox::raw(img, 9000, 1000), c);

  int sync_fd = d.kernel.open_loop(0, O_RDWR | O_SYNC);
  EXPECT_EQ(d.kernel.pwrite(sync_fd, a.data(), a.size(), 20000), 1000);
  EXPECT_EQ(Sandbox::raw(img, 20000, 1000), a);  // O_SYNC writes through
}

// Buffer heads of 512 bytes (a device of an odd number of sectors, first opened
// after its bind): a write reads in only the buffers it covers in part, writeback
// sends only the dirty ones, and a later read of the page reads the rest
// (docs/semantics.md §11.4).
TEST(InprocData, PartialWriteReadsAndWritesBackOnlyItsBuffers) {
  Sandbox sb;
  std::string img = sb.file("img", (64 << 10) + 512, 0x11);
  Driver d;
  EXPECT_EQ(d.kernel.close(d.bind(0, img)), 0);
  int dev = d.kernel.open_loop(0, O_RDWR);  // the first open sets 512-byte buffers
  const auto read_misses = [&] {
    return d.kernel.control().find(0)->disk().cache_stats().read_misses;
  };
  const uint64_t before = read_misses();
  std::vector<uint8_t> a = bytes(512, 3);
  EXPECT_EQ(d.kernel.pwrite(dev, a.data(), a.size(), 0), 512);
  EXPECT_EQ(read_misses(), before);  // one whole buffer: nothing read
  std::vector<uint8_t> b = bytes(100, 9);
  EXPECT_EQ(d.kernel.pwrite(dev, b.data(), b.size(), 1000), 100);
  EXPECT_EQ(read_misses(), before + 2);                            // the buffers at 512 and 1024
  Sandbox::raw_write(img, 2048, std::vector<uint8_t>(512, 0x77));  // behind the driver
  EXPECT_EQ(d.kernel.fsync(dev), 0);
  EXPECT_EQ(Sandbox::raw(img, 0, 512), a);
  EXPECT_EQ(Sandbox::raw(img, 1000, 100), b);
  EXPECT_EQ(Sandbox::raw(img, 2048, 512), std::vector<uint8_t>(512, 0x77));  // not written
  std::vector<uint8_t> page(4096);
  EXPECT_EQ(d.kernel.pread(dev, page.data(), page.size(), 0), 4096);
  EXPECT_EQ(read_misses(), before + 2 + 5);  // the five buffers from 1536 on
  EXPECT_EQ(std::vector<uint8_t>(page.begin() + 2048, page.begin() + 2560),
            std::vector<uint8_t>(512, 0x77));
  EXPECT_EQ(std::vector<uint8_t>(page.begin() + 1536, page.begin() + 2048),
            std::vector<uint8_t>(512, 0x11));
}

// Readahead's run of pages is one bio: a request whose backing read comes up short
// fails all its pages, and the page's own read (4 KiB, under 8 KiB blocks) is then
// refused (6.18.44, finding d77dc464).
TEST(InprocData, ReadaheadRunFailsWhole) {
  Sandbox sb;
  std::string img = sb.file("img", 64 << 10, 0x11);
  Driver d;
  int dev = d.bind(0, img);
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_BLOCK_SIZE, 8192), 0);
  ASSERT_EQ(::truncate(img.c_str(), 4096), 0);
  std::vector<uint8_t> page(4096);
  EXPECT_EQ(d.kernel.pread(dev, page.data(), page.size(), 0), -EIO);
}

TEST(InprocData, AdjacentRequestsMerge) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20, 0x11);
  Driver d;
  int dev = d.bind(0, img);
  QueueStats before = d.kernel.control().find(0)->disk().queue().stats();
  std::vector<uint8_t> buf(256 << 10);
  EXPECT_EQ(d.kernel.pread(dev, buf.data(), buf.size(), 0), static_cast<int64_t>(buf.size()));
  QueueStats after = d.kernel.control().find(0)->disk().queue().stats();
  uint64_t bios = after.bios - before.bios;
  uint64_t requests = after.requests - before.requests;
  EXPECT_EQ(bios, 64u);  // one per 4 KiB page
  EXPECT_LT(requests, bios);
  EXPECT_EQ(after.merges - before.merges, bios - requests);
  EXPECT_EQ(buf, std::vector<uint8_t>(buf.size(), 0x11));
}

TEST(InprocData, ReadPastBackingEofPerProfile) {
  for (const char* profile : {"linux-6.1", "linux-6.18"}) {
    SCOPED_TRACE(profile);
    Sandbox sb;
    std::string img = sb.file("img", 64 << 10, 0x77);
    Driver d(profile);
    int dev = d.bind(0, img);
    ASSERT_EQ(::truncate(img.c_str(), 4096), 0);
    std::vector<uint8_t> buf(8192, 0xee);
    int64_t n = d.kernel.pread(dev, buf.data(), 8192, 0);
    if (std::string(profile) == "linux-6.1") {
      EXPECT_EQ(n, 8192);
      EXPECT_EQ(std::vector<uint8_t>(buf.begin() + 4096, buf.end()), std::vector<uint8_t>(4096, 0));
    } else {
      EXPECT_EQ(n, 4096);  // the page at EOF fails, the read comes back short
      EXPECT_EQ(d.kernel.pread(dev, buf.data(), 4096, 32768), -EIO);
    }
    EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 4096),
              std::vector<uint8_t>(4096, 0x77));
  }
}

TEST(InprocData, UnlinkedBackingFileStillServes) {
  Sandbox sb;
  std::string img = sb.file("img", 64 << 10, 0x42);
  Driver d;
  int dev = d.bind(0, img);
  ASSERT_EQ(::unlink(img.c_str()), 0);
  std::vector<uint8_t> buf(4096);
  EXPECT_EQ(d.kernel.pread(dev, buf.data(), 4096, 0), 4096);
  EXPECT_EQ(buf, std::vector<uint8_t>(4096, 0x42));
  EXPECT_EQ(d.kernel.pwrite(dev, buf.data(), 4096, 8192), 4096);
  EXPECT_EQ(d.kernel.fsync(dev), 0);
  ASSERT_EQ(d.kernel.ioctl(dev, LOOP_SET_DIRECT_IO, 1), 0);  // reopen via /proc works unlinked
  EXPECT_EQ(d.kernel.pread(dev, buf.data(), 4096, 8192), 4096);
}

TEST(InprocData, BackingWriteErrorIsEio) {
  Sandbox sb;
  std::string img = sb.file("img", 64 << 10);
  Driver d;
  int dev = d.bind(0, img);
  // A file-size limit makes the backing pwrite fail (EFBIG) like a full disk
  // would (ENOSPC): the caller must see EIO either way.
  ASSERT_EQ(::truncate(img.c_str(), 0), 0);
  struct sigaction ignore {
  }, saved{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &saved), 0);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit tiny = old;
  tiny.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  std::vector<uint8_t> buf(4096, 1);
  EXPECT_EQ(d.kernel.pwrite(dev, buf.data(), 4096, 32768), 4096);  // lands in the cache
  int err = d.kernel.fsync(dev);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &saved, nullptr), 0);
  EXPECT_EQ(err, -EIO);
  EXPECT_EQ(d.kernel.fsync(dev), 0);  // reported once
}

// A writeback failure that BLKFLSBUF hides is reported by the next fsync of
// every open file, once each, also of one opened after the failure; a file
// opened after a report sees nothing (probe f1 / f4 on 6.18.44,
// common/writeback_error_reported_per_fd.trace).
TEST(InprocData, WritebackErrorReportedOncePerFile) {
  Sandbox sb;
  std::string img = sb.file("img", 64 << 10);
  Driver d;
  int dev = d.bind(0, img);
  int second = d.kernel.open_loop(0, O_RDWR);
  ASSERT_EQ(::truncate(img.c_str(), 0), 0);
  struct sigaction ignore {
  }, saved{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &saved), 0);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit tiny = old;
  tiny.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  std::vector<uint8_t> buf(4096, 1);
  EXPECT_EQ(d.kernel.pwrite(dev, buf.data(), 4096, 32768), 4096);
  const long flushed = d.kernel.ioctl(dev, BLKFLSBUF, 0);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &saved, nullptr), 0);
  EXPECT_EQ(flushed, 0);  // the failure is not reported here
  int third = d.kernel.open_loop(0, O_RDWR);
  EXPECT_EQ(d.kernel.fsync(dev), -EIO);
  EXPECT_EQ(d.kernel.fsync(dev), 0);
  EXPECT_EQ(d.kernel.fsync(second), -EIO);
  EXPECT_EQ(d.kernel.fsync(third), -EIO);
  int fourth = d.kernel.open_loop(0, O_RDWR);
  EXPECT_EQ(d.kernel.fsync(fourth), 0);
  d.kernel.close(second);
  d.kernel.close(third);
  d.kernel.close(fourth);
}

TEST(InprocData, DiscardPunchesHole) {
  Sandbox sb;
  std::string img = sb.file("img", 64 << 10, 0x33);
  Driver d;
  int dev = d.bind(0, img);
  uint64_t range[2] = {8192, 8192};
  EXPECT_EQ(d.kernel.ioctl(dev, BLKDISCARD, ptr(range)), 0);
  EXPECT_EQ(Sandbox::raw(img, 8192, 8192), std::vector<uint8_t>(8192, 0));
  EXPECT_EQ(Sandbox::raw(img, 16384, 16), std::vector<uint8_t>(16, 0x33));
  uint64_t bad[2] = {100, 512};
  EXPECT_EQ(d.kernel.ioctl(dev, BLKDISCARD, ptr(bad)), -EINVAL);
}

TEST(InprocSysfs, ValuesWhileBound) {
  Sandbox sb;
  std::string img = sb.file("img", 1 << 20);
  Driver d;
  int dev = d.kernel.open_loop(0, O_RDWR);
  int f = d.kernel.open_host(img, O_RDWR, "img");
  loop_config cfg{};
  cfg.fd = static_cast<uint32_t>(f);
  cfg.block_size = 1024;
  cfg.info.lo_offset = 100;
  cfg.info.lo_sizelimit = 1025;
  cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
  ASSERT_EQ(d.kernel.ioctl(dev, LOOP_CONFIGURE, ptr(&cfg)), 0);
  EXPECT_EQ(d.sysfs(0, "size"), "2");
  EXPECT_EQ(d.sysfs(0, "ro"), "0");
  EXPECT_EQ(d.sysfs(0, "loop/backing_file"), "img");
  EXPECT_EQ(d.sysfs(0, "loop/offset"), "100");
  EXPECT_EQ(d.sysfs(0, "loop/sizelimit"), "1025");
  EXPECT_EQ(d.sysfs(0, "loop/autoclear"), "1");
  EXPECT_EQ(d.sysfs(0, "loop/partscan"), "0");
  EXPECT_EQ(d.sysfs(0, "queue/logical_block_size"), "1024");
  EXPECT_EQ(d.sysfs(0, "nonsense"), "E" + std::to_string(ENOENT));
  d.kernel.close(f);
  d.kernel.close(dev);  // autoclear
  EXPECT_EQ(d.sysfs(0, "queue/logical_block_size"), "512");
}

// ---- uevents -----------------------------------------------------------------------------

std::string uevents(Driver& d) {
  return format_uevents(d.kernel.read_uevents());
}

int configure(Driver& d, int dev, int file, uint32_t flags, uint32_t block_size = 0) {
  loop_config cfg{};
  cfg.fd = static_cast<uint32_t>(file);
  cfg.block_size = block_size;
  cfg.info.lo_flags = flags;
  return static_cast<int>(d.kernel.ioctl(dev, LOOP_CONFIGURE, ptr(&cfg)));
}

TEST(InprocUevents, ADeviceLifeAndItsPartitionScans) {
  Sandbox sb;
  const std::string img = sb.file("img", 8 << 20);
  PartitionTable table;
  table.entry[table.count++] = PartitionEntry{2048, 4096};
  table.entry[table.count++] = PartitionEntry{0, 0};
  table.entry[table.count++] = PartitionEntry{8192, 2048};
  const auto sector = mbr_sector(table);
  Sandbox::raw_write(img, 0, {sector.begin(), sector.end()});
  Driver d("linux-6.18", DriverConfig{});
  EXPECT_EQ(uevents(d), "") << "the precreated devices' adds came before the listener";
  const int ctl = d.kernel.open_loop_control(O_RDWR);
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_ADD, 20), 20);
  EXPECT_EQ(uevents(d), "add loop20");
  const int dev = d.kernel.open_loop(20, O_RDWR);
  const int f = d.kernel.open_host(img, O_RDWR, "img");
  EXPECT_EQ(configure(d, dev, f, LO_FLAGS_PARTSCAN), 0);
  EXPECT_EQ(uevents(d), "change loop20, change loop20, add loop20p1, add loop20p3");
  EXPECT_EQ(d.kernel.ioctl(dev, BLKRRPART, 0), 0);
  EXPECT_EQ(uevents(d),
            "remove loop20p1, remove loop20p3, change loop20, add loop20p1, add loop20p3");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_SET_CAPACITY, 0), 0);
  EXPECT_EQ(uevents(d), "change loop20");
  EXPECT_EQ(d.kernel.ioctl(dev, LOOP_CLR_FD, 0), 0);
  EXPECT_EQ(d.kernel.close(dev), 0);
  EXPECT_EQ(uevents(d), "change loop20, change loop20 media, remove loop20p1, remove loop20p3");
  EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_REMOVE, 20), 0);
  EXPECT_EQ(uevents(d), "remove loop20");
  EXPECT_EQ(d.kernel.close(f), 0);
}

TEST(InprocUevents, AFailedConfigureSilencesTheDeviceOn611Only) {
  Sandbox sb;
  const std::string img = sb.file("img", 1 << 20);
  for (const char* profile : {"linux-6.18", "linux-6.1"}) {
    Driver d(profile, DriverConfig{});
    const int ctl = d.kernel.open_loop_control(O_RDWR);
    EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_ADD, 20), 20);
    const int dev = d.kernel.open_loop(20, O_RDWR);
    const int f = d.kernel.open_host(img, O_RDWR, "img");
    EXPECT_EQ(configure(d, dev, f, 0, 3000), -EINVAL);
    EXPECT_EQ(d.kernel.close(dev), 0);
    EXPECT_EQ(d.kernel.ioctl(ctl, LOOP_CTL_REMOVE, 20), 0);
    EXPECT_EQ(uevents(d),
              std::string(profile) == "linux-6.1" ? "add loop20, remove loop20" : "add loop20")
        << profile;
  }
}

}  // namespace
}  // namespace loopcheck::inproc
