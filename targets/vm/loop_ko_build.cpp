#include "targets/vm/loop_ko_build.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "targets/subprocess.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/kernel_identity.h"

namespace loopcheck::vm {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxSourceBytes = 4u << 20;  // loop.c is ~60 KB
constexpr const char* kKbuild = "obj-m := loop.o\n";

bool write_text(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out.flush());
}

std::string hex128(const XXH128_hash_t& h) {
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

bool source_from_dir(const fs::path& dir, LoopSource* out, std::string* why) {
  std::error_code ec;
  for (const fs::path& base : {dir, dir / "drivers/block"}) {
    if (!fs::is_regular_file(base / "loop.c", ec)) continue;
    if (!read_small_file((base / "loop.c").string(), kMaxSourceBytes, &out->loop_c, why))
      return false;
    out->loop_h.clear();
    if (fs::is_regular_file(base / "loop.h", ec) &&
        !read_small_file((base / "loop.h").string(), kMaxSourceBytes, &out->loop_h, why))
      return false;
    out->origin = (base / "loop.c").string();
    return true;
  }
  *why = fmt::format(
      "{} holds neither loop.c nor drivers/block/loop.c (pass a kernel tree, the "
      "directory of a loop.c, or linux-source-6.1)",
      dir.string());
  return false;
}

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

bool read_entry(archive* a, std::string* out) {
  out->clear();
  char buffer[64 * 1024];
  for (la_ssize_t n; (n = archive_read_data(a, buffer, sizeof buffer)) != 0;) {
    if (n < 0 || out->size() > kMaxSourceBytes) return false;
    out->append(buffer, static_cast<size_t>(n));
  }
  return true;
}

// Streams through the tarball for drivers/block/loop.[ch]; stops once it has
// left drivers/block/ after loop.c (tar keeps a directory's entries together).
bool source_from_tarball(const fs::path& tarball, LoopSource* out, std::string* why) {
  std::unique_ptr<archive, ArchiveCloser> tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  archive_read_support_filter_all(tar.get());
  if (archive_read_open_filename(tar.get(), tarball.c_str(), 1 << 16) != ARCHIVE_OK) {
    *why = fmt::format("{}: {}", tarball.string(), archive_error_string(tar.get()));
    return false;
  }
  archive_entry* entry = nullptr;
  while (archive_read_next_header(tar.get(), &entry) == ARCHIVE_OK) {
    std::string_view name = archive_entry_pathname(entry);
    const bool in_block = name.find("/drivers/block/") != std::string_view::npos;
    if (!out->loop_c.empty() && !in_block) break;
    std::string* into = name.ends_with("/drivers/block/loop.c")   ? &out->loop_c
                        : name.ends_with("/drivers/block/loop.h") ? &out->loop_h
                                                                  : nullptr;
    if (into && !read_entry(tar.get(), into)) {
      *why = fmt::format("{}: cannot read {}", tarball.string(), name);
      return false;
    }
  }
  if (out->loop_c.empty()) {
    *why = fmt::format("{} holds no drivers/block/loop.c: not a kernel source tarball",
                       tarball.string());
    return false;
  }
  out->origin = tarball.string();
  return true;
}

// A tarball's loop.[ch], extracted once into the cache (keyed by path, size, mtime).
bool cached_tarball_source(const fs::path& tarball, LoopSource* out, std::string* why) {
  std::error_code ec;
  const auto size = fs::file_size(tarball, ec);
  const auto mtime = fs::last_write_time(tarball, ec).time_since_epoch().count();
  const std::string id = fmt::format("{}\n{}\n{}", fs::absolute(tarball).string(), size, mtime);
  const fs::path dir = fs::path(loop_ko_cache_dir()) / "sources" /
                       fmt::format("{:016x}", XXH3_64bits(id.data(), id.size()));
  if (fs::is_regular_file(dir / "loop.c", ec) && source_from_dir(dir, out, why)) {
    out->origin = tarball.string();
    return true;
  }
  if (!source_from_tarball(tarball, out, why)) return false;
  fs::create_directories(dir, ec);
  // A per-process part file: two processes extracting at once each rename a whole copy.
  const fs::path part = dir / fmt::format("loop.c.part{}", getpid());
  if (!out->loop_h.empty()) write_text(dir / "loop.h", out->loop_h);
  if (write_text(part, out->loop_c)) fs::rename(part, dir / "loop.c", ec);  // loop.c last
  return true;
}

}  // namespace

std::string loop_ko_cache_dir() {
  return (fs::path(kernel_cache_dir()).parent_path() / "loop-ko").string();
}

std::string headers_dir_for(std::string_view release) {
  return "/usr/src/linux-headers-" + std::string(release);
}

bool load_loop_source(std::string_view source, LoopSource* out, std::string* why) {
  *out = LoopSource{};
  std::error_code ec;
  fs::path path{std::string(source)};
  if (source.starts_with("linux-source-") && source.find('/') == std::string_view::npos) {
    path = fmt::format("/usr/src/{}.tar.xz", source);
    if (!fs::is_regular_file(path, ec)) {
      *why = fmt::format("{} is missing: install the Debian package (`apt-get install {}`)",
                         path.string(), source);
      return false;
    }
  }
  if (fs::is_directory(path, ec)) return source_from_dir(path, out, why);
  if (fs::is_regular_file(path, ec)) {
    if (path.extension() == ".c") return source_from_dir(path.parent_path(), out, why);
    return cached_tarball_source(path, out, why);
  }
  *why = fmt::format(
      "source '{}' does not exist (pass a kernel tree, a directory holding "
      "loop.c, a source tarball, or a package name such as linux-source-6.1)",
      source);
  return false;
}

