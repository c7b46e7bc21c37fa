#include "targets/vm/boot_spec.h"

#include <fmt/format.h>

#include <filesystem>
#include <utility>

#include "targets/vm/kernel_identity.h"

namespace loopcheck::vm {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxImageBytes = 256u << 20;  // a bzImage is ~8 MB; this is not one

LoopDriverChoice& process_choice() {
  static LoopDriverChoice choice;
  return choice;
}

// The bzImage at `path` as KernelFiles, its release read from the image.
ResolvedKernel image_kernel(std::string_view path) {
  ResolvedKernel r;
  std::string bytes, why, release;
  if (!read_small_file(std::string(path), kMaxImageBytes, &bytes, &why)) {
    r.error = fmt::format(
        "kernel image: {} (pass vm:PATH/TO/bzImage, e.g. "
        "vm:arch/x86/boot/bzImage from a kernel tree)",
        why);
    return r;
  }
  if (!bzimage_release(bytes, &release, &why)) {
    r.error = fmt::format(
        "{}: {}; pass the bzImage (arch/x86/boot/bzImage or /boot/vmlinuz-*), "
        "not vmlinux or a compressed copy",
        path, why);
    return r;
  }
  if (!plausible_kernel_version(release)) {
    r.error = fmt::format("{}: its version string '{}' is not a kernel release", path, release);
    return r;
  }
  r.files.version = release;
  r.files.vmlinuz = fs::absolute(std::string(path)).string();
  r.files.image_path = true;
  r.ok = true;
  return r;
}

// The module the choice names, or "" for "no override"; sets `error` on failure.
std::string chosen_module(const LoopDriverChoice& choice, std::string_view release,
                          std::string* error) {
  if (!choice.loop_ko.empty() && !choice.modules_dir.empty()) {
    *error = "--loop-ko and --modules both name a loop driver: pass one of them";
    return {};
  }
  if (!choice.loop_ko.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(choice.loop_ko, ec)) {
      *error = fmt::format(
          "--loop-ko {}: no such file (build one with `loopcheck loop-ko "
          "build --kernel {} --source DIR`)",
          choice.loop_ko, release);
      return {};
    }
    return fs::absolute(choice.loop_ko).string();
  }
  if (choice.modules_dir.empty()) return {};
  std::string why;
  std::string found = find_loop_module(choice.modules_dir, release, &why);
  if (found.empty()) *error = "--modules " + choice.modules_dir + ": " + why;
  return found;
}

// The first uncompressed module among module_candidates(); "" when none is there.
std::string find_module_file(const std::string& dir, std::string_view release,
                             std::string_view tree_path) {
  std::error_code ec;
  for (const fs::path& c : module_candidates(dir, release, tree_path))
    if (fs::is_regular_file(c, ec)) return fs::absolute(c).string();
  return {};
}

// The virtio console chain from a modules tree: all of kVirtioChannelModules, or
// none (the kernel has them built in, or lacks them: the serial line serves).
std::vector<std::string> find_channel_modules(const std::string& dir, std::string_view release) {
  std::vector<std::string> found;
  for (const char* m : kVirtioChannelModules) {
    std::string path = find_module_file(dir, release, m);
    if (path.empty()) return {};
    found.push_back(std::move(path));
  }
  return found;
}

// Where a kernel named by path keeps its other modules: the --modules tree, else
// the image's own directory (a copied kernel cache entry) and, for a build tree's
// arch/x86/boot/bzImage, that tree.
std::vector<std::string> guest_module_dirs(std::string_view image, const LoopDriverChoice& choice) {
  if (!choice.modules_dir.empty()) return {choice.modules_dir};
  const fs::path dir = fs::absolute(fs::path(image)).parent_path();
  std::vector<std::string> dirs = {dir.string()};
  if (dir.filename() == "boot" && dir.parent_path().filename() == "x86")
    dirs.push_back(dir.parent_path().parent_path().parent_path().string());
  return dirs;
}

// brd.ko and the virtio console chain of a kernel named by path, from the first
// place that has each; none found: the driver must be built in (the agent says
// so if the RAM disk is missing; the channel falls back to the serial line).
void take_guest_modules(std::string_view image, const LoopDriverChoice& choice,
                        KernelFiles* files) {
  for (const std::string& dir : guest_module_dirs(image, choice)) {
    if (files->brd_ko.empty())
      files->brd_ko = find_module_file(dir, files->version, "drivers/block/brd.ko");
    if (files->channel_modules.empty())
      files->channel_modules = find_channel_modules(dir, files->version);
  }
  files->virtio_channel = !files->channel_modules.empty();
}

}  // namespace

std::vector<fs::path> module_candidates(const fs::path& root, std::string_view release,
                                        std::string_view tree_path) {
  const fs::path in_tree(tree_path);
  return {root / in_tree.filename(), root / in_tree, root / "kernel" / in_tree,
          root / "lib/modules" / std::string(release) / "kernel" / in_tree};
}

void set_loop_driver_choice(LoopDriverChoice choice) {
  process_choice() = std::move(choice);
}

const LoopDriverChoice& loop_driver_choice() {
  return process_choice();
}

bool is_kernel_image_path(std::string_view spec) {
  return spec.find('/') != std::string_view::npos;
}

std::string find_loop_module(const std::string& dir, std::string_view release, std::string* why) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    *why = "no such directory (pass the modules tree, e.g. /lib/modules/RELEASE)";
    return {};
  }
  const std::vector<fs::path> candidates = module_candidates(dir, release, "drivers/block/loop.ko");
  for (const fs::path& c : candidates) {
    if (fs::is_regular_file(c, ec)) return fs::absolute(c).string();
  }
  for (const fs::path& c : candidates) {
    for (const char* ext : {".xz", ".zst", ".gz"}) {
      if (fs::is_regular_file(c.string() + ext, ec)) {
        *why = fmt::format(
            "only a compressed {}{} is there: decompress it (e.g. `xz -dk`, "
            "`zstd -d`) and pass --loop-ko with the .ko",
            c.string(), ext);
        return {};
      }
    }
  }
  *why = fmt::format(
      "holds no loop.ko (looked for loop.ko, drivers/block/loop.ko, "
      "kernel/drivers/block/loop.ko, lib/modules/{}/kernel/drivers/block/loop.ko); "
      "if the kernel has the loop driver built in, leave --modules out",
      release);
  return {};
}

ResolvedKernel resolve_vm_kernel(std::string_view spec, const LoopDriverChoice& choice) {
  ResolvedKernel r;
  if (is_kernel_image_path(spec)) {
    r = image_kernel(spec);
    if (!r.ok) return r;
  } else if (!cached_kernel(spec, &r.files, &r.error)) {
    return r;
  }
  std::string module = chosen_module(choice, r.files.version, &r.error);
  if (!r.error.empty()) {
    r.ok = false;
    return r;
  }
  if (!module.empty()) r.files.loop_ko = module;
  if (r.files.image_path) take_guest_modules(spec, choice, &r.files);
  if (!r.files.loop_ko.empty()) {
    r.error = check_module_for_kernel(r.files.loop_ko, r.files.version);
    if (!r.error.empty()) {
      r.ok = false;
      return r;
    }
  }
  r.ok = true;
  return r;
}

}  // namespace loopcheck::vm
