#include "targets/vm/kernel_cache.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <lzma.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "targets/subprocess.h"

namespace loopcheck::vm {
namespace fs = std::filesystem;
namespace {

constexpr const char* kVerifiedMark = "VERIFIED";
// How the cached kernel's guest reaches the host: "virtio-modules" (the chain is
// cached beside it), "virtio-builtin" or "serial".
constexpr const char* kChannelMark = "channel";
constexpr uint64_t kNeededFreeBytes =
    256ull << 20;  // a .deb (~35 MB), its data tar in memory, the outputs
constexpr size_t kMaxModuleBytes = 16u << 20;  // loop.ko is ~100 KB; anything near this is not it

// A verified kernel directory holding every file the guest needs. One fetched
// before brd.ko and the channel mark were kept lacks them: it counts as not
// cached, so a fetch renews it.
bool complete_cache_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / kVerifiedMark, ec) && fs::exists(dir / "brd.ko", ec) &&
         fs::exists(dir / kChannelMark, ec);
}

std::string module_file_name(std::string_view tree_path) {
  return fs::path(tree_path).filename().string();
}

std::string package_name(std::string_view version) {
  return "linux-image-" + std::string(version);
}

bool write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out.flush());
}

// A bzImage carries the "HdrS" boot-protocol magic at offset 0x202.
bool looks_like_bzimage(std::string_view image) {
  return image.size() > 0x206 && image.substr(0x202, 4) == "HdrS";
}

// loop.ko for this exact kernel: an ELF object whose modinfo names the release.
bool module_matches(std::string_view module, std::string_view version, std::string* why) {
  if (module.size() < 4 || module.substr(0, 4) !=
                               "\x7f"
                               "ELF") {
    *why = "a module is not an ELF object";
    return false;
  }
  std::string vermagic = "vermagic=" + std::string(version) + " ";
  if (module.find(vermagic) == std::string_view::npos) {
    *why = fmt::format("a module does not carry '{}'", vermagic);
    return false;
  }
  return true;
}

bool xz_decompress(std::string_view in, std::string* out, std::string* why) {
  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&strm, kMaxModuleBytes * 4, 0) != LZMA_OK) {
    *why = "liblzma: cannot start the decoder";
    return false;
  }
  out->clear();
  std::string chunk(64 * 1024, '\0');
  strm.next_in = reinterpret_cast<const uint8_t*>(in.data());
  strm.avail_in = in.size();
  lzma_ret ret = LZMA_OK;
  while (ret == LZMA_OK) {
    strm.next_out = reinterpret_cast<uint8_t*>(chunk.data());
    strm.avail_out = chunk.size();
    ret = lzma_code(&strm, LZMA_FINISH);
    out->append(chunk.data(), chunk.size() - strm.avail_out);
    if (out->size() > kMaxModuleBytes) break;
  }
  lzma_end(&strm);
  if (ret != LZMA_STREAM_END) {
    *why = fmt::format("liblzma: a .ko.xz module does not decompress (code {})",
                       static_cast<int>(ret));
    return false;
  }
  return true;
}

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveCloser>;

bool read_entry(archive* a, std::string* out) {
  out->clear();
  char buffer[64 * 1024];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buffer, static_cast<size_t>(n));
  }
}

// A .deb is an ar archive whose data.tar.{xz,zst,gz} holds the files.
bool extract_data_tar(const fs::path& deb, std::string* data_tar, std::string* why) {
  ArchivePtr ar(archive_read_new());
  archive_read_support_format_ar(ar.get());
  if (archive_read_open_filename(ar.get(), deb.c_str(), 1 << 16) != ARCHIVE_OK) {
    *why = fmt::format("{}: {}", deb.string(), archive_error_string(ar.get()));
    return false;
  }
  archive_entry* entry = nullptr;
  while (archive_read_next_header(ar.get(), &entry) == ARCHIVE_OK) {
    std::string_view name = archive_entry_pathname(entry);
    if (name.starts_with("data.tar")) {
      if (read_entry(ar.get(), data_tar)) return true;
      *why =
          fmt::format("{}: cannot read {}: {}", deb.string(), name, archive_error_string(ar.get()));
      return false;
    }
  }
  *why = fmt::format("{}: no data.tar member: not a Debian package", deb.string());
  return false;
}

