#include "model/profile_registry.h"

#include <fmt/format.h>

#include <deque>
#include <mutex>
#include <set>

#include "model/profile_switches.h"

namespace loopcheck::model {
namespace {

// A registered profile and the strings its string_views point into.
struct Registered {
  std::string name;
  std::string series;
  Profile profile;
};

std::mutex registry_mutex;
std::deque<Registered>& registry() {
  static std::deque<Registered> profiles;  // a deque: elements never move
  return profiles;
}

const Profile* find_locked(std::string_view name) {
  const Profile* newest_in_series = nullptr;
  for (const Registered& r : registry()) {
    if (r.name == name) return &r.profile;
    if (r.series == name) newest_in_series = &r.profile;
  }
  return newest_in_series;
}

// The starting point: the base's switches, or (no base) the default's, every
// one of which the document must then set.
const Profile* base_of(const profile_file::ProfileDocument& d, ProfileLoad& load) {
  if (d.base.empty()) return &kDefaultProfile;
  if (const Profile* base = find_profile(d.base)) return base;
  std::string known;
  for (const Profile* p : kProfiles) known += (known.empty() ? "" : ", ") + std::string(p->name);
  load.errors.push_back(
      fmt::format("{}: base '{}' is not a profile (built-in: {}; or another "
                  "profile file, 'base = \"other.toml\"')",
                  d.path, d.base, known));
  return nullptr;
}

void apply_settings(const profile_file::ProfileDocument& d, Profile& p, ProfileLoad& load) {
  std::set<std::string_view> set_here;
  for (const profile_file::SwitchSetting& s : d.settings) {
    const SwitchInfo* info = find_switch(s.name);
    if (info == nullptr) {
      load.errors.push_back(
          fmt::format("{}: unknown switch '{}' (`loopcheck profiles` lists "
                      "every switch)",
                      s.source, s.name));
      continue;
    }
    if (std::string e = info->apply(p, s.value); !e.empty())
      load.errors.push_back(fmt::format("{}: switch '{}' = {}: {}", s.source, s.name,
                                        profile_file::format_setting(s.value), e));
    set_here.insert(info->name);
  }
  if (!d.base.empty()) return;
  for (const SwitchInfo& info : profile_switches())
    if (!set_here.contains(info.name))
      load.errors.push_back(
          fmt::format("{}: switch '{}' is not set, and a profile without a "
                      "base must set every switch",
                      d.path, info.name));
}

// A document naming an existing profile must agree with it.
void check_same(const profile_file::ProfileDocument& d, const Profile& built,
                const Profile& existing, ProfileLoad& load) {
  for (const std::string& diff : switch_differences(built, existing))
    load.errors.push_back(
        fmt::format("{}: '{}' is already a profile, and this file differs from "
                    "it: {} (file vs existing); rename the file's profile",
                    d.path, d.name, diff));
  if (built.series != existing.series || built.since_patch != existing.since_patch ||
      built.until_patch != existing.until_patch)
    load.errors.push_back(
        fmt::format("{}: '{}' is already a profile, and this file gives it "
                    "another series or point-release range",
                    d.path, d.name));
}

}  // namespace

ProfileLoad register_profile(const profile_file::ProfileDocument& d) {
  ProfileLoad load;
  const Profile* base = base_of(d, load);
  if (base == nullptr) return load;
  Registered r{d.name, d.series, *base};
  apply_settings(d, r.profile, load);
  r.profile.since_patch = d.since_patch;
  r.profile.until_patch = d.until_patch;
  r.profile.name = r.name;
  r.profile.series = r.series;
  if (!load.errors.empty()) return load;
  std::lock_guard lock(registry_mutex);
  const Profile* existing = nullptr;
  for (const Profile* p : kProfiles)
    if (p->name == d.name) existing = p;
  if (existing == nullptr) existing = find_locked(d.name);
  if (existing != nullptr) {
    check_same(d, r.profile, *existing, load);
    if (load.errors.empty()) load.profile = existing;
    return load;
  }
  registry().push_back(std::move(r));
  Registered& stored = registry().back();
  stored.profile.name = stored.name;  // the views follow the strings' new home
  stored.profile.series = stored.series;
  load.profile = &stored.profile;
  return load;
}

std::vector<const Profile*> registered_profiles() {
  std::lock_guard lock(registry_mutex);
  std::vector<const Profile*> out;
  for (const Registered& r : registry()) out.push_back(&r.profile);
  return out;
}

const Profile* find_registered_profile(std::string_view name) {
  std::lock_guard lock(registry_mutex);
  return find_locked(name);
}

std::vector<std::string> switch_differences(const Profile& a, const Profile& b) {
  std::vector<std::string> out;
  for (const SwitchInfo& s : profile_switches())
    if (s.value(a) != s.value(b))
      out.push_back(fmt::format("{} ({} vs {})", s.name, format_switch_value(s.value(a)),
                                format_switch_value(s.value(b))));
  return out;
}

}  // namespace loopcheck::model
