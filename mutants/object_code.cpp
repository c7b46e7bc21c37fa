#include "mutants/object_code.h"

#include <elf.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

namespace loopcheck::mutants {
namespace {

bool counts(const Elf64_Shdr& s, std::string_view name) {
  if (name == ".modinfo" || name.starts_with(".note") || name.starts_with(".rela.debug") ||
      name.starts_with(".debug"))
    return false;
  return (s.sh_flags & SHF_ALLOC) != 0 || s.sh_type == SHT_RELA;
}

}  // namespace

std::string object_code_digest(const std::string& ko_path, std::string* why) {
  std::ifstream in(ko_path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  Elf64_Ehdr eh;
  if (bytes.size() < sizeof eh || bytes.compare(0, 4,
                                                "\x7f"
                                                "ELF") != 0) {
    *why = ko_path + ": not an ELF file";
    return {};
  }
  std::memcpy(&eh, bytes.data(), sizeof eh);
  const size_t table_end = size_t(eh.e_shoff) + size_t(eh.e_shnum) * sizeof(Elf64_Shdr);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || table_end > bytes.size() ||
      eh.e_shstrndx >= eh.e_shnum) {
    *why = ko_path + ": not a well-formed ELF64 object";
    return {};
  }
  auto section = [&](size_t i) {
    Elf64_Shdr s;
    std::memcpy(&s, bytes.data() + eh.e_shoff + i * sizeof s, sizeof s);
    return s;
  };
  const Elf64_Shdr names = section(eh.e_shstrndx);
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr s = section(i);
    if (names.sh_offset + s.sh_name >= bytes.size()) continue;
    const std::string_view name(bytes.data() + names.sh_offset + s.sh_name);
    if (!counts(s, name)) continue;
    XXH3_128bits_update(state, name.data(), name.size() + 1);
    XXH3_128bits_update(state, &s.sh_size, sizeof s.sh_size);
    if (s.sh_type != SHT_NOBITS && s.sh_offset + s.sh_size <= bytes.size())
      XXH3_128bits_update(state, bytes.data() + s.sh_offset, s.sh_size);
  }
  const XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

}  // namespace loopcheck::mutants
