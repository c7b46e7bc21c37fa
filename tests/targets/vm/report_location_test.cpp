// A crash finding's signature names the kernel function a report blames: read
// from recorded console excerpts of each report shape, offsets dropped.
#include <gtest/gtest.h>

#include "targets/vm/report_location.h"

namespace loopcheck::vm {
namespace {

TEST(VmReportLocation, AnOopsNamesTheFunctionInRip) {
  const char* excerpt =
      "[   7.1] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
      "[   7.1] #PF: supervisor read access in kernel mode\n"
      "[   7.2] RIP: 0010:lo_rw_aio.isra.0+0x1a2/0x3c0 [loop]\n"
      "[   7.2] Code: 48 8b 45 00\n";
  EXPECT_EQ(report_location(excerpt), "lo_rw_aio.isra.0");
}

TEST(VmReportLocation, AWarningNamesTheFunctionAfterItsSourceLine) {
  const char* excerpt =
      "[   5.1] WARNING: CPU: 0 PID: 1 at drivers/block/loop.c:1021 "
      "loop_configure+0x5d/0x6a0 [loop]\n[   5.2] Modules linked in: loop\n";
  EXPECT_EQ(report_location(excerpt), "loop_configure");
}

TEST(VmReportLocation, KasanNamesTheFunctionAfterIn) {
  EXPECT_EQ(report_location("[ 9.0] BUG: KASAN: slab-use-after-free in "
                            "loop_process_work+0x2b/0x9f0 [loop]\n"),
            "loop_process_work");
}

TEST(VmReportLocation, ReportsWithoutAFunctionGiveNothing) {
  EXPECT_EQ(report_location("[ 130.0] INFO: task loop0:42 blocked for more than 120 seconds.\n"),
            "");
  EXPECT_EQ(report_location("no answer from the guest within 90000 ms (hang)"), "");
  // A source file is not a function: UBSAN names the line, not the symbol.
  EXPECT_EQ(report_location("[ 5.1] UBSAN: shift-out-of-bounds in drivers/block/loop.c:100\n"), "");
}

}  // namespace
}  // namespace loopcheck::vm
