// What a kernel image and a loop module say about themselves, read from the
// files (no tools needed): the release in a bzImage's setup header, and the
// vermagic in a module's .modinfo section. A module loads only into the kernel
// release its vermagic names, so a mismatch is refused before anything boots.
#pragma once

#include <string>
#include <string_view>

namespace loopcheck::vm {

// The release ("6.1.0-56-cloud-amd64") of a bzImage: the first word of the
// string its setup header's kernel_version field points at. False with `why`
// when the bytes are not a bzImage or carry no version string.
bool bzimage_release(std::string_view image, std::string* release, std::string* why);

// The module's vermagic ("6.1.0-56-cloud-amd64 SMP mod_unload modversions "),
// from the `vermagic=` entry of the ELF64 section .modinfo. False with `why`
// when the bytes are not an ELF64 object or carry no vermagic.
bool module_vermagic(std::string_view module, std::string* vermagic, std::string* why);

// The release a vermagic names: its first word.
std::string vermagic_release(std::string_view vermagic);

// "" when the module file at `module_path` may be loaded into kernel
// `release`; else the reason, naming both releases and the fix.
std::string check_module_for_kernel(const std::string& module_path, std::string_view release);

// The whole file, or false with `why` naming it (missing, unreadable, over max_bytes).
bool read_small_file(const std::string& path, size_t max_bytes, std::string* bytes,
                     std::string* why);

}  // namespace loopcheck::vm
