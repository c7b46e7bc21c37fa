#include "targets/vm/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <utility>

namespace loopcheck::vm {
namespace {

struct WriterCloser {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryCloser {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

bool slurp(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// One entry; fixed owner and mtime so the same inputs give the same bytes.
bool add_entry(archive* a, const char* path, mode_t type, mode_t perm, std::string_view data,
               dev_t rdev, std::string* why) {
  std::unique_ptr<archive_entry, EntryCloser> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), path);
  archive_entry_set_filetype(entry.get(), type);
  archive_entry_set_perm(entry.get(), perm);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  archive_entry_set_mtime(entry.get(), 0, 0);
  archive_entry_set_nlink(entry.get(), type == AE_IFDIR ? 2 : 1);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
  if (type == AE_IFCHR) archive_entry_set_rdev(entry.get(), rdev);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK ||
      (!data.empty() &&
       archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))) {
    *why = fmt::format("initramfs entry {}: {}", path, archive_error_string(a));
    return false;
  }
  return true;
}

}  // namespace

bool write_initramfs(const std::string& out_path, const InitramfsFiles& files, std::string* why) {
  std::string agent, loop_module, brd_module;
  if (!slurp(files.agent_path, &agent)) {
    *why = fmt::format("cannot read the agent binary {}", files.agent_path);
    return false;
  }
  for (auto [path, bytes] :
       {std::pair{&files.loop_ko_path, &loop_module}, std::pair{&files.brd_ko_path, &brd_module}}) {
    if (!path->empty() && !slurp(*path, bytes)) {
      *why = fmt::format("cannot read {}: run `loopcheck kernels fetch` again", *path);
      return false;
    }
  }
  std::unique_ptr<archive, WriterCloser> a(archive_write_new());
  archive_write_set_format_cpio_newc(a.get());
  archive_write_add_filter_none(a.get());
  if (archive_write_open_filename(a.get(), out_path.c_str()) != ARCHIVE_OK) {
    *why = fmt::format("cannot write {}: {}", out_path, archive_error_string(a.get()));
    return false;
  }
  bool ok = add_entry(a.get(), "dev", AE_IFDIR, 0755, {}, 0, why) &&
            add_entry(a.get(), "dev/console", AE_IFCHR, 0600, {}, makedev(5, 1), why) &&
            add_entry(a.get(), "proc", AE_IFDIR, 0755, {}, 0, why) &&
            add_entry(a.get(), "sys", AE_IFDIR, 0755, {}, 0, why) &&
            add_entry(a.get(), "mnt", AE_IFDIR, 0755, {}, 0, why) &&
            add_entry(a.get(), "init", AE_IFREG, 0755, agent, 0, why) &&
            add_entry(a.get(), "disk.blocks", AE_IFREG, 0644, files.disk_blocks, 0, why) &&
            (files.loop_ko_path.empty() ||
             add_entry(a.get(), "loop.ko", AE_IFREG, 0644, loop_module, 0, why)) &&
            (files.brd_ko_path.empty() ||
             add_entry(a.get(), "brd.ko", AE_IFREG, 0644, brd_module, 0, why));
  for (const std::string& path : files.channel_module_paths) {
    std::string module;
    if (ok && !slurp(path, &module)) {
      *why = fmt::format("cannot read {}: run `loopcheck kernels fetch` again", path);
      ok = false;
    }
    const std::string name = std::filesystem::path(path).filename().string();
    ok = ok && add_entry(a.get(), name.c_str(), AE_IFREG, 0644, module, 0, why);
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK && ok) {
    *why =
        fmt::format("cannot finish {}: {} (disk full?)", out_path, archive_error_string(a.get()));
    ok = false;
  }
  return ok;
}

std::string find_agent_binary(std::string* why) {
  if (const char* path = std::getenv("LOOPCHECK_AGENT"); path && *path) {
    if (access(path, X_OK) == 0) return path;
    *why = fmt::format("LOOPCHECK_AGENT={} is not an executable file", path);
    return {};
  }
#ifdef LOOPCHECK_AGENT_PATH
  if (access(LOOPCHECK_AGENT_PATH, X_OK) == 0) return LOOPCHECK_AGENT_PATH;
  *why = fmt::format(
      "the guest agent {} is missing: build the `loopcheck_agent` target (cmake --build ... "
      "--target loopcheck_agent)",
      LOOPCHECK_AGENT_PATH);
#else
  *why =
      "this build has no guest agent (targets/vm/agent is not part of it): set LOOPCHECK_AGENT to "
      "a static "
      "loopcheck-agent binary";
#endif
  return {};
}

}  // namespace loopcheck::vm
