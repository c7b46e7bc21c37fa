// The mutator table: every mutator is reachable from mutate() and yields an input
// that decodes to a valid program; a recorded sequence replayed from the same seed
// gives the same bytes; the sequence is written into stored findings.
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

#include "fuzz/decode.h"
#include "fuzz/findings.h"
#include "fuzz/generator.h"
#include "fuzz/mutate.h"
#include "fuzz/prng.h"
#include "trace/validate.h"

namespace loopcheck::fuzz {
namespace {

using Buffer = std::array<uint8_t, kMaxInputBytes>;

std::string problems_of(const Trace& t) {
  std::string out;
  for (const TraceProblem& p : validate(t)) out += p.format(t) + "\n";
  return out;
}

TEST(Mutators, TheTableIsIndexedByMutationAndNamesAreDistinct) {
  std::set<std::string_view> names;
  ASSERT_EQ(mutators().size(), kMutatorCount);
  for (size_t i = 0; i < mutators().size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(mutators()[i].id), i);
    EXPECT_EQ(mutation_name(mutators()[i].id), mutators()[i].name);
    names.insert(mutators()[i].name);
  }
  names.insert(mutation_name(Mutation::CrossOver));
  names.insert(mutation_name(Mutation::LibFuzzerMutate));
  EXPECT_EQ(names.size(), static_cast<size_t>(Mutation::kCount));
}

TEST(Mutators, EveryMutatorIsReachableAndYieldsAValidProgram) {
  Prng rng(7);
  std::array<int, kMutatorCount> applied{};
  Buffer buffer{};
  size_t size = random_input(buffer.data(), buffer.size(), 4, rng);
  Program program;
  for (int i = 0; i < 5000; ++i) {
    MutationSequence seq;
    size = mutate(buffer.data(), size, buffer.size(), rng, &seq);
    ASSERT_EQ(seq.count, 1);
    ++applied[static_cast<size_t>(seq.steps[0])];
    decode({buffer.data(), size}, program);
    const Trace t = to_trace(program);
    ASSERT_TRUE(validate(t).empty()) << mutation_name(seq.steps[0]) << ":\n" << problems_of(t);
    if (i % 500 == 0) size = random_input(buffer.data(), buffer.size(), rng.below(8), rng);
  }
  for (size_t m = 0; m < kMutatorCount; ++m)
    EXPECT_GT(applied[m], 0) << "never applied: " << mutators()[m].name;
}

TEST(Mutators, ARecordedSequenceReplayedFromTheSameSeedGivesTheSameBytes) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Prng setup(seed);
    Buffer start{};
    const size_t start_size = random_input(start.data(), start.size(), seed % 6, setup);

    Buffer mutated = start;
    size_t size = start_size;
    Prng rng(seed * 31);
    MutationSequence seq;
    for (int i = 0; i < 8; ++i) size = mutate(mutated.data(), size, mutated.size(), rng, &seq);
    ASSERT_EQ(seq.count, 8);

    Buffer replayed = start;
    size_t replayed_size = start_size;
    Prng again(seed * 31);
    for (size_t i = 0; i < seq.count; ++i) {
      ASSERT_EQ(pick_mutation(replayed_size, replayed.size(), again), seq.steps[i]);
      replayed_size =
          apply_mutation(seq.steps[i], replayed.data(), replayed_size, replayed.size(), again);
    }
    ASSERT_EQ(replayed_size, size);
    EXPECT_TRUE(std::equal(mutated.begin(), mutated.begin() + static_cast<std::ptrdiff_t>(size),
                           replayed.begin()));
  }
}

TEST(Mutators, TheSequenceFormatsLikeLibFuzzersMutationSequence) {
  MutationSequence seq;
  seq.push(Mutation::CrossOver);
  seq.push(Mutation::InsertOp);
  seq.push(Mutation::ChangeArgument);
  EXPECT_EQ(seq.format(), "3 CrossOver-InsertOp-ChangeArgument");
  EXPECT_EQ(MutationSequence{}.format(), "0");
  seq.origin = MutationSequence::Origin::Unknown;
  EXPECT_EQ(seq.format(), "unknown (libFuzzer input)");
  MutationSequence seed;
  seed.origin = MutationSequence::Origin::Seed;
  EXPECT_EQ(seed.format(), "0 (seed input)");
}

TEST(Mutators, AStoredFindingCarriesItsMutations) {
  Program program;
  Prng rng(3);
  Buffer buffer{};
  const size_t size = random_input(buffer.data(), buffer.size(), 3, rng);
  decode({buffer.data(), size}, program);
  Finding finding;
  finding.kind = Finding::Kind::Divergence;
  finding.signature = "close: model 0, target EBADF";
  MutationSequence seq;
  seq.push(Mutation::SwapOps);
  seq.push(Mutation::DeleteOp);
  const std::string text = finding_file_text(to_trace(program), finding, "test", seq);
  EXPECT_NE(text.find("\n# mutations: 2 SwapOps-DeleteOp\n"), std::string::npos) << text;
  EXPECT_EQ(finding_file_text(to_trace(program), finding, "test").find("# mutations:"),
            std::string::npos);
}

// The producers' promise, checked in release builds too (LOOPCHECK_VALIDATE is
// debug-only): decoded and generated traces always validate.
TEST(ProducersValidate, DecodedProgramsAndGeneratedTracesAlwaysValidate) {
  Prng rng(20261121);
  Program program;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes(rng.below(kMaxInputBytes + 16));
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng.next());
    decode(bytes, program);
    const Trace t = to_trace(program);
    ASSERT_TRUE(validate(t).empty()) << problems_of(t);
  }
  for (uint64_t index = 0; index < 300; ++index) {
    GenOptions options;
    options.seed = 11;
    options.ops = static_cast<uint32_t>(8 + index % 40);
    const Trace t = generate_trace(options, index);
    ASSERT_TRUE(validate(t).empty()) << problems_of(t);
  }
}

}  // namespace
}  // namespace loopcheck::fuzz
