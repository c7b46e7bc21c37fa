// Renaming: a bijection per kind between model-side and target-side numbers,
// fixed by the first pair seen and loosened only by forget().
#include "oracle/renaming.h"

#include <gtest/gtest.h>

#include <optional>

namespace loopcheck {
namespace {

TEST(Renaming, NothingIsKnownBeforeTheFirstPair) {
  Renaming names;
  EXPECT_EQ(names.to_model(RenameKind::Fd, 3), std::nullopt);
  EXPECT_EQ(names.to_target(RenameKind::Fd, 3), std::nullopt);
}

TEST(Renaming, TheFirstPairIsRecordedInBothDirections) {
  Renaming names;
  ASSERT_TRUE(names.unify(RenameKind::Fd, 3, 17));
  EXPECT_EQ(names.to_target(RenameKind::Fd, 3), std::optional<uint64_t>(17));
  EXPECT_EQ(names.to_model(RenameKind::Fd, 17), std::optional<uint64_t>(3));
  // The inverse direction is not a pair: 17 is no model-side name.
  EXPECT_EQ(names.to_target(RenameKind::Fd, 17), std::nullopt);
  EXPECT_TRUE(names.unify(RenameKind::Fd, 3, 17)) << "the same pair again agrees";
}

TEST(Renaming, APairFixedOnceStaysFixedInBothDirections) {
  Renaming names;
  ASSERT_TRUE(names.unify(RenameKind::DevIndex, 0, 9));
  EXPECT_FALSE(names.unify(RenameKind::DevIndex, 0, 10)) << "model 0 is already target 9";
  EXPECT_FALSE(names.unify(RenameKind::DevIndex, 1, 9)) << "target 9 is already model 0";
  // A refused pair leaves no trace of itself.
  EXPECT_EQ(names.to_target(RenameKind::DevIndex, 0), std::optional<uint64_t>(9));
  EXPECT_EQ(names.to_model(RenameKind::DevIndex, 10), std::nullopt);
  EXPECT_EQ(names.to_target(RenameKind::DevIndex, 1), std::nullopt);
  // Unrelated numbers still pair freely.
  EXPECT_TRUE(names.unify(RenameKind::DevIndex, 1, 10));
}

TEST(Renaming, IdentityPairsAreOrdinaryPairs) {
  Renaming names;
  ASSERT_TRUE(names.unify(RenameKind::Inode, 5, 5));
  EXPECT_FALSE(names.unify(RenameKind::Inode, 5, 6));
  EXPECT_FALSE(names.unify(RenameKind::Inode, 6, 5));
}

TEST(Renaming, EveryKindHasItsOwnBijection) {
  Renaming names;
  const RenameKind kinds[] = {RenameKind::Fd, RenameKind::DevIndex, RenameKind::Device,
                              RenameKind::Inode, RenameKind::Rdevice};
  uint64_t target = 100;
  for (RenameKind kind : kinds) {
    EXPECT_TRUE(names.unify(kind, 1, target)) << "kind " << static_cast<int>(kind);
    ++target;
  }
  target = 100;
  for (RenameKind kind : kinds) {
    EXPECT_EQ(names.to_target(kind, 1), std::optional<uint64_t>(target));
    EXPECT_EQ(names.to_model(kind, target), std::optional<uint64_t>(1));
    ++target;
  }
}

TEST(Renaming, ForgetFreesBothNumbersForIndependentReuse) {
  Renaming names;
  ASSERT_TRUE(names.unify(RenameKind::Fd, 3, 17));
  ASSERT_TRUE(names.unify(RenameKind::Fd, 4, 18));
  names.forget(RenameKind::Fd, 3);
  EXPECT_EQ(names.to_target(RenameKind::Fd, 3), std::nullopt);
  EXPECT_EQ(names.to_model(RenameKind::Fd, 17), std::nullopt);
  // The model reuses 3 for a file the target numbers 19; the target reuses 17 elsewhere.
  EXPECT_TRUE(names.unify(RenameKind::Fd, 3, 19));
  EXPECT_TRUE(names.unify(RenameKind::Fd, 5, 17));
  // The other pair was not touched.
  EXPECT_EQ(names.to_target(RenameKind::Fd, 4), std::optional<uint64_t>(18));
  EXPECT_FALSE(names.unify(RenameKind::Fd, 4, 19));
}

TEST(Renaming, ForgetIsKeyedByTheModelSideAndPerKind) {
  Renaming names;
  ASSERT_TRUE(names.unify(RenameKind::DevIndex, 2, 40));
  ASSERT_TRUE(names.unify(RenameKind::Fd, 2, 41));
  names.forget(RenameKind::DevIndex, 40);  // 40 is a target-side name: nothing to forget
  EXPECT_EQ(names.to_target(RenameKind::DevIndex, 2), std::optional<uint64_t>(40));
  names.forget(RenameKind::DevIndex, 2);
  EXPECT_EQ(names.to_target(RenameKind::DevIndex, 2), std::nullopt);
  EXPECT_EQ(names.to_target(RenameKind::Fd, 2), std::optional<uint64_t>(41));
  names.forget(RenameKind::DevIndex, 2);  // twice is harmless
  EXPECT_EQ(names.to_model(RenameKind::DevIndex, 40), std::nullopt);
}

}  // namespace
}  // namespace loopcheck