// The files a kernel package gives the guest: the image, the loop driver and the
// RAM disk driver that holds the guest's backing filesystem (brd: a disk in guest
// memory is what lets QEMU snapshot a booted guest; NVMe cannot be migrated).
struct KernelPackageFiles {
  std::string vmlinuz;
  std::string loop_ko;
  std::string brd_ko;
  std::vector<std::string> channel_modules;  // kVirtioChannelModules' bytes, same order
  std::string config;                        // boot/config-VERSION
};

// "virtio-modules" when the package has the whole chain, "virtio-builtin" when
// its config builds the virtio console and PCI transport in (6.12's cloud
// kernels), else "serial".
std::string channel_kind(const KernelPackageFiles& files) {
  bool all_modules = true;
  for (const std::string& m : files.channel_modules) all_modules = all_modules && !m.empty();
  if (all_modules) return "virtio-modules";
  const bool builtin = files.config.find("\nCONFIG_VIRTIO_CONSOLE=y\n") != std::string::npos &&
                       files.config.find("\nCONFIG_VIRTIO_PCI=y\n") != std::string::npos;
  return builtin ? "virtio-builtin" : "serial";
}

// Which of kVirtioChannelModules `name` (a path in the package) is; -1: none.
int channel_module_index(std::string_view name, std::string_view version) {
  const std::string root = "/modules/" + std::string(version) + "/kernel/";
  int i = 0;
  for (const char* m : kVirtioChannelModules) {
    if (name.ends_with(root + m) || name.ends_with(root + m + ".xz")) return i;
    ++i;
  }
  return -1;
}

// Reads the archive's current entry, a module `name` (.ko or .ko.xz), into `out`,
// decompressed.
bool take_module(archive* tar, std::string_view name, std::string* out, std::string* why) {
  if (!read_entry(tar, out)) return false;
  if (!name.ends_with(".xz")) return true;
  std::string compressed = std::move(*out);
  return xz_decompress(compressed, out, why);
}

bool extract_kernel_files(const fs::path& deb, std::string_view version, KernelPackageFiles* files,
                          std::string* why) {
  std::string data_tar;
  if (!extract_data_tar(deb, &data_tar, why)) return false;
  ArchivePtr tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  archive_read_support_filter_all(tar.get());
  if (archive_read_open_memory(tar.get(), data_tar.data(), data_tar.size()) != ARCHIVE_OK) {
    *why = fmt::format("{}: data.tar: {}", deb.string(), archive_error_string(tar.get()));
    return false;
  }
  const std::string image_name = "boot/vmlinuz-" + std::string(version);
  const std::string block_dir = "/modules/" + std::string(version) + "/kernel/drivers/block/";
  archive_entry* entry = nullptr;
  bool read_ok = true;
  files->channel_modules.assign(std::size(kVirtioChannelModules), {});
  while (read_ok && archive_read_next_header(tar.get(), &entry) == ARCHIVE_OK) {
    std::string_view name = archive_entry_pathname(entry);
    if (name.starts_with("./")) name.remove_prefix(2);
    if (name == image_name) {
      read_ok = read_entry(tar.get(), &files->vmlinuz);
    } else if (name == "boot/config-" + std::string(version)) {
      read_ok = read_entry(tar.get(), &files->config);
    } else if (name.ends_with(block_dir + "loop.ko") || name.ends_with(block_dir + "loop.ko.xz")) {
      read_ok = take_module(tar.get(), name, &files->loop_ko, why);
    } else if (name.ends_with(block_dir + "brd.ko") || name.ends_with(block_dir + "brd.ko.xz")) {
      read_ok = take_module(tar.get(), name, &files->brd_ko, why);
    } else if (const int i = channel_module_index(name, version); i >= 0) {
      read_ok = take_module(tar.get(), name, &files->channel_modules[static_cast<size_t>(i)], why);
    }
  }
  if (!read_ok) {
    if (why->empty())
      *why = fmt::format("{}: data.tar: {}", deb.string(), archive_error_string(tar.get()));
    return false;
  }
  if (files->vmlinuz.empty() || files->loop_ko.empty() || files->brd_ko.empty()) {
    *why = fmt::format(
        "{}: holds no{}{}{}", deb.string(), files->vmlinuz.empty() ? " " + image_name : "",
        files->loop_ko.empty() ? " drivers/block/loop.ko (is the loop driver built in?)" : "",
        files->brd_ko.empty() ? " drivers/block/brd.ko (the guest's RAM disk)" : "");
    return false;
  }
  return true;
}

