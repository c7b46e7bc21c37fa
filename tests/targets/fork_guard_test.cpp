// targets/fork_guard.h: a spawned child keeps no copy of our fds past the spawn,
// and no host step runs while a child may still hold one.
#include "targets/fork_guard.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "targets/subprocess.h"

namespace loopcheck {
namespace {

TEST(ForkGuard, ASpawnedProgramInheritsNoFdAboveStderr) {
  // Not close-on-exec on purpose: only the child's close_range can drop it.
  const int inheritable = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(inheritable, 0);
  vm::ProcessResult r = vm::run_process({"ls", "/proc/self/fd"});
  ::close(inheritable);
  ASSERT_TRUE(r.started) << r.output;
  // ls sees 0, 1, 2 and the directory it is listing (3), nothing else.
  EXPECT_EQ(r.output, "0\n1\n2\n3\n");
}

TEST(ForkGuard, AStepWaitsForASpawnInProgress) {
  std::atomic<bool> step_ran{false};
  std::thread step;
  {
    SpawnWindow spawning;
    step = std::thread([&] {
      NoForkDuringStep during_step;
      step_ran = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(step_ran) << "a step ran while a child could still hold a copy of its fds";
  }
  step.join();
  EXPECT_TRUE(step_ran);
}

TEST(ForkGuard, ASpawnWaitsForTheStepsInFlightAndGoesBeforeNewOnes) {
  std::atomic<int> order{0};
  std::atomic<int> spawn_at{-1}, late_step_at{-1};
  std::thread spawner, late_step;
  {
    NoForkDuringStep first_step;
    spawner = std::thread([&] {
      SpawnWindow spawning;
      spawn_at = order++;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(spawn_at, -1) << "a spawn began during a step";
    late_step = std::thread([&] {
      NoForkDuringStep step;
      late_step_at = order++;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  spawner.join();
  late_step.join();
  EXPECT_EQ(spawn_at, 0) << "the waiting spawn must not starve behind later steps";
  EXPECT_EQ(late_step_at, 1);
}

}  // namespace
}  // namespace loopcheck
