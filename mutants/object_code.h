// What a built module does, as bytes: the XXH3-128 of every section that is
// loaded (code, data, tables) and of the relocations against them, but not of
// .modinfo (srcversion hashes the source text), notes (the build id covers
// debug info) or debug info (columns move when a token grows). Two modules with
// the same digest run the same: a mutant whose module matches the original's
// was folded away by the compiler and is equivalent.
#pragma once

#include <string>

namespace loopcheck::mutants {

// Hex digest; empty with `why` for a file that is not a readable ELF64 object.
std::string object_code_digest(const std::string& ko_path, std::string* why);

}  // namespace loopcheck::mutants