// Splits into alternating digit / non-digit runs.
std::vector<std::string_view> version_chunks(std::string_view v) {
  std::vector<std::string_view> chunks;
  size_t i = 0;
  while (i < v.size()) {
    bool digit = std::isdigit(static_cast<unsigned char>(v[i])) != 0;
    size_t j = i;
    while (j < v.size() && (std::isdigit(static_cast<unsigned char>(v[j])) != 0) == digit) ++j;
    chunks.push_back(v.substr(i, j - i));
    i = j;
  }
  return chunks;
}

}  // namespace

std::string kernel_cache_dir() {
  if (const char* dir = std::getenv("LOOPCHECK_CACHE"); dir && *dir)
    return std::string(dir) + "/kernels";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/loopcheck/kernels";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/loopcheck/kernels";
}

bool plausible_kernel_version(std::string_view version) {
  if (version.empty() || version.size() > 100 ||
      !std::isdigit(static_cast<unsigned char>(version[0])))
    return false;
  return std::all_of(version.begin(), version.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ||
           c == '~' || c == '_';
  });
}

bool cached_kernel(std::string_view version, KernelFiles* files, std::string* why) {
  if (!plausible_kernel_version(version)) {
    *why =
        fmt::format("'{}' is not a kernel version (expected e.g. 6.1.0-56-cloud-amd64)", version);
    return false;
  }
  fs::path dir = fs::path(kernel_cache_dir()) / std::string(version);
  if (!complete_cache_dir(dir)) {
    *why = fmt::format("kernel {} is not in the cache ({}): run `loopcheck kernels fetch {}`",
                       version, kernel_cache_dir(), version);
    return false;
  }
  files->version = version;
  files->vmlinuz = (dir / "vmlinuz").string();
  files->loop_ko = (dir / "loop.ko").string();
  files->brd_ko = (dir / "brd.ko").string();
  std::string channel;
  std::ifstream(dir / kChannelMark) >> channel;
  files->virtio_channel = channel.starts_with("virtio-");
  files->channel_modules.clear();
  if (channel == "virtio-modules") {
    for (const char* m : kVirtioChannelModules)
      files->channel_modules.push_back((dir / module_file_name(m)).string());
  }
  return true;
}

std::vector<std::string> cached_kernel_versions() {
  std::vector<std::string> versions;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(kernel_cache_dir(), ec)) {
    std::string name = e.path().filename().string();
    if (plausible_kernel_version(name) && complete_cache_dir(e.path())) versions.push_back(name);
  }
  std::sort(versions.begin(), versions.end(), version_less);
  return versions;
}

