// The fuzz decoder, mutator and runner: every byte string decodes to a valid
// program that prints as a trace the parser accepts; decoding and mutation are
// deterministic and stay within their bounds; the runner reports a planted
// divergence with the right signature.
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include "fuzz/decode.h"
#include "fuzz/exec.h"
#include "fuzz/libfuzzer_runner.h"
#include "fuzz/mutate.h"
#include "fuzz/prng.h"
#include "trace/ops.h"
#include "trace/parse.h"
#include "trace/print.h"

namespace loopcheck::fuzz {
namespace {

std::vector<uint8_t> random_bytes(Prng& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng.next());
  return v;
}

TEST(FuzzDecode, EveryByteStringDecodesToATraceThatParsesAndRoundTrips) {
  Prng rng(20261121);
  Program program;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bytes = random_bytes(rng, rng.below(kMaxInputBytes + 64));
    decode(bytes, program);
    ASSERT_LE(program.count, kMaxStatements);
    ASSERT_EQ(program.count,
              std::min((bytes.size() > 0 ? bytes.size() - 1 : 0) / kRecordBytes, kMaxStatements));
    const std::string text = print_trace(to_trace(program));
    ParseResult parsed = parse_trace(text, "decoded");
    ASSERT_TRUE(parsed.ok()) << parsed.errors[0].format() << "\n" << text;
    ASSERT_EQ(parsed.trace.stmts.size(), program.count);
    ASSERT_EQ(print_trace(parsed.trace), text);
  }
}

TEST(FuzzDecode, ReadsOnlyBoundVariablesOfTheRightKind) {
  Prng rng(7);
  Program program;
  for (int i = 0; i < 500; ++i) {
    decode(random_bytes(rng, kMaxInputBytes), program);
    std::array<bool, kMaxVars> bound{};
    for (uint8_t s = 0; s < program.count; ++s) {
      const Op& op = program.stmts[s].op;
      if (op.subject.kind == Value::Kind::Var) {
        ASSERT_TRUE(bound[op.subject.var]) << "statement " << int(s) << " reads an unbound slot";
        const SlotKind k = program.slot_kind[op.subject.var];
        if (op.kind == OpKind::Open || op.kind == OpKind::Sysfs) {
          EXPECT_EQ(k, SlotKind::Index);
        } else {
          EXPECT_NE(k, SlotKind::Index) << "an fd operand names a device index";
        }
      }
      if (program.stmts[s].bind >= 0) bound[program.stmts[s].bind] = true;
    }
  }
}

TEST(FuzzDecode, StaysWithinTheModelsDeviceAndDescriptionBounds) {
  Prng rng(11);
  Program program;
  for (int i = 0; i < 500; ++i) {
    decode(random_bytes(rng, kMaxInputBytes), program);
    int opens = 0, creators = 0;
    for (uint8_t s = 0; s < program.count; ++s) {
      const Op& op = program.stmts[s].op;
      opens += op.kind == OpKind::Open;
      creators +=
          op.kind == OpKind::Ioctl && (op.req == Req::LoopCtlAdd || op.req == Req::LoopCtlGetFree);
    }
    EXPECT_LE(opens, kMaxOpens);
    EXPECT_LE(creators, kMaxDeviceCreators);
  }
}

TEST(FuzzDecode, HeaderPicksTheProfileUnlessForced) {
  Program program;
  const uint8_t h0[] = {0}, h1[] = {1}, h2[] = {2};
  decode(h0, program);
  EXPECT_EQ(program.profile, &model::kLinux618);
  decode(h1, program);
  EXPECT_EQ(program.profile, &model::kLinux612);
  decode(h2, program);
  EXPECT_EQ(program.profile, &model::kLinux61);
  DecodeOptions forced;
  forced.forced_profile = &model::kLinux618;
  decode(h2, program, forced);
  EXPECT_EQ(program.profile, &model::kLinux618);
}

TEST(FuzzMutate, SameSeedSameMutationsAndSizesAreWholeRecords) {
  std::vector<uint8_t> a(kMaxInputBytes), b(kMaxInputBytes);
  Prng seed_rng(3);
  size_t size_a = random_input(a.data(), a.size(), 16, seed_rng);
  std::copy(a.begin(), a.end(), b.begin());
  size_t size_b = size_a;
  Prng ra(99), rb(99);
  std::set<Mutation> seen;
  for (int i = 0; i < 5000; ++i) {
    MutationSequence m;
    size_a = mutate(a.data(), size_a, a.size(), ra, &m);
    size_b = mutate(b.data(), size_b, b.size(), rb);
    ASSERT_EQ(m.count, 1);
    seen.insert(m.steps[0]);
    ASSERT_EQ(size_a, size_b);
    ASSERT_TRUE(std::equal(a.begin(), a.begin() + static_cast<long>(size_a), b.begin()));
    ASSERT_GE(size_a, kHeaderBytes);
    ASSERT_LE(size_a, kMaxInputBytes);
    ASSERT_EQ((size_a - kHeaderBytes) % kRecordBytes, 0u);
  }
  EXPECT_EQ(seen.size(), kMutatorCount) << "every mutator in the table is used";
}

