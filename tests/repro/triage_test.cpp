// Triage's machine-independent outcomes, its search for the first behaviour
// change in version order, and its Markdown (no VM needed).
#include <gtest/gtest.h>

#include "repro/triage.h"
#include "trace/parse.h"

namespace loopcheck::vm {
namespace {

TEST(VmTriage, FdsAndDevicesAreNamedByFirstAppearance) {
  std::vector<int64_t> fds, devs;
  EXPECT_EQ(normalized_outcome(Outcome::ok(7, ValueRole::Fd), fds, devs), "fd#1");
  EXPECT_EQ(normalized_outcome(Outcome::ok(3, ValueRole::Fd), fds, devs), "fd#2");
  EXPECT_EQ(normalized_outcome(Outcome::ok(7, ValueRole::Fd), fds, devs), "fd#1");
  EXPECT_EQ(normalized_outcome(Outcome::ok(12, ValueRole::DevIndex), fds, devs), "dev#1");
  EXPECT_EQ(normalized_outcome(Outcome::ok(12), fds, devs), "12");
  EXPECT_EQ(normalized_outcome(Outcome::error(EBUSY), fds, devs), "EBUSY");
}

TEST(VmTriage, StatusLosesOnlyTheMachinesOwnNumbers) {
  std::vector<int64_t> fds, devs;
  Outcome a;
  a.kind = Outcome::Kind::Status;
  a.status.inode = 111;
  a.status.device = 0x801;
  a.status.offset = 4096;
  Outcome b = a;
  b.status.inode = 222;
  b.status.device = 0xfd00;
  EXPECT_EQ(normalized_outcome(a, fds, devs), normalized_outcome(b, fds, devs));
  b.status.offset = 0;
  EXPECT_NE(normalized_outcome(a, fds, devs), normalized_outcome(b, fds, devs));
}

TriageColumn column(std::string name, std::vector<std::string> cells, bool vm = true) {
  TriageColumn c;
  c.name = std::move(name);
  c.cells = std::move(cells);
  c.is_vm_kernel = vm;
  return c;
}

TEST(VmTriage, FirstChangeIsTheFirstAdjacentPairThatDiffers) {
  std::vector<TriageColumn> columns = {
      column("6.1.0-52", {"0", "0", "512"}), column("6.1.0-54", {"0", "0", "512"}),
      column("6.1.0-55", {"0", "EBUSY", "512"}), column("6.12.117", {"0", "EBUSY", "2048"}),
      column("host", {"1", "1", "1"}, false)};
  BehaviourChange change = first_change(columns);
  ASSERT_TRUE(change.found);
  EXPECT_EQ(change.before, 1u);
  EXPECT_EQ(change.after, 2u);
  EXPECT_EQ(change.steps, std::vector<size_t>{1});

  // The host column never counts as a release, and a kernel that could not run is passed over.
  std::vector<TriageColumn> same = {column("a", {"0"}), column("host", {"1"}, false),
                                    column("b", {"0"})};
  EXPECT_FALSE(first_change(same).found);
  std::vector<TriageColumn> broken = {column("a", {"0"}), column("b", {"not run"}),
                                      column("c", {"0"})};
  broken[1].error = "did not boot";
  EXPECT_FALSE(first_change(broken).found);
}

TEST(VmTriage, MarkdownNamesTheChangeAndEscapesCells) {
  ParseResult parsed = parse_trace(
      "@trace 1\nctl = open loop-control rw\nioctl ctl LOOP_CTL_GET_FREE => 0 | EBUSY\n",
      "t.trace");
  ASSERT_TRUE(parsed.ok());
  std::vector<TriageColumn> columns = {column("6.1.0-54", {"fd#1", "0"}),
                                       column("6.1.0-55", {"fd#1", "EBUSY"})};
  std::string md = triage_markdown(parsed.trace, columns);
  EXPECT_NE(md.find("| 2 | `ioctl ctl LOOP_CTL_GET_FREE` | `0 \\| EBUSY` | 0 | **EBUSY** |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("**Behaviour changed between `6.1.0-54` and `6.1.0-55`**"), std::string::npos)
      << md;
  EXPECT_NE(md.find("(step 2)"), std::string::npos) << md;
}

}  // namespace
}  // namespace loopcheck::vm
