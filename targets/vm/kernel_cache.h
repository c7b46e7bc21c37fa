// Debian kernel packages as VM kernels: listing, fetching with `apt-get download`,
// extracting the kernel image and loop.ko, verifying, and caching per user.
//
// The cache is $LOOPCHECK_CACHE, else $XDG_CACHE_HOME/loopcheck/kernels, else
// ~/.cache/loopcheck/kernels. Each version is a directory VERSION/ holding
// `vmlinuz`, `loop.ko` and `brd.ko` (decompressed: 6.12 packages ship .ko.xz) and
// `VERIFIED`, written last, so a directory without it is never used. A fetch
// builds everything in a staging directory and renames it into place, so an
// interrupted fetch loses nothing and leaves no half-kernel behind.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loopcheck::vm {

// The modules that give the guest a virtio-serial port for the agent's channel,
// in the order they load (each depends only on those before it), and where a
// kernel tree keeps them. The serial line costs ~11 ms per 700-byte round trip
// under TCG, a virtio port ~0.2 ms.
inline constexpr const char* kVirtioChannelModules[] = {"drivers/virtio/virtio_ring.ko",
                                                        "drivers/virtio/virtio.ko",
                                                        "drivers/virtio/virtio_pci_modern_dev.ko",
                                                        "drivers/virtio/virtio_pci_legacy_dev.ko",
                                                        "drivers/virtio/virtio_pci.ko",
                                                        "drivers/char/virtio_console.ko"};

struct KernelFiles {
  std::string version;  // "6.1.0-56-cloud-amd64", i.e. what `uname -r` says in the guest
  std::string vmlinuz;
  std::string loop_ko;  // empty: the kernel has the loop driver built in
  std::string brd_ko;   // empty: the RAM disk driver is built in (CONFIG_BLK_DEV_RAM=y)
  // The agent's channel is a virtio-serial port (the kernel has the virtio console
  // built in, or `channel_modules` carry it); else the emulated serial line, many
  // times slower.
  bool virtio_channel = false;
  std::vector<std::string> channel_modules;  // kVirtioChannelModules, load order; may be empty
  bool image_path = false;  // vmlinuz was named by path (vm:PATH), not a cached Debian kernel
};

std::string kernel_cache_dir();

// Whether VERSION looks like a Debian kernel release (no slashes, no spaces):
// checked before it becomes a path or an apt argument.
bool plausible_kernel_version(std::string_view version);

// The cached, verified kernel `version`; `why` says what is missing when false.
bool cached_kernel(std::string_view version, KernelFiles* files, std::string* why);

// Cached verified versions, in version order.
std::vector<std::string> cached_kernel_versions();

struct InstallableList {
  bool ok = false;
  std::vector<std::string> versions;  // cloud-amd64 kernels apt knows, in version order
  std::string error;
};
// Asks the local apt cache (no network): `apt-cache pkgnames linux-image-`.
InstallableList installable_kernel_versions();

struct FetchResult {
  bool ok = false;
  bool already_cached = false;
  KernelFiles files;
  std::string error;  // names the problem and the fix
};
FetchResult fetch_kernel(std::string_view version);

// Orders versions as `sort -V` does: digit runs numerically, the rest bytewise.
bool version_less(std::string_view a, std::string_view b);

}  // namespace loopcheck::vm