InstallableList installable_kernel_versions() {
  InstallableList list;
  if (!program_in_path("apt-cache")) {
    list.error =
        "apt-cache is not installed: installable kernels come from Debian's apt (run on Debian 12)";
    return list;
  }
  ProcessResult r = run_process({"apt-cache", "pkgnames", "linux-image-"});
  if (!r.started || r.exit_code != 0) {
    list.error = fmt::format("apt-cache pkgnames failed: {}", r.output);
    return list;
  }
  size_t start = 0;
  while (start < r.output.size()) {
    size_t end = r.output.find('\n', start);
    if (end == std::string::npos) end = r.output.size();
    std::string_view name = std::string_view(r.output).substr(start, end - start);
    start = end + 1;
    // Only the VM-sized images whose release apt can download as one package.
    if (!name.starts_with("linux-image-") || !name.ends_with("-cloud-amd64")) continue;
    std::string_view version = name.substr(std::string_view("linux-image-").size());
    // A release has three numbers ("6.12.117+deb12-..."); "6.12-cloud-amd64" is a metapackage.
    size_t dots = 0;
    for (size_t i = 0; i < version.size() &&
                       (std::isdigit(static_cast<unsigned char>(version[i])) || version[i] == '.');
         ++i) {
      dots += version[i] == '.';
    }
    if (plausible_kernel_version(version) && dots == 2) list.versions.emplace_back(version);
  }
  std::sort(list.versions.begin(), list.versions.end(), version_less);
  if (list.versions.empty()) {
    list.error =
        "apt knows no linux-image-*-cloud-amd64 package: run `apt-get update` (as root) first";
    return list;
  }
  list.ok = true;
  return list;
}

namespace {

// Creates the cache directory and checks it has room for one kernel; the error
// text, or "" when it is usable.
std::string prepare_cache_dir(const fs::path& cache) {
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) {
    return fmt::format(
        "cannot create the kernel cache {}: {} (set LOOPCHECK_CACHE to a writable directory)",
        cache.string(), ec.message());
  }
  struct statvfs sv {};
  if (statvfs(cache.c_str(), &sv) == 0 && uint64_t{sv.f_bavail} * sv.f_frsize < kNeededFreeBytes) {
    return fmt::format(
        "not enough disk space in {}: {} MiB free, {} MiB needed (free some space or set "
        "LOOPCHECK_CACHE to another filesystem)",
        cache.string(), uint64_t{sv.f_bavail} * sv.f_frsize >> 20, kNeededFreeBytes >> 20);
  }
  return {};
}

// Downloads the kernel's package into `staging` and leaves there only what the
// cache keeps (vmlinuz, loop.ko, the verified mark), each checked; the error
// text, or "" on success.
std::string download_into(std::string_view version, const fs::path& staging) {
  ProcessResult download =
      run_process({"apt-get", "download", "-q", package_name(version)}, staging.string());
  if (!download.started || download.exit_code != 0) {
    if (download.output.find("Unable to locate package") != std::string::npos ||
        download.output.find("has no installation candidate") != std::string::npos) {
      return fmt::format(
          "there is no Debian package {}: run `apt-get update`, then `loopcheck kernels list` "
          "for the versions that exist",
          package_name(version));
    }
    return fmt::format("apt-get download {} failed: {}", package_name(version), download.output);
  }
  std::error_code ec;
  fs::path deb;
  for (const fs::directory_entry& e : fs::directory_iterator(staging, ec)) {
    if (e.path().extension() == ".deb") deb = e.path();
  }
  if (deb.empty())
    return fmt::format("apt-get download {} produced no .deb", package_name(version));
  KernelPackageFiles files;
  std::string why;
  if (!extract_kernel_files(deb, version, &files, &why)) return why;
  if (!looks_like_bzimage(files.vmlinuz))
    return fmt::format("{}: vmlinuz is not a bzImage", deb.string());
  if (!module_matches(files.loop_ko, version, &why) || !module_matches(files.brd_ko, version, &why))
    return fmt::format("{}: {}", deb.string(), why);
  const std::string channel = channel_kind(files);
  for (size_t i = 0; channel == "virtio-modules" && i < files.channel_modules.size(); ++i) {
    if (!module_matches(files.channel_modules[i], version, &why))
      return fmt::format("{}: {}", deb.string(), why);
    if (!write_file(staging / module_file_name(kVirtioChannelModules[i]), files.channel_modules[i]))
      return fmt::format("cannot write into {} (disk full?)", staging.string());
  }
  if (!write_file(staging / kChannelMark, channel + "\n"))
    return fmt::format("cannot write into {} (disk full?)", staging.string());
  fs::remove(deb, ec);
  if (!write_file(staging / "vmlinuz", files.vmlinuz) ||
      !write_file(staging / "loop.ko", files.loop_ko) ||
      !write_file(staging / "brd.ko", files.brd_ko) ||
      !write_file(staging / kVerifiedMark, fmt::format("{}\n", package_name(version)))) {
    return fmt::format("cannot write into {} (disk full?)", staging.string());
  }
  return {};
}

}  // namespace

