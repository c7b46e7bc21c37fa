// Reading a kernel's release from a bzImage and a module's vermagic from its
// .modinfo, and the errors `vm:PATH`, --loop-ko, --modules and `loop-ko build`
// give for bad input. Synthetic files, built here byte by byte, so each field
// the parser reads can be broken on purpose. (Booting one: tests/targets/vm.)
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "targets/vm/boot_spec.h"
#include "targets/vm/kernel_identity.h"
#include "targets/vm/loop_ko_build.h"

namespace loopcheck::vm {
namespace {
namespace fs = std::filesystem;

void put_le(std::string* bytes, size_t offset, uint64_t value, size_t width) {
  if (bytes->size() < offset + width) bytes->resize(offset + width, '\0');
  for (size_t i = 0; i < width; ++i) (*bytes)[offset + i] = static_cast<char>(value >> (8 * i));
}

// A setup header as a bzImage has it: HdrS at 0x202, protocol 2.15, and the
// version string 0x200 bytes past the kernel_version pointer.
std::string fake_bzimage(std::string_view version_text) {
  std::string image(0x400, '\0');
  image.replace(0x202, 4, "HdrS");
  put_le(&image, 0x206, 0x20f, 2);
  put_le(&image, 0x20e, 0x100, 2);
  image.replace(0x300, version_text.size(), version_text);
  return image;
}

// An ELF64 LE object with a section header table of: null, .modinfo, .shstrtab.
std::string fake_module(std::string_view modinfo) {
  const std::string shstrtab = std::string("\0.modinfo\0.shstrtab\0", 20);
  std::string elf(64, '\0');
  elf.replace(0, 4,
              "\x7f"
              "ELF");
  elf[4] = 2;  // ELFCLASS64
  elf[5] = 1;  // little-endian
  const size_t modinfo_at = elf.size();
  elf += modinfo;
  const size_t strtab_at = elf.size();
  elf += shstrtab;
  const size_t shoff = elf.size();
  elf.resize(shoff + 3 * 64, '\0');
  put_le(&elf, 0x28, shoff, 8);
  put_le(&elf, 0x3a, 64, 2);
  put_le(&elf, 0x3c, 3, 2);
  put_le(&elf, 0x3e, 2, 2);
  auto section = [&](size_t i, uint32_t name, size_t offset, size_t size) {
    put_le(&elf, shoff + i * 64, name, 4);
    put_le(&elf, shoff + i * 64 + 24, offset, 8);
    put_le(&elf, shoff + i * 64 + 32, size, 8);
  };
  section(1, 1, modinfo_at, modinfo.size());
  section(2, 10, strtab_at, shstrtab.size());
  return elf;
}

constexpr char kModinfo61Text[] =
    "license=GPL\0alias=devname:loop-control\0"
    "vermagic=6.1.0-56-cloud-amd64 SMP preempt mod_unload modversions ";
const std::string kModinfo61(kModinfo61Text, sizeof kModinfo61Text);  // with the final NUL

TEST(KernelIdentity, BzImageReleaseIsTheFirstWordOfItsVersionString) {
  std::string release, why;
  ASSERT_TRUE(bzimage_release(
      fake_bzimage("6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP"), &release, &why))
      << why;
  EXPECT_EQ(release, "6.1.0-56-cloud-amd64");
  ASSERT_TRUE(bzimage_release(fake_bzimage("6.18.2-custom"), &release, &why));
  EXPECT_EQ(release, "6.18.2-custom");
}

TEST(KernelIdentity, NotABzImageIsRefusedWithTheReason) {
  std::string release, why;
  std::string image = fake_bzimage("6.1.0");
  image[0x202] = 'X';
  EXPECT_FALSE(bzimage_release(image, &release, &why));
  EXPECT_NE(why.find("HdrS"), std::string::npos) << why;
  image = fake_bzimage("6.1.0");
  put_le(&image, 0x20e, 0, 2);  // no kernel_version pointer
  EXPECT_FALSE(bzimage_release(image, &release, &why));
  EXPECT_NE(why.find("names no kernel version"), std::string::npos) << why;
  put_le(&image, 0x20e, 0x7fff, 2);  // pointing past the end
  EXPECT_FALSE(bzimage_release(image, &release, &why));
  EXPECT_FALSE(bzimage_release("short", &release, &why));
}

TEST(KernelIdentity, VermagicComesFromModinfo) {
  std::string vermagic, why;
  ASSERT_TRUE(module_vermagic(fake_module(kModinfo61), &vermagic, &why)) << why;
  EXPECT_EQ(vermagic, "6.1.0-56-cloud-amd64 SMP preempt mod_unload modversions ");
  EXPECT_EQ(vermagic_release(vermagic), "6.1.0-56-cloud-amd64");
}

TEST(KernelIdentity, BrokenModulesSayWhatIsWrong) {
  std::string vermagic, why;
  EXPECT_FALSE(module_vermagic(std::string(100, 'x'), &vermagic, &why));
  EXPECT_NE(why.find("not an ELF object"), std::string::npos) << why;
  std::string elf32 = fake_module(kModinfo61);
  elf32[4] = 1;
  EXPECT_FALSE(module_vermagic(elf32, &vermagic, &why));
  EXPECT_NE(why.find("64-bit"), std::string::npos) << why;
  EXPECT_FALSE(module_vermagic(fake_module(std::string("license=GPL\0", 12)), &vermagic, &why));
  EXPECT_NE(why.find("no vermagic"), std::string::npos) << why;
  std::string truncated = fake_module(kModinfo61);
  truncated.resize(truncated.size() - 100);  // the section headers cut off
  EXPECT_FALSE(module_vermagic(truncated, &vermagic, &why));
  EXPECT_NE(why.find(".modinfo"), std::string::npos) << why;
}

class KernelFilesDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/loopcheck-identity-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const char* old = getenv("LOOPCHECK_CACHE");
    if (old) old_cache_ = old;
    had_cache_ = old != nullptr;
    setenv("LOOPCHECK_CACHE", (dir_ + "/cache").c_str(), 1);
  }
  void TearDown() override {
    if (had_cache_) {
      setenv("LOOPCHECK_CACHE", old_cache_.c_str(), 1);
    } else {
      unsetenv("LOOPCHECK_CACHE");
    }
    fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::string dir_, old_cache_;
  bool had_cache_ = false;
};

TEST_F(KernelFilesDir, AModuleForAnotherKernelNamesBothReleasesAndTheFix) {
  const std::string ko = write("loop.ko", fake_module(kModinfo61));
  EXPECT_EQ(check_module_for_kernel(ko, "6.1.0-56-cloud-amd64"), "");
  const std::string error = check_module_for_kernel(ko, "6.12.117+deb12-cloud-amd64");
  EXPECT_NE(error.find("built for kernel 6.1.0-56-cloud-amd64"), std::string::npos) << error;
  EXPECT_NE(error.find("kernel to boot is 6.12.117+deb12-cloud-amd64"), std::string::npos);
  EXPECT_NE(error.find("loopcheck loop-ko build --kernel 6.12.117+deb12-cloud-amd64"),
            std::string::npos);
  EXPECT_NE(check_module_for_kernel(dir_ + "/absent.ko", "6.1.0").find("cannot open"),
            std::string::npos);
}

TEST_F(KernelFilesDir, ABzImagePathBootsItsOwnReleaseWithTheCheckedModule) {
  const std::string image =
      write("build/arch/x86/boot/bzImage", fake_bzimage("6.1.0-56-cloud-amd64 (x@y) #1"));
  const std::string ko = write("loop.ko", fake_module(kModinfo61));
  ResolvedKernel r = resolve_vm_kernel(image, {ko, ""});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files.version, "6.1.0-56-cloud-amd64");
  EXPECT_TRUE(r.files.image_path);
  EXPECT_EQ(r.files.loop_ko, ko);
  r = resolve_vm_kernel(image, {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files.loop_ko, "") << "no module given: the loop driver is built in";
  r = resolve_vm_kernel(image, {"", dir_});  // --modules: finds dir_/loop.ko
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files.loop_ko, ko);
}

