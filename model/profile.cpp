// Profile lookup by name and by kernel release string.
#include "model/profile.h"

#include <charconv>

namespace loopcheck::model {

const Profile* find_profile(std::string_view name) {
  for (const Profile* p : kProfiles)
    if (p->name == name) return p;
  return nullptr;
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

// Each profile describes a range of stable releases; a release outside every
// range (e.g. 6.12.20, which predates several backports) has no profile rather
// than a wrong one. See docs/profiles.md for the ranges.
const Profile* profile_for_release(std::string_view release) {
  unsigned major = 0, minor = 0, patch = 0;
  if (!parse_version(release, major, minor, patch) || major != 6) return nullptr;
  if (minor == 1 && patch >= 70) return &kLinux61;  // max_loop change (6.1.70)
  if (minor == 1 && patch == 0) {
    // Debian names 6.1.y kernels by ABI: "6.1.0-<abi>-<flavour>"; ABI 18 is 6.1.76,
    // the first past 6.1.70.
    unsigned abi = 0;
    std::string_view rest = release.substr(std::string_view("6.1.0").size());
    if (rest.size() > 1 && rest[0] == '-') {
      auto [ptr, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), abi);
      if (ec == std::errc{} && ptr != rest.data() + 1 && abi >= 18) return &kLinux61;
    }
    return nullptr;
  }
  if (minor == 12 && patch >= 54) return &kLinux612;  // last loop.c backport (6.12.54)
  if (minor == 18) return &kLinux618;
  return nullptr;
}

}  // namespace loopcheck::model
