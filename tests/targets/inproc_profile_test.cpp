// The driver's profile table (inproc/driver_profile.h) and the model's
// (model/profile.h) are separate definitions on purpose, but a switch for the
// same kernel fact has the same name on both sides. Each comparison below
// names a field on both structs, so renaming a switch on one side only stops
// this test from compiling, and a value that drifts on one side fails it.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "inproc/driver_profile.h"
#include "inproc/driver_profile_registry.h"
#include "model/profile.h"
#include "model/profile_registry.h"
#include "profile_file/profile_document.h"
#include "tests/support/field_count.h"

namespace loopcheck {
namespace {

struct Switch {
  std::string_view name;
  bool (*same)(const model::Profile&, const inproc::DriverProfile&);
};

#define SAME_SWITCH(field)                                                                         \
  Switch {                                                                                         \
#field,                                                                                        \
        [](const model::Profile& m, const inproc::DriverProfile& d) { return m.field == d.field; } \
  }

// The two DioRule enums are distinct types; they agree when the same rule is chosen.
bool same_dio_rule(const model::Profile& m, const inproc::DriverProfile& d) {
  return (m.dio_rule == model::DioRule::MinDioAlign) ==
         (d.dio_rule == inproc::DioRule::MinDioAlign);
}

const std::vector<Switch>& shared_switches() {
  static const std::vector<Switch> kSwitches{
      SAME_SWITCH(deferred_detach),
      SAME_SWITCH(rw_iter_sanity_check),
      SAME_SWITCH(configure_block_size_early),
      SAME_SWITCH(block_size_arg_bits),
      SAME_SWITCH(block_size_exclusive_check),
      SAME_SWITCH(large_block_sizes),
      Switch{"dio_rule", same_dio_rule},
      SAME_SWITCH(dio_reenabled_by_reconfigure),
      SAME_SWITCH(set_dio_reevaluates_first),
      SAME_SWITCH(failed_set_block_size_updates_dio),
      SAME_SWITCH(created_rotational),
      SAME_SWITCH(rotational_follows_lower_device),
      SAME_SWITCH(rotational_bind_raises_readahead),
      SAME_SWITCH(partscan_rescan_caches_table),
      SAME_SWITCH(read_past_backing_eof_is_eio),
      SAME_SWITCH(discard_disabled_on_eopnotsupp),
      SAME_SWITCH(discard_range_validated_first),
      SAME_SWITCH(discard_limits_at_set_block_size),
      SAME_SWITCH(backing_io_checks_file_mode),
      SAME_SWITCH(write_cache_cleared_on_teardown),
      SAME_SWITCH(set_block_size_validated_first),
      SAME_SWITCH(default_block_size_follows_dio_flag),
      SAME_SWITCH(backing_odirect_honoured_without_dio),
      SAME_SWITCH(unaligned_bios_refused),
      SAME_SWITCH(bind_rescans_at_next_open),
      SAME_SWITCH(odirect_file_write_partial),
      SAME_SWITCH(request_status_einval),
      SAME_SWITCH(bind_fsyncs_backing),
      SAME_SWITCH(unbound_io_errno),
      SAME_SWITCH(read_only_write_errno),
      SAME_SWITCH(io_past_capacity_errno),
      SAME_SWITCH(missing_device_open_errno),
  };
  return kSwitches;
}

#undef SAME_SWITCH

// Kernel facts the driver follows and the model does not name yet (model gaps
// found on real kernels): none today. One added to the driver alone is counted
// here, with the kernel evidence, until the model gets its twin.
constexpr size_t kDriverOnlySwitches = 0;

using testing_support::field_count;

TEST(InprocProfile, EverySwitchTheDriverHasIsComparedWithTheModelsOfTheSameName) {
  // `name` plus one field per switch: a switch added to the driver without a
  // model twin in the list above (or a named model gap) fails here.
  EXPECT_EQ(field_count<inproc::DriverProfile>(),
            1 + shared_switches().size() + kDriverOnlySwitches);
}

// 6.1.192 turned the EINVAL of a misaligned backing retry into EIO; 6.12.117 and
// 6.18.44 passed it on (dio_write_only_backing_cut_eof).
TEST(InprocProfile, RequestEinvalStatusFromTheBlockLayerOf611On) {
  EXPECT_FALSE(inproc::find_profile("linux-6.1.70")->request_status_einval);
  EXPECT_FALSE(inproc::find_profile("linux-6.1.192")->request_status_einval);
  EXPECT_TRUE(inproc::find_profile("linux-6.12")->request_status_einval);
  EXPECT_TRUE(inproc::find_profile("linux-6.18")->request_status_einval);
}

// 6.1.192 read and wrote the partial last block of a device; 6.18.44 refused it.
TEST(InprocProfile, PartialLastBlockUnusableFrom612On) {
  EXPECT_FALSE(inproc::find_profile("linux-6.1.70")->unaligned_bios_refused);
  EXPECT_FALSE(inproc::find_profile("linux-6.1.192")->unaligned_bios_refused);
  EXPECT_TRUE(inproc::find_profile("linux-6.12")->unaligned_bios_refused);
  EXPECT_TRUE(inproc::find_profile("linux-6.18")->unaligned_bios_refused);
}

// The same profile file configures the driver through the driver's own switch
// table: each built-in file yields the compiled driver profile, and dragonos.toml
// a driver whose switches match the model's dragonos in every shared switch.
TEST(InprocProfile, ProfileFilesConfigureTheDriverAsTheyConfigureTheModel) {
  const std::string dir = std::string(LOOPCHECK_SOURCE_DIR) + "/profiles/";
  for (const model::Profile* m : model::kProfiles) {
    profile_file::DocumentLoad doc =
        profile_file::load_profile_document(dir + std::string(m->name) + ".toml");
    ASSERT_TRUE(doc.errors.empty()) << m->name;
    inproc::DriverProfileLoad d = inproc::register_driver_profile(doc.document);
    ASSERT_TRUE(d.errors.empty()) << d.errors.front();
    EXPECT_EQ(d.profile, inproc::find_profile(m->name));
  }
  profile_file::DocumentLoad doc = profile_file::load_profile_document(dir + "dragonos.toml");
  ASSERT_TRUE(doc.errors.empty());
  model::ProfileLoad m = model::register_profile(doc.document);
  inproc::DriverProfileLoad d = inproc::register_driver_profile(doc.document);
  ASSERT_TRUE(m.errors.empty() && d.errors.empty());
  EXPECT_TRUE(d.not_implemented.empty());
  EXPECT_EQ(inproc::find_profile("dragonos"), d.profile);
  for (const Switch& s : shared_switches())
    EXPECT_TRUE(s.same(*m.profile, *d.profile)) << "dragonos: " << s.name << " differs";
  EXPECT_EQ(d.profile->read_only_write_errno, EROFS);
}

TEST(InprocProfile, EveryModelProfileHasADriverProfileOfTheSameName) {
  for (const model::Profile* m : model::kProfiles) {
    const inproc::DriverProfile* d = inproc::find_profile(m->name);
    ASSERT_NE(d, nullptr) << m->name;
    EXPECT_EQ(d->name, m->name);
  }
  EXPECT_EQ(inproc::default_profile().name, model::kDefaultProfile.name);
  EXPECT_EQ(inproc::find_profile("linux-5.10"), nullptr);
}

TEST(InprocProfile, SwitchesWithTheSameNameHaveTheSameValueInEveryProfile) {
  for (const model::Profile* m : model::kProfiles) {
    const inproc::DriverProfile* d = inproc::find_profile(m->name);
    ASSERT_NE(d, nullptr) << m->name;
    for (const Switch& s : shared_switches()) {
      EXPECT_TRUE(s.same(*m, *d)) << m->name << ": " << s.name << " differs";
    }
  }
}

// A series name means its newest variant in both tables, and the two 6.1 variants
// differ in the point-release switch alone (7e49538288e5, in 6.1.192 not 6.1.190).
TEST(InprocProfile, SeriesNamesAndThe61PointReleaseVariantsAgree) {
  for (const model::Profile* m : model::kProfiles) {
    const inproc::DriverProfile* d = inproc::find_profile(m->series);
    ASSERT_NE(d, nullptr) << m->series;
    EXPECT_EQ(d->name, model::find_profile(m->series)->name);
  }
  const inproc::DriverProfile* after = inproc::find_profile("linux-6.1.192");
  ASSERT_NE(after, nullptr);
  EXPECT_FALSE(inproc::find_profile("linux-6.1.70")->block_size_exclusive_check);
  std::vector<std::string> differing;
  for (const Switch& s : shared_switches())
    if (!s.same(model::kLinux61Before192, *after)) differing.emplace_back(s.name);
  EXPECT_EQ(differing, (std::vector<std::string>{"block_size_exclusive_check"}));
}

// The comparison itself must be able to fail: a driver profile with one switch
// flipped is caught, whichever switch it is.
TEST(InprocProfile, AFlippedSwitchIsCaught) {
  const model::Profile& m = model::kLinux61;
  inproc::DriverProfile d = *inproc::find_profile(m.name);
  d.read_past_backing_eof_is_eio = !d.read_past_backing_eof_is_eio;
  d.dio_rule = d.dio_rule == inproc::DioRule::MinDioAlign ? inproc::DioRule::BackingBdev
                                                          : inproc::DioRule::MinDioAlign;
  std::vector<std::string> differing;
  for (const Switch& s : shared_switches())
    if (!s.same(m, d)) differing.emplace_back(s.name);
  EXPECT_EQ(differing, (std::vector<std::string>{"dio_rule", "read_past_backing_eof_is_eio"}));
}

}  // namespace
}  // namespace loopcheck
