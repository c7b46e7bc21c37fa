// Data descriptors: expansion, comparison, description, and the pattern function.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

#include "trace/data.h"
#include "trace/expect.h"
#include "trace/pattern.h"

using namespace loopcheck;

namespace {

DataSegment run(DataSegment::Kind k, uint64_t len, uint8_t fill = 0, uint32_t seed = 0,
                uint64_t index = 0) {
  DataSegment s;
  s.kind = k;
  s.length = len;
  s.fill = fill;
  s.seed = seed;
  s.index = index;
  return s;
}

DataDesc desc(std::initializer_list<DataSegment> segs) {
  DataDesc d;
  for (const auto& s : segs) d.seg[d.count++] = s;
  return d;
}

}  // namespace

TEST(TraceData, PatternFollowsTheDocumentedFormula) {
  // Recomputed here from the formula in docs/trace-format.md, not via pattern_word.
  auto mix = [](uint64_t x) {
    uint64_t z = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  for (uint32_t seed : {0u, 1u, 7u, 0xffffffffu})
    for (uint64_t i : {0ull, 1ull, 7ull, 8ull, 4095ull, 1ull << 40}) {
      uint64_t w = mix(uint64_t{seed} * 0x9E3779B97F4A7C15ull + i / 8);
      EXPECT_EQ(pattern_byte(seed, i), static_cast<uint8_t>(w >> (8 * (i % 8))));
    }
}

TEST(TraceData, MaterializeRunsAndTheRest) {
  std::vector<uint8_t> out(40, 0xee);
  materialize(desc({run(DataSegment::Kind::Fill, 3, 0xcd),
                    run(DataSegment::Kind::Pattern, 10, 0, 5, 3), run(DataSegment::Kind::Zero, 0)}),
              out);
  EXPECT_EQ(out[0], 0xcd);
  EXPECT_EQ(out[2], 0xcd);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(out[3 + i], pattern_byte(5, 3 + i)) << i;
  for (int i = 13; i < 40; ++i) EXPECT_EQ(out[i], 0) << i;
}

TEST(TraceData, FirstDifferenceFindsTheByte) {
  DataDesc d =
      desc({run(DataSegment::Kind::Zero, 4), run(DataSegment::Kind::Pattern, 0, 0, 9, 100)});
  std::vector<uint8_t> bytes(5000);
  materialize(d, bytes);
  EXPECT_FALSE(first_difference(d, bytes).has_value());
  bytes[4321] ^= 1;
  EXPECT_EQ(first_difference(d, bytes), 4321u);
  bytes[4321] ^= 1;
  bytes[2] = 1;
  EXPECT_EQ(first_difference(d, bytes), 2u);
  // Lengths that disagree are a difference at the shorter end.
  std::vector<uint8_t> shorter(3);
  EXPECT_EQ(first_difference(desc({run(DataSegment::Kind::Zero, 4)}), shorter), 3u);
  std::vector<uint8_t> longer(6);
  EXPECT_EQ(first_difference(desc({run(DataSegment::Kind::Zero, 4)}), longer), 4u);
}

TEST(TraceData, DescribeZeroFillAndBytes) {
  std::vector<uint8_t> b(300, 0);
  std::fill(b.begin() + 100, b.begin() + 200, 0xab);
  b[270] = 7;  // zeros 200..270 are a long run; 270..300 are not
  DataDesc d = describe_bytes(b);
  ASSERT_EQ(d.count, 4);
  EXPECT_EQ(d.seg[0].kind, DataSegment::Kind::Zero);
  EXPECT_EQ(d.seg[0].length, 100u);
  EXPECT_EQ(d.seg[1].kind, DataSegment::Kind::Fill);
  EXPECT_EQ(d.seg[1].fill, 0xab);
  EXPECT_EQ(d.seg[2].kind, DataSegment::Kind::Zero);
  EXPECT_EQ(d.seg[2].length, 70u);
  EXPECT_EQ(d.seg[3].kind, DataSegment::Kind::Bytes);
  EXPECT_EQ(d.seg[3].length, 30u);
  EXPECT_FALSE(first_difference(d, b).has_value());
  b[280] = 8;
  EXPECT_EQ(first_difference(d, b), 270u);  // a Bytes run reports its start
}

RC_GTEST_PROP(TraceData, DescribeAlwaysMatchesItsInput,
              (const std::vector<uint8_t>& raw, uint8_t runs)) {
  // Build inputs with long runs so zero/fill detection and the segment limit are exercised.
  std::vector<uint8_t> b = raw;
  for (int i = 0; i < runs % 12; ++i) b.insert(b.end(), 64 + i, static_cast<uint8_t>(i % 3));
  DataDesc d = describe_bytes(b);
  RC_ASSERT(d.count <= kMaxDataSegments);
  RC_ASSERT(desc_length(d, b.size()) == b.size());
  RC_ASSERT(!first_difference(d, b).has_value());
}

// `MIN..MAX` accepts every count in the closed range and nothing outside it.
TEST(TraceData, ACountRangeMatchesCountsInsideIt) {
  ExpectAlt range;
  range.kind = ExpectAlt::Kind::Value;
  range.ranged = true;
  range.range_min = 4096;
  range.value = 16384;
  Outcome read;
  read.kind = Outcome::Kind::Data;
  for (int64_t count : {4096, 8192, 16384}) {
    read.value = count;
    EXPECT_TRUE(outcome_matches(range, read, {})) << count;
  }
  for (int64_t count : {0, 4095, 16385}) {
    read.value = count;
    EXPECT_FALSE(outcome_matches(range, read, {})) << count;
  }
  EXPECT_TRUE(outcome_matches(range, Outcome::ok(5000), {})) << "a pwrite's count";
  EXPECT_FALSE(outcome_matches(range, Outcome::error(5), {}));
}

// Bytes the model cannot predict never satisfy a data= (no run could check it).
TEST(TraceData, AnUnpredictableReadMatchesNoDataDescription) {
  Outcome read;
  read.kind = Outcome::Kind::Data;
  read.value = 512;
  read.data_known = false;
  ExpectAlt want;
  want.kind = ExpectAlt::Kind::Data;
  want.value = 512;
  want.has_data = true;
  want.data = desc({run(DataSegment::Kind::Zero, 0)});
  EXPECT_FALSE(outcome_matches(want, read, {}));
  ExpectAlt count;
  count.kind = ExpectAlt::Kind::Value;
  count.value = 512;
  EXPECT_TRUE(outcome_matches(count, read, {})) << "the count alone is still checked";
}

TEST(TraceData, ExpectationsMatchOutcomes) {
  Outcome ok = Outcome::ok(0);
  ExpectAlt zero;
  zero.kind = ExpectAlt::Kind::Value;
  EXPECT_TRUE(outcome_matches(zero, ok, {}));
  EXPECT_FALSE(outcome_matches(zero, Outcome::error(16), {}));
  EXPECT_FALSE(outcome_matches(zero, Outcome::skipped(), {}));
  ExpectAlt busy;
  busy.kind = ExpectAlt::Kind::Errno;
  busy.err = 16;
  Expectation env;
  env.alt[env.count++] = zero;
  env.alt[env.count++] = busy;
  EXPECT_TRUE(expectation_matches(env, Outcome::error(16), {}));
  EXPECT_FALSE(expectation_matches(env, Outcome::error(22), {}));
  EXPECT_TRUE(expectation_matches(Expectation{}, Outcome::error(22), {}));

  // A read: the model's description, or the real bytes, or only their digest.
  Outcome read;
  read.kind = Outcome::Kind::Data;
  read.value = 16;
  read.data = desc({run(DataSegment::Kind::Pattern, 0, 0, 7)});
  ExpectAlt want;
  want.kind = ExpectAlt::Kind::Data;
  want.value = 16;
  want.has_data = true;
  want.data =
      desc({run(DataSegment::Kind::Pattern, 8, 0, 7), run(DataSegment::Kind::Pattern, 8, 0, 7, 8)});
  EXPECT_TRUE(outcome_matches(want, read, {}));
  std::vector<uint8_t> bytes(16);
  materialize(read.data, bytes);
  EXPECT_TRUE(outcome_matches(want, read, bytes));
  Outcome real = read;
  real.data = {};
  real.digest = digest_bytes(bytes);
  EXPECT_TRUE(outcome_matches(want, real, {}));
  bytes[15] ^= 0x40;
  EXPECT_FALSE(outcome_matches(want, read, bytes));
  real.digest = digest_bytes(bytes);
  EXPECT_FALSE(outcome_matches(want, real, {}));

  Outcome st;
  st.kind = Outcome::Kind::Status;
  st.status.offset = 512;
  st.status.flags = kLoAutoclear;
  ExpectAlt s;
  s.kind = ExpectAlt::Kind::Status;
  s.fields.set(Field::Offset, Value::literal(512));
  EXPECT_TRUE(outcome_matches(s, st, {}));
  s.fields.set(Field::Flags, Value::literal(kLoReadOnly));
  EXPECT_FALSE(outcome_matches(s, st, {}));

  Outcome text;
  text.kind = Outcome::Kind::Text;
  text.set_text(std::string(500, 'x'));
  EXPECT_EQ(text.text_view().size(), static_cast<size_t>(kMaxTextSize - 1));
}
