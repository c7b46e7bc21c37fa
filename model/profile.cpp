// Profile lookup by name and by kernel release string.
#include "model/profile.h"

#include <fmt/format.h>

#include <charconv>

#include "model/profile_registry.h"

namespace loopcheck::model {

const Profile* find_profile(std::string_view name) {
  const Profile* newest_in_series = nullptr;
  for (const Profile* p : kProfiles) {
    if (p->name == name) return p;
    if (p->series == name) newest_in_series = p;  // variants come oldest first
  }
  if (newest_in_series) return newest_in_series;
  return find_registered_profile(name);
}

bool pin_admits(std::string_view pin, const Profile& profile) {
  return pin == profile.name || pin == profile.series;
}

std::string point_release(const Profile& profile) {
  if (profile.since_patch == 0) return {};
  std::string_view series = profile.series;
  if (series.starts_with("linux-")) series.remove_prefix(std::string_view("linux-").size());
  return fmt::format("{}.{}", series, profile.since_patch);
}

namespace {
// Parses "MAJOR.MINOR[.PATCH]" at the start of `release`; the rest is ignored.
bool parse_version(std::string_view r, unsigned& major, unsigned& minor, unsigned& patch) {
  const char* b = r.data();
  const char* e = b + r.size();
  auto num = [&](unsigned& out) {
    auto [ptr, ec] = std::from_chars(b, e, out);
    if (ec != std::errc{} || ptr == b) return false;
    b = ptr;
    return true;
  };
  patch = 0;
  if (!num(major) || b == e || *b != '.') return false;
  ++b;
  if (!num(minor)) return false;
  if (b != e && *b == '.') {
    ++b;
    if (!num(patch)) return false;
  }
  return true;
}
}  // namespace

namespace {
// Debian names 6.1.y kernels by ABI, "6.1.0-<abi>-<flavour>"; the upstream point
// release of the first ABI of a step (`apt-cache show linux-image-6.1.0-N-cloud-amd64`).
// An ABI between two rows is at least the lower row's release and below the upper's.
struct DebianAbi {
  unsigned abi;
  unsigned patch;
};
constexpr DebianAbi kDebian61Abis[] = {
    {18, 76}, {47, 170}, {53, 187}, {54, 190}, {55, 192},
};

// The upstream patch level of a Debian "6.1.0-<abi>" release; 0 when unknown
// (older than every row, or not that form).
unsigned debian_61_patch(std::string_view release) {
  std::string_view rest = release.substr(std::string_view("6.1.0").size());
  if (rest.size() < 2 || rest[0] != '-') return 0;
  unsigned abi = 0;
  auto [ptr, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), abi);
  if (ec != std::errc{} || ptr == rest.data() + 1) return 0;
  unsigned patch = 0;
  for (const DebianAbi& row : kDebian61Abis)
    if (abi >= row.abi) patch = row.patch;
  return patch;
}

// The 6.1 variant for an upstream patch level. 6.1.191 has no Debian package and
// was never run, so whether it has the exclusive-owner check is unknown: none.
const Profile* linux_61_variant(unsigned patch) {
  if (patch >= kLinux61.since_patch) return &kLinux61;
  if (patch >= kLinux61Before192.since_patch && patch <= kLinux61Before192.until_patch)
    return &kLinux61Before192;
  return nullptr;
}
}  // namespace

// Each profile describes a range of stable releases; a release outside every
// range (e.g. 6.12.20, which predates several backports) has no profile rather
// than a wrong one. See docs/profiles.md for the ranges.
const Profile* profile_for_release(std::string_view release) {
  unsigned major = 0, minor = 0, patch = 0;
  if (!parse_version(release, major, minor, patch) || major != 6) return nullptr;
  if (minor == 1) return linux_61_variant(patch == 0 ? debian_61_patch(release) : patch);
  if (minor == 12 && patch >= 54) return &kLinux612;  // last loop.c backport (6.12.54)
  if (minor == 18) return &kLinux618;
  return nullptr;
}

std::string no_profile_reason(std::string_view release) {
  unsigned major = 0, minor = 0, patch = 0;
  if (parse_version(release, major, minor, patch) && major == 6 && minor == 1 &&
      (patch == 0 ? debian_61_patch(release) : patch) == 191)
    return "6.1.191 was never run (no Debian package): linux-6.1.70 (before the "
           "LOOP_SET_BLOCK_SIZE exclusive-owner check) or linux-6.1.192 (with it) is unknown";
  return fmt::format("no model profile covers kernel {} (docs/profiles.md lists the ranges)",
                     release);
}

}  // namespace loopcheck::model