FetchResult fetch_kernel(std::string_view version) {
  FetchResult result;
  std::string why;
  if (!plausible_kernel_version(version)) {
    result.error = fmt::format(
        "'{}' is not a kernel version (expected e.g. 6.1.0-56-cloud-amd64 or "
        "6.12.117+deb12-cloud-amd64; see `loopcheck kernels list`)",
        version);
    return result;
  }
  if (!version.ends_with("-amd64")) {
    // apt-get reads a name with dots as a pattern: "linux-image-6.1.0-47" picks
    // some linux-image-6.1.0-47-* package (an rt-amd64-dbg one has no vmlinuz).
    result.error = fmt::format(
        "'{}' names no kernel flavour, and apt would match it as a pattern: use the full name, "
        "e.g. {}-cloud-amd64 (`loopcheck kernels list`)",
        version, version);
    return result;
  }
  if (cached_kernel(version, &result.files, &why)) {
    result.ok = result.already_cached = true;
    return result;
  }
  if (!program_in_path("apt-get")) {
    result.error =
        "apt-get is not installed: kernels are fetched as Debian packages (run on Debian 12, or "
        "copy "
        "a fetched VERSION/ directory into " +
        kernel_cache_dir() + ")";
    return result;
  }
  fs::path cache = kernel_cache_dir();
  result.error = prepare_cache_dir(cache);
  if (!result.error.empty()) return result;
  // Staging next to the final place, so the last step is an atomic rename.
  std::string staging_template = (cache / ".fetch-XXXXXX").string();
  if (!mkdtemp(staging_template.data())) {
    result.error = fmt::format("cannot create a staging directory in {}: {}", cache.string(),
                               std::strerror(errno));
    return result;
  }
  fs::path staging = staging_template;
  std::error_code ec;
  auto fail = [&](std::string message) {
    fs::remove_all(staging, ec);
    result.error = std::move(message);
    return result;
  };
  if (std::string error = download_into(version, staging); !error.empty()) return fail(error);
  fs::path final_dir = cache / std::string(version);
  fs::remove_all(final_dir, ec);  // an unverified leftover; a verified one returned above
  fs::rename(staging, final_dir, ec);
  if (ec)
    return fail(fmt::format("cannot move {} to {}: {}", staging.string(), final_dir.string(),
                            ec.message()));
  result.ok = cached_kernel(version, &result.files, &why);
  if (!result.ok) result.error = why;
  return result;
}

bool version_less(std::string_view a, std::string_view b) {
  std::vector<std::string_view> ca = version_chunks(a), cb = version_chunks(b);
  for (size_t i = 0; i < std::min(ca.size(), cb.size()); ++i) {
    std::string_view x = ca[i], y = cb[i];
    bool digits = std::isdigit(static_cast<unsigned char>(x[0])) &&
                  std::isdigit(static_cast<unsigned char>(y[0]));
    if (digits) {
      while (x.size() > 1 && x[0] == '0') x.remove_prefix(1);
      while (y.size() > 1 && y[0] == '0') y.remove_prefix(1);
      if (x.size() != y.size()) return x.size() < y.size();
    }
    if (x != y) return x < y;
  }
  return ca.size() < cb.size();
}

}  // namespace loopcheck::vm
