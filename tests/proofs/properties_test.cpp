// Every property under every profile gives its documented result with the real
// arithmetic, and every counterexample Z3 reports is a real one: re-run natively
// through the same templates at uint64_t, it violates the property too.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "model/arith.h"
#include "model/profile.h"
#include "proofs/prover.h"

namespace loopcheck::proofs {
namespace {

constexpr unsigned kTimeoutMs =
    60000;  // generous: a timeout is a failure here, not a flake to hide

std::vector<ProfilePair> all_profiles() {
  std::vector<ProfilePair> pairs;
  for (const model::Profile* p : model::kProfiles) pairs.push_back(profile_pair(p->name));
  return pairs;
}

// ctest runs every TEST in its own process, so only the test that needs all
// verdicts pays for them; the others prove the one property they look at.
Verdict verdict(std::string_view profile, std::string_view property) {
  const Property* p = find_property(property);
  EXPECT_NE(p, nullptr) << property;
  if (!p) return {};
  return prove(*p, profile_pair(profile), real_subjects(), kTimeoutMs);
}

std::map<std::string, uint64_t> numbers(const Verdict& v) {
  std::map<std::string, uint64_t> values;
  for (const auto& [name, text] : v.counterexample)
    values[name] = text == "true" ? 1 : text == "false" ? 0 : std::stoull(text);
  return values;
}

TEST(ProofsProperties, EveryProfilePairsModelAndDriver) {
  for (const ProfilePair& p : all_profiles()) {
    ASSERT_NE(p.model, nullptr);
    ASSERT_NE(p.driver, nullptr);
    EXPECT_EQ(p.model->name, p.driver->name);
  }
  EXPECT_EQ(profile_pair("linux-5.4").model, nullptr);
}

TEST(ProofsProperties, EveryResultIsTheDocumentedOne) {
  const std::vector<Verdict> all =
      prove_all(all_profiles(), properties(), real_subjects(), kTimeoutMs);
  ASSERT_EQ(all.size(), properties().size() * std::size(model::kProfiles));
  for (const Verdict& v : all) {
    EXPECT_TRUE(v.as_expected()) << v.profile << " " << v.property << ": " << result_name(v.result)
                                 << ", expected " << result_name(v.expected) << " "
                                 << v.unknown_reason;
    EXPECT_EQ(v.result == Result::Counterexample, !v.counterexample.empty()) << v.property;
  }
}

TEST(ProofsProperties, TheDocumentedCounterexamplesAreThere) {
  // The facts of Linux the proofs must show, not hide. (That the aligned geometry
  // then proves whole blocks is checked with everything else above.)
  EXPECT_EQ(verdict("linux-6.1", "model.block-size-argument-kept").result, Result::Proved);
  EXPECT_EQ(verdict("linux-6.12", "model.block-size-argument-kept").result, Result::Counterexample);
  EXPECT_EQ(verdict("linux-6.18", "model.block-size-argument-kept").result, Result::Counterexample);
  for (const model::Profile* p : model::kProfiles) {
    EXPECT_EQ(verdict(p->name, "model.whole-blocks.any-geometry").result, Result::Counterexample);
    EXPECT_EQ(verdict(p->name, "model.whole-blocks.aligned-offset-sizelimit").result,
              Result::Counterexample);
  }
}

TEST(ProofsProperties, TruncationCounterexampleHoldsWhenRunNatively) {
  for (std::string_view name : {"linux-6.12", "linux-6.18"}) {
    const Verdict& v = verdict(name, "model.block-size-argument-kept");
    ASSERT_EQ(v.result, Result::Counterexample);
    auto in = numbers(v);
    const auto rule = model::arith::block_size_rule(*model::find_profile(name), in.at("thp") != 0);
    const auto choice =
        model::arith::choose_block_size<uint64_t>(in.at("arg"), rule, in.at("default_block_size"));
    EXPECT_TRUE(choice.accepted) << name;
    EXPECT_NE(in.at("arg"), 0u);
    EXPECT_NE(choice.value, in.at("arg"))
        << name << ": the accepted block size is not the argument";
    EXPECT_GT(in.at("arg"), uint64_t{0xffffffff}) << "only bits above 32 can be lost";
  }
}

TEST(ProofsProperties, PartialLastBlockCounterexamplesHoldWhenRunNatively) {
  for (const model::Profile* p : model::kProfiles) {
    for (std::string_view property :
         {"model.whole-blocks.any-geometry", "model.whole-blocks.aligned-offset-sizelimit"}) {
      const Verdict& v = verdict(p->name, property);
      ASSERT_EQ(v.result, Result::Counterexample) << property;
      auto in = numbers(v);
      const uint64_t bs = in.at("block_size");
      ASSERT_TRUE(model::arith::valid_block_size<uint64_t>(bs, 65536)) << bs;
      ASSERT_TRUE(model::arith::offsets_fit_loff_t<uint64_t>(in.at("offset"), in.at("sizelimit")));
      const uint64_t cap = model::arith::capacity_sectors<uint64_t>(
          in.at("backing_bytes"), in.at("offset"), in.at("sizelimit"));
      const uint64_t cap_bytes = model::arith::device_bytes<uint64_t>(cap);
      const bool straddles = in.at("device_byte") % bs == 0 && in.at("device_byte") < cap_bytes &&
                             in.at("device_byte") + bs > cap_bytes;
      EXPECT_TRUE(cap_bytes % bs != 0 || straddles)
          << p->name << " " << property << ": capacity " << cap;
      if (property == "model.whole-blocks.aligned-offset-sizelimit") {
        EXPECT_EQ(in.at("offset") % bs, 0u);
        EXPECT_EQ(in.at("sizelimit") % bs, 0u);
      }
    }
  }
}

TEST(ProofsProperties, CounterexamplesAreSmallWhereSmallOnesExist) {
  // The partial-block counterexamples need no big numbers; a reader checks them by hand.
  const Verdict& v = verdict("linux-6.18", "model.whole-blocks.any-geometry");
  for (const auto& [name, value] : numbers(v)) EXPECT_LE(value, uint64_t{1} << 20) << name;
}

TEST(ProofsProperties, SameQueryIsAnsweredOnceAndSaysSo) {
  // Capacity arithmetic is the same in every profile; block-size rules are not.
  const std::vector<Property> chosen{*find_property("model.capacity-within-sizelimit"),
                                     *find_property("model.block-size-set")};
  const std::vector<Verdict> all = prove_all(all_profiles(), chosen, real_subjects(), kTimeoutMs);
  // Profile-major: (capacity, block size) for 6.1.70, 6.1.192, 6.12, 6.18.
  ASSERT_EQ(all.size(), 8u);
  EXPECT_EQ(all[0].profile, "linux-6.1.70");
  EXPECT_TRUE(all[0].same_query_as.empty());
  EXPECT_TRUE(all[1].same_query_as.empty());
  EXPECT_EQ(all[2].property, "model.capacity-within-sizelimit");
  EXPECT_EQ(all[2].same_query_as, "linux-6.1.70");
  EXPECT_EQ(all[3].same_query_as, "linux-6.1.70")
      << "the 6.1 point releases differ in an ownership check, not in arithmetic";
  EXPECT_EQ(all[4].same_query_as, "linux-6.1.70");
  EXPECT_EQ(all[6].same_query_as, "linux-6.1.70");
  EXPECT_TRUE(all[5].same_query_as.empty()) << "6.12 keeps 32 bits of the argument, 6.1 all 64";
  EXPECT_TRUE(all[7].same_query_as.empty()) << "6.18 allows 64 KiB blocks, 6.12 does not";
  for (const Verdict& v : all)
    EXPECT_EQ(v.result, Result::Proved) << v.profile << " " << v.property;
}

}  // namespace
}  // namespace loopcheck::proofs
