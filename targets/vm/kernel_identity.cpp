#include "targets/vm/kernel_identity.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <fstream>

namespace loopcheck::vm {
namespace {

// x86 boot protocol (Documentation/arch/x86/boot.rst): the setup header.
constexpr size_t kHeaderMagicOffset = 0x202;      // "HdrS"
constexpr size_t kProtocolVersionOffset = 0x206;  // u16; kernel_version exists from 2.00
constexpr size_t kKernelVersionOffset = 0x20e;    // u16, pointer relative to 0x200
constexpr size_t kMaxVersionBytes = 256;

uint64_t load_le(std::string_view bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i)
    value |= uint64_t{static_cast<unsigned char>(bytes[offset + i])} << (8 * i);
  return value;
}

// ELF64 little-endian section header fields (the only layout x86-64 modules use).
struct Section {
  uint32_t name = 0;
  uint64_t offset = 0, size = 0;
};

bool read_section(std::string_view elf, uint64_t header, Section* s) {
  if (header + 64 > elf.size()) return false;
  s->name = static_cast<uint32_t>(load_le(elf, header, 4));
  s->offset = load_le(elf, header + 24, 8);
  s->size = load_le(elf, header + 32, 8);
  return s->offset <= elf.size() && s->size <= elf.size() - s->offset;
}

// The contents of the section called `wanted`, or nullopt-like false.
bool find_section(std::string_view elf, std::string_view wanted, std::string_view* contents) {
  const uint64_t shoff = load_le(elf, 0x28, 8);
  const uint64_t shentsize = load_le(elf, 0x3a, 2);
  const uint64_t shnum = load_le(elf, 0x3c, 2);
  const uint64_t shstrndx = load_le(elf, 0x3e, 2);
  if (shentsize != 64 || shstrndx >= shnum || shoff > elf.size()) return false;
  Section names;
  if (!read_section(elf, shoff + shstrndx * 64, &names)) return false;
  const std::string_view strtab = elf.substr(names.offset, names.size);
  for (uint64_t i = 0; i < shnum; ++i) {
    Section s;
    if (!read_section(elf, shoff + i * 64, &s) || s.name >= strtab.size()) continue;
    std::string_view name = strtab.substr(s.name);
    name = name.substr(0, name.find('\0'));
    if (name != wanted) continue;
    *contents = elf.substr(s.offset, s.size);
    return true;
  }
  return false;
}

}  // namespace

bool bzimage_release(std::string_view image, std::string* release, std::string* why) {
  if (image.size() < 0x210 || image.substr(kHeaderMagicOffset, 4) != "HdrS") {
    *why = "not a bzImage (no \"HdrS\" boot-protocol magic at 0x202)";
    return false;
  }
  const uint64_t protocol = load_le(image, kProtocolVersionOffset, 2);
  const uint64_t pointer = load_le(image, kKernelVersionOffset, 2);
  if (protocol < 0x200 || pointer == 0 || 0x200 + pointer >= image.size()) {
    *why = fmt::format("the bzImage's setup header (protocol {:#x}) names no kernel version",
                       protocol);
    return false;
  }
  std::string_view text = image.substr(0x200 + pointer, kMaxVersionBytes);
  text = text.substr(0, text.find_first_of(std::string_view(" \0", 2)));
  if (text.empty() || text.size() == kMaxVersionBytes) {
    *why = "the bzImage's kernel version string is empty or unterminated";
    return false;
  }
  *release = std::string(text);
  return true;
}

bool module_vermagic(std::string_view module, std::string* vermagic, std::string* why) {
  if (module.size() < 64 || module.substr(0, 4) != std::string_view("\x7f"
                                                                    "ELF",
                                                                    4)) {
    *why = "not an ELF object (a kernel module is one)";
    return false;
  }
  if (module[4] != 2 || module[5] != 1) {
    *why = "not a 64-bit little-endian ELF object (an x86-64 kernel module is one)";
    return false;
  }
  std::string_view modinfo;
  if (!find_section(module, ".modinfo", &modinfo)) {
    *why = "no .modinfo section: not a kernel module";
    return false;
  }
  for (size_t start = 0; start < modinfo.size();) {
    size_t end = modinfo.find('\0', start);
    if (end == std::string_view::npos) end = modinfo.size();
    std::string_view entry = modinfo.substr(start, end - start);
    if (entry.starts_with("vermagic=")) {
      *vermagic = std::string(entry.substr(9));
      return true;
    }
    start = end + 1;
  }
  *why = "its .modinfo has no vermagic= entry";
  return false;
}

std::string vermagic_release(std::string_view vermagic) {
  return std::string(vermagic.substr(0, vermagic.find(' ')));
}

bool read_small_file(const std::string& path, size_t max_bytes, std::string* bytes,
                     std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = fmt::format("cannot open {}: {}", path, std::strerror(errno));
    return false;
  }
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (bytes->size() > max_bytes) {
    *why = fmt::format("{} is {} bytes, more than the {} expected", path, bytes->size(), max_bytes);
    return false;
  }
  return true;
}

std::string check_module_for_kernel(const std::string& module_path, std::string_view release) {
  constexpr size_t kMaxModuleBytes = 64u << 20;  // loop.ko is ~100 KB (~1 MB with debug info)
  std::string bytes, why, vermagic;
  if (!read_small_file(module_path, kMaxModuleBytes, &bytes, &why)) return why;
  if (!module_vermagic(bytes, &vermagic, &why))
    return fmt::format("{} is not a loadable module: {}", module_path, why);
  const std::string module_release = vermagic_release(vermagic);
  if (module_release == release) return {};
  return fmt::format(
      "{} was built for kernel {} (vermagic '{}'), but the kernel to boot is {}: the guest "
      "would refuse it. Build it against that kernel's headers (`loopcheck loop-ko build "
      "--kernel {} --source DIR`) or boot the kernel it was built for",
      module_path, module_release, vermagic, release, release);
}

}  // namespace loopcheck::vm
