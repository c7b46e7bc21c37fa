// `profile infer` and `profile diff` on real parts: the in-process driver pinned
// to a profile is the target, the conformance corpus is the suite's source, and
// the model under one-switch changes does the explaining.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "inference/profile_diff.h"
#include "inference/profile_inference.h"
#include "inproc/driver_profile_registry.h"
#include "model/profile_registry.h"
#include "targets/inproc/inproc_target.h"
#include "trace/trace_files.h"

namespace loopcheck::inference {
namespace {

const std::vector<Trace>& corpus() {
  static const std::vector<Trace> traces = [] {
    LoadedTraces loaded = load_traces({std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/conformance"});
    EXPECT_TRUE(loaded.ok());
    return loaded.traces;
  }();
  return traces;
}

// The suite tries every value a known profile gives a switch: dragonos.toml
// teaches it EROFS and ENOENT, as `profile infer` loads profiles/ first.
const DiscriminatingSuite& suite_from_618() {
  static const DiscriminatingSuite suite = [] {
    profile_file::DocumentLoad dragonos = profile_file::load_profile_document(
        std::string(LOOPCHECK_SOURCE_DIR) + "/profiles/dragonos.toml");
    EXPECT_TRUE(model::register_profile(dragonos.document).errors.empty());
    return build_suite(corpus(), model::kLinux618, SuiteOptions{});
  }();
  return suite;
}

InferenceResult infer_on_driver(const std::string& driver_profile) {
  inproc::InprocTarget target(driver_profile);
  return infer_profile(target, suite_from_618(), model::kLinux618, InferenceOptions{});
}

TEST(ProfileInference, TheSuiteHoldsATraceForEveryDeferredDetachValue) {
  const DiscriminatingSuite& suite = suite_from_618();
  const auto it =
      std::find_if(suite.discriminators.begin(), suite.discriminators.end(),
                   [](const Discriminator& d) { return d.change.info->name == "deferred_detach"; });
  ASSERT_NE(it, suite.discriminators.end());
  ASSERT_FALSE(it->traces.empty());
  // The trace really tells the two values apart on the model.
  const Trace& t = suite.traces[it->traces[0]];
  EXPECT_NE(first_difference(model_outcomes(t, model::kLinux618),
                             model_outcomes(t, with_change(model::kLinux618, it->change))),
            kAgree);
}

TEST(ProfileInference, TheDriverAs6170IsRecognisedThoughTheBaseIs618) {
  InferenceResult r = infer_on_driver("linux-6.1.70");
  EXPECT_TRUE(model::switch_differences(r.profile, model::kLinux61Before192).empty());
  EXPECT_TRUE(r.unexplained.empty());
  EXPECT_EQ(r.steps_explained, r.steps_recorded);
  EXPECT_GT(r.steps_recorded, 100u);
}

// A driver profile the model has never heard of (registered with the driver
// alone): the search starts from the nearest known profile and finds the two
// switches by single changes, each with the steps that show it.
TEST(ProfileInference, SwitchesNoKnownProfileHasAreFoundOneByOne) {
  profile_file::ProfileDocument doc;
  doc.path = "test";
  doc.name = doc.series = "test-612-erofs-enoent";
  doc.base = "linux-6.12";
  doc.description = "d";
  doc.settings = {{"read_only_write_errno", std::string("EROFS"), "w", "t:1"},
                  {"missing_device_open_errno", std::string("ENOENT"), "w", "t:2"}};
  ASSERT_TRUE(inproc::register_driver_profile(doc).errors.empty());
  InferenceResult r = infer_on_driver(doc.name);
  const std::vector<std::string> diff = model::switch_differences(r.profile, model::kLinux612);
  EXPECT_EQ(diff.size(), 2u) << (diff.empty() ? "" : diff[0]);
  EXPECT_EQ(r.profile.read_only_write_errno, EROFS);
  EXPECT_EQ(r.profile.missing_device_open_errno, ENOENT);
  EXPECT_TRUE(r.unexplained.empty());
  for (const SwitchEvidence& s : r.changed)
    if (s.inferred.info->name == "read_only_write_errno") {
      EXPECT_FALSE(s.evidence.empty());
    }
}

TEST(ProfileDiff, The61PointReleasesDifferInOneSwitchAndItsTraces) {
  ProfileDiff diff = diff_profiles(model::kLinux61Before192, model::kLinux61, corpus());
  ASSERT_EQ(diff.switches.size(), 1u);
  EXPECT_EQ(diff.switches[0].name, "block_size_exclusive_check");
  ASSERT_FALSE(diff.traces.empty());
  for (const TraceDifference& t : diff.traces) {
    EXPECT_NE(t.a, t.b) << t.location;
    EXPECT_EQ(t.switches, std::vector<std::string>{"block_size_exclusive_check"}) << t.location;
  }
  EXPECT_EQ(diff.switches[0].traces.size(), diff.traces.size());
}

TEST(ProfileDiff, AProfileDoesNotDifferFromItself) {
  ProfileDiff diff = diff_profiles(model::kLinux612, model::kLinux612, corpus());
  EXPECT_TRUE(diff.switches.empty());
  EXPECT_TRUE(diff.traces.empty());
  EXPECT_GT(diff.traces_compared, 100u);
}

}  // namespace
}  // namespace loopcheck::inference