TEST(FuzzMutate, RespectsASmallMaxSize) {
  std::array<uint8_t, kHeaderBytes + 2 * kRecordBytes> buf{};
  Prng rng(5);
  size_t size = 0;
  for (int i = 0; i < 1000; ++i) {
    size = mutate(buf.data(), size, buf.size(), rng);
    ASSERT_LE(size, buf.size());
  }
}

TEST(FuzzMutate, CrossOverTakesWholeRecordsFromBothParents) {
  std::vector<uint8_t> a(kHeaderBytes + 4 * kRecordBytes, 0xAA),
      b(kHeaderBytes + 4 * kRecordBytes, 0xBB);
  std::vector<uint8_t> out(kMaxInputBytes);
  Prng rng(8);
  bool mixed = false;
  for (int i = 0; i < 200; ++i) {
    size_t n = cross_over(a.data(), a.size(), b.data(), b.size(), out.data(), out.size(), rng);
    ASSERT_EQ((n - kHeaderBytes) % kRecordBytes, 0u);
    ASSERT_EQ(out[0], 0xAA);
    bool has_a = false, has_b = false;
    for (size_t k = kHeaderBytes; k < n; ++k) (out[k] == 0xAA ? has_a : has_b) = true;
    mixed |= has_a && has_b;
  }
  EXPECT_TRUE(mixed);
}

// A target that disagrees with the model on purpose: every LOOP_CTL_GET_FREE fails.
class LyingTarget : public Target {
 public:
  std::string_view name() const override { return "lying"; }
  TargetError start(const Trace&, std::string_view, const Env&) override { return {}; }
  Outcome execute(const Op& op) override {
    if (op.kind == OpKind::Ioctl && op.req == Req::LoopCtlGetFree) return Outcome::error(ENOSPC);
    if (op.kind == OpKind::Open) return Outcome::ok(next_fd_++, ValueRole::Fd);
    return Outcome::ok(0);
  }
  void finish() override { next_fd_ = 3; }

 private:
  int next_fd_ = 3;
};

TEST(FuzzExec, ADivergenceCarriesItsSignatureAndStep) {
  const uint8_t input[] = {0, /*open ctl*/ 0, 0, 0, 0, 0, 0, 0, 0, /*get free*/ 1, 0, 0, 0, 0, 0, 0,
                           0};
  Program program;
  decode(input, program);
  ASSERT_EQ(program.count, 2);
  LyingTarget target;
  ProgramRunner runner(&target);
  Finding f = runner.run(program);
  ASSERT_EQ(f.kind, Finding::Kind::Divergence);
  EXPECT_EQ(f.step, 1u);
  EXPECT_EQ(f.signature, "linux-6.18 LOOP_CTL_GET_FREE: model index, target ENOSPC");
}

TEST(FuzzExec, TheModelAloneRecordsOperationOutcomePairs) {
  Prng rng(1);
  Program program;
  ProgramRunner runner(nullptr);
  ModelCoverage coverage;
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> bytes = random_bytes(rng, kHeaderBytes + 16 * kRecordBytes);
    decode(bytes, program);
    ASSERT_FALSE(runner.run(program, &coverage).kind == Finding::Kind::Divergence);
  }
  EXPECT_GT(coverage.count(), 50u);
  size_t listed = 0;
  coverage.for_each([&](int) { ++listed; });
  EXPECT_EQ(listed, coverage.count());
}

TEST(FuzzLibFuzzerLog, ReadsStatsAndForkModeProgress) {
  LibFuzzerResult r;
  parse_libfuzzer_log(
      "#100\tNEW    cov: 2708 ft: 7806 corp: 446/41Kb exec/s: 156 rss: 339Mb\n"
      "stat::number_of_executed_units: 3287\nstat::average_exec_per_sec:     156\n",
      r);
  EXPECT_EQ(r.execs, 3287u);
  EXPECT_EQ(r.edges, 2708u);
  EXPECT_EQ(r.features, 7806u);
  LibFuzzerResult f;
  parse_libfuzzer_log(
      "#5000: cov: 2900 ft: 11000 corp: 500 exec/s 120 oom/timeout/crash: 0/0/2 time: 40s job: 3\n",
      f);
  EXPECT_EQ(f.execs, 5000u);
  EXPECT_EQ(f.edges, 2900u);
  EXPECT_DOUBLE_EQ(f.execs_per_second, 120);
}

}  // namespace
}  // namespace loopcheck::fuzz
