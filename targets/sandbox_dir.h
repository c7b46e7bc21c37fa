// The private directory holding one run's backing files and directories.
// Created with mkdtemp under a parent (/var/tmp by default: a real disk
// filesystem, so O_DIRECT and block-backed behaviour match what users see,
// unlike tmpfs), and removed with everything in it.
#pragma once

#include "trace/trace.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace loopcheck::host {

inline constexpr const char* kDefaultSandboxParent = "/var/tmp";
inline constexpr std::string_view kSandboxPrefix = "loopcheck-";

// Creates PARENT/loopcheck-XXXXXX. Returns 0 or an errno.
int make_sandbox_dir(const std::string& parent, std::string* path);

// Creates PARENT/<prefix><pid>-XXXXXX with this process's pid. For a sandbox
// that only lives as long as its process and has no ledger: when the process is
// killed mid-run (a fuzzer child at the end of its budget, a Ctrl-C), the name
// alone says the owner is gone. Returns 0 or an errno.
int make_owned_sandbox_dir(const std::string& parent, std::string_view prefix, std::string* path);

// Removes every PARENT/<prefix><pid>-* whose pid names no process. A live pid,
// even a reused one, keeps its directory; this process's own are never touched.
void remove_orphaned_sandbox_dirs(const std::string& parent, std::string_view prefix);

// Whether `path` has the shape make_sandbox_dir gives under `parent`: recovery
// only ever deletes directories that pass this, whatever a ledger says.
bool looks_like_sandbox_dir(std::string_view path, std::string_view parent);

// Removes the directory and its contents (two levels: objects and what a
// trace might create inside a `dir` object). Returns 0 or the first errno.
int remove_sandbox_dir(const std::string& path);

// Creates a regular file of `size` bytes: sparse when `fill` is 0, else every
// byte `fill`. Returns 0 or an errno.
// A file of `size` bytes of `fill`, with `mbr`'s table over its first sector.
int create_backing_file(const std::string& path, uint64_t size, uint8_t fill,
                        const PartitionTable& mbr = {});

}  // namespace loopcheck::host
