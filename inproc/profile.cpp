#include "inproc/profile.h"

#include <array>

namespace loopcheck::inproc {
namespace {

constexpr Profile kLinux618{.name = "linux-6.18"};

// Debian's 6.12.y (6.12.100+) carries every stable backport docs/semantics.md §7.2 lists.
constexpr Profile kLinux612{
    .name = "linux-6.12",
    .large_block_sizes_with_thp = false,
    .dio_uses_min_alignment = false,
};

constexpr Profile kLinux61{
    .name = "linux-6.1",
    .deferred_detach = false,
    .iter_sanity_check = false,
    .block_size_checked_first = true,
    .read_past_eof_is_error = false,
    .backing_odirect_honoured_without_dio = true,
    .block_size_zero_is_default = false,
    .set_block_size_claims_bdev = true,  // backported to 6.1.192
    .large_block_sizes_with_thp = false,
    .dio_uses_min_alignment = false,
    .fallocate_unsupported_disables_discard = false,
    .teardown_disables_write_cache = true,
    .backing_reads_check_file_mode = true,
};

constexpr std::array<const Profile*, 3> kProfiles{&kLinux618, &kLinux612, &kLinux61};

}  // namespace

const Profile& default_profile() {
  return kLinux618;
}

const Profile* find_profile(std::string_view name) {
  if (name.empty()) return &kLinux618;
  for (const Profile* p : kProfiles)
    if (p->name == name) return p;
  return nullptr;
}

}  // namespace loopcheck::inproc