namespace {

// The content key: every input that decides the module's bytes.
std::string build_key(const LoopSource& source, std::string_view release, const fs::path& headers,
                      std::string* why) {
  std::string symvers;
  if (!read_small_file((headers / "Module.symvers").string(), 64u << 20, &symvers, why)) return {};
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  for (std::string_view part :
       {std::string_view(release), std::string_view(kKbuild), std::string_view(source.loop_c),
        std::string_view(source.loop_h), std::string_view(symvers)}) {
    const uint64_t size = part.size();  // lengths too, so the parts cannot run into each other
    XXH3_128bits_update(state, &size, sizeof size);
    XXH3_128bits_update(state, part.data(), part.size());
  }
  const std::string key = hex128(XXH3_128bits_digest(state));
  XXH3_freeState(state);
  return key;
}

// Headers and make present; "" or the reason with the fix.
std::string check_build_tools(std::string_view release, const fs::path& headers) {
  std::error_code ec;
  if (!fs::is_regular_file(headers / "Makefile", ec) ||
      !fs::is_regular_file(headers / "Module.symvers", ec)) {
    return fmt::format(
        "no kernel headers for {} at {}: install them (`apt-get install "
        "linux-headers-{}`), or pass the headers directory of your build",
        release, headers.string(), release);
  }
  if (!program_in_path("make") || !program_in_path("gcc"))
    return "make and gcc are needed to build a module: `apt-get install make gcc`";
  return {};
}

std::string log_tail(const std::string& log, size_t max_lines) {
  size_t pos = log.size();
  for (size_t lines = 0; pos > 0 && lines <= max_lines; --pos)
    if (log[pos - 1] == '\n') ++lines;
  return log.substr(pos);
}

// Compiles in the fresh directory `work`; "" or the reason.
std::string compile_in(const fs::path& work, const LoopSource& source, std::string_view release,
                       const fs::path& headers, LoopKoBuild* result) {
  if (!write_text(work / "loop.c", source.loop_c) || !write_text(work / "Kbuild", kKbuild) ||
      (!source.loop_h.empty() && !write_text(work / "loop.h", source.loop_h)))
    return fmt::format("cannot write into {} (disk full?)", work.string());
  ProcessResult make = run_process(
      {"make", "-s", "-C", headers.string(), "M=" + work.string(), "modules"}, work.string());
  result->log = make.output;
  write_text(work / "build.log", make.output);
  if (!make.started) return "make could not be started: `apt-get install make`";
  if (make.exit_code != 0 || !fs::is_regular_file(work / "loop.ko")) {
    return fmt::format("loop.ko from {} does not compile against {} (make exited {}):\n{}",
                       source.origin, headers.string(), make.exit_code, log_tail(make.output, 20));
  }
  return check_module_for_kernel((work / "loop.ko").string(), release);
}

// Keeps the sources, the log and loop.ko; object files are not needed again.
void drop_intermediates(const fs::path& work) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(work, ec)) {
    const std::string name = e.path().filename().string();
    if (name != "loop.ko" && name != "loop.c" && name != "loop.h" && name != "Kbuild" &&
        name != "build.log")
      fs::remove_all(e.path(), ec);
  }
}

}  // namespace

LoopKoBuild build_loop_ko(const LoopSource& source, std::string_view release,
                          const std::string& headers_dir) {
  const auto started = std::chrono::steady_clock::now();
  LoopKoBuild r;
  auto done = [&]() {
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
  };
  const fs::path headers = headers_dir.empty() ? headers_dir_for(release) : headers_dir;
  if (r.error = check_build_tools(release, headers); !r.error.empty()) return done();
  r.key = build_key(source, release, headers, &r.error);
  if (r.key.empty()) return done();
  const fs::path cache = loop_ko_cache_dir(), final_dir = cache / r.key;
  std::error_code ec;
  r.ko_path = (final_dir / "loop.ko").string();
  if (fs::is_regular_file(r.ko_path, ec)) {
    r.ok = r.cached = true;
    return done();
  }
  fs::create_directories(cache, ec);
  std::string work_template = (cache / ".build-XXXXXX").string();
  if (!mkdtemp(work_template.data())) {
    r.error = fmt::format(
        "cannot create a build directory in {}: {} (set LOOPCHECK_CACHE to a "
        "writable directory)",
        cache.string(), std::strerror(errno));
    return done();
  }
  const fs::path work = work_template;
  r.error = compile_in(work, source, release, headers, &r);
  if (r.error.empty()) {
    drop_intermediates(work);
    fs::rename(work, final_dir, ec);  // fails only when a parallel build of the same key won
  }
  fs::remove_all(work, ec);
  r.ok = r.error.empty() && fs::is_regular_file(r.ko_path, ec);
  if (r.error.empty() && !r.ok) r.error = fmt::format("cannot move the build to {}", r.ko_path);
  return done();
}

}  // namespace loopcheck::vm
