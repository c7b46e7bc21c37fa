// The random trace generator: valid, deterministic, seed-sensitive, and every
// trace it writes runs on the model under every profile without breaking an
// invariant.
#include <gtest/gtest.h>

#include "fuzz/generator.h"
#include "oracle/lockstep.h"
#include "trace/parse.h"
#include "trace/print.h"

namespace loopcheck {
namespace {

TEST(Generator, TracesParseBackToThemselves) {
  for (const model::Profile* profile : model::kProfiles) {
    for (uint64_t i = 0; i < 300; ++i) {
      Trace t = generate_trace(GenOptions{7, 24, profile}, i);
      std::string text = print_trace(t);
      ParseResult parsed = parse_trace(text, "gen");
      ASSERT_TRUE(parsed.ok()) << parsed.errors.front().format() << "\n" << text;
      EXPECT_EQ(print_trace(parsed.trace), text);
    }
  }
}

TEST(Generator, SameSeedSameBytesOtherSeedOtherBytes) {
  GenOptions a{42, 24, &model::kLinux618};
  EXPECT_EQ(print_trace(generate_trace(a, 3)), print_trace(generate_trace(a, 3)));
  GenOptions b{43, 24, &model::kLinux618};
  EXPECT_NE(print_trace(generate_trace(a, 3)), print_trace(generate_trace(b, 3)));
  EXPECT_NE(print_trace(generate_trace(a, 3)), print_trace(generate_trace(a, 4)));
}

TEST(Generator, TracesKeepModelInvariantsAndEndClean) {
  for (const model::Profile* profile : model::kProfiles) {
    for (uint64_t i = 0; i < 200; ++i) {
      Trace t = generate_trace(GenOptions{11, 24, profile}, i);
      Lockstep lockstep(*profile, t.env, t.objects, nullptr);
      for (const Statement& stmt : t.stmts) {
        lockstep.step(stmt, false);
        std::string why;
        ASSERT_TRUE(model::check_invariants(lockstep.model_state(), *profile, t.env, &why))
            << why << "\n"
            << print_trace(t);
      }
      // The cleanup tail leaves no device bound and no file description open.
      const model::State& end = lockstep.model_state();
      for (uint8_t d = 0; d < end.device_count; ++d) {
        EXPECT_EQ(end.devices[d].state, model::DevState::Unbound) << print_trace(t);
      }
      for (const model::Desc& desc : end.descs)
        EXPECT_EQ(desc.kind, model::DescKind::None) << print_trace(t);
    }
  }
}

}  // namespace
}  // namespace loopcheck
