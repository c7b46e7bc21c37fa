// Reading and writing a report folder's files: every file appears whole (written
// aside, then renamed), and a failure names the file and what to do.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace loopcheck::campaign {

// The file's bytes; "" when it cannot be read.
std::string read_text(const std::filesystem::path& path);

// Creates the parent directory, writes "<path>.partial", renames it into place.
// Throws std::runtime_error naming the file and the errno (a full disk is an
// error the campaign reports, never a half-written report).
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace loopcheck::campaign
