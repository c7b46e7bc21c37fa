// Kernel reports on a guest's serial console become guest reports: the scanner over
// recorded console text (a real guest is not made to crash for the test).
#include <gtest/gtest.h>

#include <string>

#include "targets/vm/qemu_vm.h"

namespace loopcheck::vm {
namespace {

const char* kBoot =
    "[    0.000000] Linux version 6.12.117+deb12-cloud-amd64\n[    1.2] loop: module loaded\n";

TEST(VmConsole, QuietBootHasNoReports) {
  std::string log = kBoot;
  size_t scanned = 0;
  EXPECT_TRUE(scan_kernel_reports(log, &scanned).empty());
  EXPECT_EQ(scanned, log.size());
}

TEST(VmConsole, EachKindOfReportIsFoundWithItsExcerpt) {
  struct Case {
    const char* line;
    const char* kind;
  };
  for (const Case& c :
       {Case{"[   5.1] Kernel panic - not syncing: Fatal exception", "Kernel panic"},
        Case{"[   5.1] Oops: general protection fault, probably for non-canonical address", "Oops"},
        Case{"[   5.1] BUG: KASAN: slab-use-after-free in loop_process_work", "BUG: KASAN"},
        Case{"[   5.1] BUG: KFENCE: out-of-bounds read in lo_rw_aio", "BUG: KFENCE"},
        Case{"[   5.1] UBSAN: shift-out-of-bounds in drivers/block/loop.c:100", "UBSAN"},
        Case{"[   5.1] WARNING: CPU: 0 PID: 1 at block/blk-settings.c:10 blk_validate_limits",
             "WARNING"},
        Case{"[   5.1] INFO: task loop0:42 blocked for more than 120 seconds.", "INFO: task"}}) {
    std::string log = std::string(kBoot) + c.line + "\n[   5.2] Call Trace:\n[   5.3]  <TASK>\n";
    size_t scanned = 0;
    auto reports = scan_kernel_reports(log, &scanned);
    ASSERT_EQ(reports.size(), 1u) << c.line;
    EXPECT_EQ(reports[0].kind, c.kind);
    EXPECT_NE(reports[0].excerpt.find(c.line), std::string::npos) << reports[0].excerpt;
    EXPECT_NE(reports[0].excerpt.find("<TASK>"), std::string::npos)
        << "the excerpt carries the trace after it";
  }
}

TEST(VmConsole, ScanningIsIncrementalAndWaitsForWholeLines) {
  std::string log = kBoot;
  size_t scanned = 0;
  EXPECT_TRUE(scan_kernel_reports(log, &scanned).empty());
  log += "[   7.0] BUG: KASAN: use-after";  // still being printed
  EXPECT_TRUE(scan_kernel_reports(log, &scanned).empty());
  log += "-free in loop_free_idle_workers\n";
  auto reports = scan_kernel_reports(log, &scanned);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].kind, "BUG: KASAN");
  // Already reported: not again.
  EXPECT_TRUE(scan_kernel_reports(log, &scanned).empty());
}

// A wait for the agent cuts its budget short only after a report that can leave
// the guest unable to answer; reports a task survives keep the whole budget.
TEST(VmConsole, OnlyReportsThatStopATaskCutAWaitShort) {
  struct Case {
    const char* line;
    bool stops;
  };
  for (const Case& c :
       {Case{"[   5.1] Kernel panic - not syncing: Fatal exception", true},
        Case{"[   5.1] Oops: general protection fault, probably for non-canonical address", true},
        Case{"[   5.1] BUG: kernel NULL pointer dereference, address: 0000000000000008", true},
        Case{"[   5.1] INFO: task loop0:42 blocked for more than 10 seconds.", true},
        Case{"[   5.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kworker/0:1:9]", true},
        Case{"[   5.1] BUG: KASAN: slab-use-after-free in loop_process_work", false},
        Case{"[   5.1] UBSAN: shift-out-of-bounds in drivers/block/loop.c:100", false},
        Case{"[   5.1] WARNING: CPU: 0 PID: 1 at block/blk-settings.c:10 blk_validate_limits",
             false}}) {
    std::string log = std::string(kBoot) + c.line + "\n";
    size_t scanned = 0;
    auto reports = scan_kernel_reports(log, &scanned);
    ASSERT_EQ(reports.size(), 1u) << c.line;
    EXPECT_EQ(report_stops_the_guest(reports[0].kind), c.stops) << c.line;
  }
}

}  // namespace
}  // namespace loopcheck::vm
