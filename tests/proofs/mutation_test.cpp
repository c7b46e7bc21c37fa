// Deliberately broken variants of the arithmetic must be caught: each mutant below
// replaces one function of the real arithmetic (off by one sector, a missing
// overflow check, a missing clamp, a missing alignment test, ...) and the named
// properties must then fail with a counterexample. A proof suite that passes
// whatever the code does would prove nothing.
#include <gtest/gtest.h>

#include "proofs/prover.h"

namespace loopcheck::proofs {
namespace {

constexpr unsigned kTimeoutMs = 60000;

// The result of one property under linux-6.18 (or `profile`) with these subjects.
Result result_of(const Subjects& subjects, std::string_view property,
                 std::string_view profile = "linux-6.18") {
  const Property* p = find_property(property);
  EXPECT_NE(p, nullptr) << property;
  if (!p) return Result::Unknown;
  return prove(*p, profile_pair(profile), subjects, kTimeoutMs).result;
}

// ---- mutants, written in the template style they replace ----

// Rounds the partial trailing sector up instead of hiding it.
template <class U>
U capacity_rounding_up(const U& bytes, const U& offset, const U& sizelimit) {
  using model::arith::select;
  const U past = bytes - model::arith::smaller(offset, bytes);
  const U window = select(sizelimit > 0 && sizelimit < past, sizelimit, past);
  return (window + 511) >> 9;
}

// Subtracts the offset without first capping it at the backing size.
template <class U>
U capacity_without_eof_guard(const U& bytes, const U& offset, const U& sizelimit) {
  using model::arith::select;
  const U past = bytes - offset;
  const U window =
      select(offset >= bytes, 0, select(sizelimit > 0 && sizelimit < past, sizelimit, past));
  return window >> 9;
}

// The driver's get_size without `if (size < 0) return 0`.
template <class S>
auto driver_capacity_without_clamp(const S& size_in, const S& offset, const S& sizelimit) {
  using inproc::arith::select;
  S size = size_in - select(offset > 0, offset, 0);
  size = select(sizelimit > 0 && sizelimit < size, sizelimit, size);
  return as_unsigned(size) >> 9;
}

TEST(ProofsMutation, RealArithmeticPassesTheProbedProperties) {
  // The control: without a mutant, everything below is proved.
  const Subjects real = real_subjects();
  for (std::string_view p :
       {"model.capacity-within-backing", "model.mapping-inside-window",
        "model-driver.capacity-agrees", "model-driver.mapping-agrees", "model.no-wrap",
        "driver.no-overflow", "model.block-size-set", "driver.block-size-set",
        "model-driver.dio-agrees", "model.dio-backing-aligned"})
    EXPECT_EQ(result_of(real, p), Result::Proved) << p;
}

TEST(ProofsMutation, CapacityOneSectorTooManyIsCaught) {
  Subjects s = real_subjects();
  s.model.capacity_sectors = [](const UBv& b, const UBv& o, const UBv& l) {
    return capacity_rounding_up(b, o, l);
  };
  EXPECT_EQ(result_of(s, "model.capacity-within-backing"), Result::Counterexample);
  EXPECT_EQ(result_of(s, "model.capacity-within-sizelimit"), Result::Counterexample);
  EXPECT_EQ(result_of(s, "model-driver.capacity-agrees"), Result::Counterexample);
}

TEST(ProofsMutation, MappingOffByOneSectorIsCaught) {
  Subjects s = real_subjects();
  s.model.backing_byte = [](const UBv& d, const UBv& o) {
    return model::arith::backing_byte(d + 512, o);
  };
  EXPECT_EQ(result_of(s, "model.mapping-inside-window"), Result::Counterexample);
  EXPECT_EQ(result_of(s, "model-driver.mapping-agrees"), Result::Counterexample);

  Subjects d = real_subjects();
  d.driver.backing_position = [](const UBv& sector, const SBv& o) {
    return inproc::arith::backing_position(sector, o) - 512;  // a sector before the window
  };
  EXPECT_EQ(result_of(d, "model-driver.mapping-agrees"), Result::Counterexample);
}

TEST(ProofsMutation, MissingOverflowCheckIsCaught) {
  Subjects d = real_subjects();
  d.driver.fits_loff_t = [](const UBv& o, const UBv&) {
    return o <= uint64_t{0x7fffffffffffffff};
  };  // sizelimit unchecked
  EXPECT_EQ(result_of(d, "driver.no-overflow"), Result::Counterexample);
  EXPECT_EQ(result_of(d, "model-driver.capacity-agrees"), Result::Counterexample);

  Subjects m = real_subjects();
  m.model.offsets_fit_loff_t = [](const UBv& o, const UBv&) {
    return o == o;
  };  // accepts everything
  EXPECT_EQ(result_of(m, "model-driver.capacity-agrees"), Result::Counterexample);
}

TEST(ProofsMutation, WrapInAnUntakenArmIsCaught) {
  Subjects s = real_subjects();
  s.model.capacity_sectors = [](const UBv& b, const UBv& o, const UBv& l) {
    return capacity_without_eof_guard(b, o, l);
  };
  // Same capacity for every input, but bytes - offset wraps when the offset is past EOF.
  EXPECT_EQ(result_of(s, "model.capacity-within-backing"), Result::Proved);
  EXPECT_EQ(result_of(s, "model.no-wrap"), Result::Counterexample);
}

TEST(ProofsMutation, DriverWithoutNegativeClampIsCaught) {
  Subjects s = real_subjects();
  s.driver.capacity_in_sectors = [](const SBv& f, const SBv& o, const SBv& l) {
    return driver_capacity_without_clamp(f, o, l);
  };
  EXPECT_EQ(result_of(s, "driver.no-overflow"), Result::Counterexample);
  EXPECT_EQ(result_of(s, "model-driver.capacity-agrees"), Result::Counterexample);
}

TEST(ProofsMutation, BlockSizeValidationMistakesAreCaught) {
  Subjects no_power_test = real_subjects();
  no_power_test.model.choose_block_size = [](const UBv& arg,
                                             const model::arith::BlockSizeRule& rule, const UBv&) {
    return model::arith::BlockSizeChoice<UBv, BvBool>{arg, arg >= 512 && arg <= rule.max};
  };
  EXPECT_EQ(result_of(no_power_test, "model.block-size-set"), Result::Counterexample);
  EXPECT_EQ(result_of(no_power_test, "model-driver.block-size-agrees"), Result::Counterexample);

  Subjects off_by_one = real_subjects();
  off_by_one.driver.set_block_size_verdict = [](const UBv& arg, bool whole, uint64_t max,
                                                const UBv& dflt) {
    auto v = inproc::arith::set_block_size_verdict(arg, whole, max, dflt);
    return inproc::arith::BlockSizeVerdict<UBv, BvBool>{
        v.size, v.ok && v.size > 512};  // 512 itself refused
  };
  EXPECT_EQ(result_of(off_by_one, "driver.block-size-set", "linux-6.1"), Result::Counterexample);
  EXPECT_EQ(result_of(off_by_one, "model-driver.block-size-agrees", "linux-6.1"),
            Result::Counterexample);
}

TEST(ProofsMutation, DioCheckWithoutOffsetAlignmentIsCaught) {
  Subjects s = real_subjects();
  s.model.dio_alignment_ok = [](const UBv& bs, const UBv&, const UBv& align) {
    return align == 0 || bs >= align;
  };
  EXPECT_EQ(result_of(s, "model-driver.dio-agrees"), Result::Counterexample);
  EXPECT_EQ(result_of(s, "model.dio-backing-aligned"), Result::Counterexample);
}

}  // namespace
}  // namespace loopcheck::proofs
