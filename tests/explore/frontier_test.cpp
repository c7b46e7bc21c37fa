// The BFS frontier: delta records round-trip, a slice can start anywhere, blocks
// past the memory budget go to disk and come back the same, the spill directory
// is removed afterwards, and an unusable spill directory is a clear error.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "explore/frontier.h"

namespace loopcheck::model {
namespace {

namespace fs = std::filesystem;

constexpr size_t kWords = 173;  // 2 devices, 2 files, 4 fds

// Layouts shaped like the explorer's: mostly zero, neighbours sharing most words.
std::vector<std::vector<uint64_t>> layouts(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<uint64_t>> out;
  std::vector<uint64_t> cur(kWords, 0);
  for (size_t i = 0; i < n; ++i) {
    for (int changes = static_cast<int>(rng() % 4); changes >= 0; --changes) {
      const size_t w = rng() % kWords;
      cur[w] = rng() % 3 == 0 ? 0 : rng() >> (rng() % 64);
    }
    out.push_back(cur);
  }
  return out;
}

fs::path scratch_dir(const char* name) {
  const fs::path dir =
      fs::temp_directory_path() / (std::string(name) + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void expect_reads_back(const Frontier& f, const std::vector<std::vector<uint64_t>>& want) {
  ASSERT_EQ(f.size(), want.size());
  for (uint64_t start : {uint64_t{0}, uint64_t{1}, want.size() / 3, want.size() - 1}) {
    FrontierReader r(f, kWords);
    r.seek(start);
    for (uint64_t i = start; i < want.size(); ++i) {
      const uint64_t* l = r.next();
      ASSERT_TRUE(std::equal(l, l + kWords, want[i].begin())) << "record " << i;
    }
  }
}

TEST(ExploreFrontier, DeltaRecordsRoundTrip) {
  const auto in = layouts(2000, 1);
  std::vector<uint8_t> buf(delta_max_bytes(kWords));
  std::vector<uint64_t> prev(kWords, 0), back(kWords, 0);
  for (const auto& l : in) {
    const uint8_t* end = encode_delta(prev.data(), l.data(), kWords, buf.data());
    EXPECT_LE(static_cast<size_t>(end - buf.data()), delta_max_bytes(kWords));
    EXPECT_EQ(decode_delta(buf.data(), back.data(), kWords), end);
    EXPECT_EQ(back, l);
    prev = l;
  }
}

TEST(ExploreFrontier, InMemoryBlocksReadBackFromAnyIndex) {
  FrontierSpace space(uint64_t{1} << 30, "");
  FrontierWriter w(space, kWords);
  const auto in = layouts(50000, 2);  // several blocks
  for (const auto& l : in) w.push(l.data());
  const Frontier f = w.finish();
  EXPECT_EQ(space.spilled_bytes(), 0u);
  EXPECT_GT(space.memory_bytes(), kFrontierBlockBytes);
  EXPECT_LT(f.bytes(), in.size() * 40);  // ~1.4 KB layouts in a few dozen bytes each
  expect_reads_back(f, in);
}

TEST(ExploreFrontier, BlocksPastTheBudgetSpillAndTheDirectoryGoesAway) {
  const fs::path parent = scratch_dir("loopcheck-frontier-test");
  const auto in = layouts(50000, 3);
  {
    FrontierSpace space(kFrontierBlockBytes, parent.string());  // one block in memory
    Frontier all(&space);
    for (int part = 0; part < 2; ++part) {  // two writers' shares, concatenated
      FrontierWriter w(space, kWords);
      for (size_t i = part * in.size() / 2; i < (part + 1) * in.size() / 2; ++i)
        w.push(in[i].data());
      all.append(w.finish());
    }
    EXPECT_GT(space.spilled_bytes(), 0u);
    EXPECT_LE(space.memory_bytes(), kFrontierBlockBytes);
    EXPECT_EQ(std::distance(fs::directory_iterator(parent), fs::directory_iterator()), 1);
    expect_reads_back(all, in);
    all.clear();
    EXPECT_EQ(space.memory_bytes(), 0u);
  }
  EXPECT_TRUE(fs::is_empty(parent));
  fs::remove_all(parent);
}

TEST(ExploreFrontier, AnUnusableSpillDirectoryIsAClearError) {
  FrontierSpace space(0, "/nonexistent/loopcheck");
  FrontierWriter w(space, kWords);
  const auto in = layouts(10, 4);
  for (const auto& l : in) w.push(l.data());
  try {
    (void)w.finish();
    FAIL() << "no error";
  } catch (const FrontierError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("/nonexistent/loopcheck"), std::string::npos) << what;
    EXPECT_NE(what.find("--frontier-mem"), std::string::npos) << what;
    EXPECT_NE(what.find("TMPDIR"), std::string::npos) << what;
  }
}

TEST(ExploreFrontier, AFullDiskNamesTheProblemAndTheFix) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  FrontierSpace space(0, "");
  SpillFile full;
  full.fd = open("/dev/full", O_WRONLY);
  ASSERT_GE(full.fd, 0);
  const std::vector<uint8_t> block(4096, 1);
  try {
    space.write(full, block.data(), block.size());
    FAIL() << "no error";
  } catch (const FrontierError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("No space left on device"), std::string::npos) << what;
    EXPECT_NE(what.find("TMPDIR"), std::string::npos) << what;
    EXPECT_NE(what.find("--frontier-mem"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace loopcheck::model