// A kernel named by path takes the guest's RAM disk driver and the virtio channel
// from its build tree (or the --modules tree); without them the RAM disk must be
// built in and the channel is the serial line.
TEST_F(KernelFilesDir, ABzImagePathFindsItsRamDiskAndChannelModulesInItsTree) {
  const std::string image =
      write("build/arch/x86/boot/bzImage", fake_bzimage("6.1.0-56-cloud-amd64 (x@y) #1"));
  ResolvedKernel r = resolve_vm_kernel(image, {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files.brd_ko, "");
  EXPECT_FALSE(r.files.virtio_channel);
  const std::string brd = write("build/drivers/block/brd.ko", fake_module(kModinfo61));
  for (const char* m : kVirtioChannelModules)
    write(std::string("build/") + m, fake_module(kModinfo61));
  r = resolve_vm_kernel(image, {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.files.brd_ko, brd);
  EXPECT_TRUE(r.files.virtio_channel);
  ASSERT_EQ(r.files.channel_modules.size(), std::size(kVirtioChannelModules));
  EXPECT_NE(r.files.channel_modules.back().find("build/drivers/char/virtio_console.ko"),
            std::string::npos);
  std::filesystem::remove(dir_ + "/build/drivers/virtio/virtio_pci.ko");
  r = resolve_vm_kernel(image, {});
  EXPECT_FALSE(r.files.virtio_channel) << "a chain missing a module is no chain";
}

TEST_F(KernelFilesDir, BadKernelAndModuleChoicesAreRefusedBeforeBooting) {
  const std::string image = write("bzImage", fake_bzimage("6.12.117-x"));
  const std::string ko = write("loop.ko", fake_module(kModinfo61));
  ResolvedKernel r = resolve_vm_kernel(image, {ko, ""});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("kernel to boot is 6.12.117-x"), std::string::npos) << r.error;
  r = resolve_vm_kernel(image, {ko, dir_});
  EXPECT_NE(r.error.find("pass one of them"), std::string::npos) << r.error;
  r = resolve_vm_kernel(image, {dir_ + "/nope.ko", ""});
  EXPECT_NE(r.error.find("no such file"), std::string::npos) << r.error;
  r = resolve_vm_kernel(write("vmlinux",
                              "\x7f"
                              "ELF not a bzImage"),
                        {});
  EXPECT_NE(r.error.find("pass the bzImage"), std::string::npos) << r.error;
  r = resolve_vm_kernel(dir_ + "/missing/bzImage", {});
  EXPECT_NE(r.error.find("cannot open"), std::string::npos) << r.error;
  r = resolve_vm_kernel("6.1.0-56-cloud-amd64", {ko, ""});  // the cache here is empty
  EXPECT_NE(r.error.find("loopcheck kernels fetch 6.1.0-56-cloud-amd64"), std::string::npos);
}

TEST_F(KernelFilesDir, ModulesDirectoryLookupAndItsErrors) {
  std::string why;
  EXPECT_EQ(find_loop_module(dir_ + "/none", "6.1.0", &why), "");
  EXPECT_NE(why.find("no such directory"), std::string::npos) << why;
  EXPECT_EQ(find_loop_module(dir_, "6.1.0", &why), "");
  EXPECT_NE(why.find("leave --modules out"), std::string::npos) << why;
  write("lib/modules/6.1.0/kernel/drivers/block/loop.ko.xz", "xz");
  EXPECT_EQ(find_loop_module(dir_, "6.1.0", &why), "");
  EXPECT_NE(why.find("decompress it"), std::string::npos) << why;
  const std::string ko = write("lib/modules/6.1.0/kernel/drivers/block/loop.ko", "ko");
  EXPECT_EQ(find_loop_module(dir_, "6.1.0", &why), ko);
}

TEST_F(KernelFilesDir, LoopKoBuildNamesWhatIsMissing) {
  LoopSource source;
  std::string why;
  EXPECT_FALSE(load_loop_source("linux-source-0.99", &source, &why));
  EXPECT_NE(why.find("apt-get install linux-source-0.99"), std::string::npos) << why;
  EXPECT_FALSE(load_loop_source(dir_, &source, &why));
  EXPECT_NE(why.find("neither loop.c"), std::string::npos) << why;
  write("tree/drivers/block/loop.c", "int x;\n");
  ASSERT_TRUE(load_loop_source(dir_ + "/tree", &source, &why)) << why;
  EXPECT_EQ(source.loop_c, "int x;\n");
  EXPECT_EQ(source.loop_h, "");
  LoopKoBuild built = build_loop_ko(source, "0.0.1-none", dir_ + "/no-headers");
  EXPECT_FALSE(built.ok);
  EXPECT_NE(built.error.find("apt-get install linux-headers-0.0.1-none"), std::string::npos)
      << built.error;
}

}  // namespace
}  // namespace loopcheck::vm
