// One InprocTarget runs trace after trace, resetting its sandbox in between: a
// trace must see the same thing whatever ran before it. Each trace's per-step
// outcomes (model and target, verdicts) alone on a fresh target must equal those
// after the others, in forward and reverse order.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/profile.h"
#include "oracle/runner.h"
#include "targets/inproc/inproc_target.h"
#include "trace/parse.h"
#include "trace/print.h"
#include "trace/trace_files.h"

namespace loopcheck {
namespace {

// Writes at byte 1 of a zero-filled file cut to 768 bytes, allocating its first
// block (finding-9bb9c69a1285ded7).
constexpr std::string_view kAllocatesBlockAtCutEof = R"(@trace 1
@profile linux-6.12
file img size=64K
dev1 = open loop 0 rw
file2 = open file img rw
ioctl dev1 LOOP_CONFIGURE {fd=file2 block_size=0 offset=0 flags=0}
truncate file img 768
pwrite dev1 16384 1 pattern=1
ioctl dev1 LOOP_SET_STATUS {offset=1 flags=0}
pwrite dev1 0 4096 pattern=2
)";

// Loop DIO over the same file cut to 768 bytes: whether its first block is a
// hole or data decides the read-modify-write's outcome (semantics.md §11.7;
// finding-9973b18cf8add7c8, which failed only after the trace above).
constexpr std::string_view kDioReadAtCutEof = R"(@trace 1
@profile linux-6.1
file img size=64K
ctl3 = open loop-control rw
dev4 = open loop 0 rw
file5 = open file img rw excl direct
ioctl dev4 LOOP_CONFIGURE {fd=file5 block_size=0 offset=512 flags=0}
n7 = ioctl ctl3 LOOP_CTL_ADD 1
dev8 = open loop n7 rw
ioctl dev8 LOOP_SET_FD dev4
truncate file img 768
pwrite dev4 0 1 pattern=3
pread dev8 0 65536
)";

std::vector<Trace> traces() {
  std::vector<Trace> out;
  for (std::string_view text : {kAllocatesBlockAtCutEof, kDioReadAtCutEof}) {
    ParseResult parsed = parse_trace(text, "inline");
    EXPECT_TRUE(parsed.ok());
    out.push_back(std::move(parsed.trace));
  }
  const std::string dir = std::string(LOOPCHECK_SOURCE_DIR) + "/corpus/conformance/";
  LoadedTraces loaded = load_traces({dir + "linux-6.12/dio_backing_eof_hole_vs_data.trace",
                                     dir + "linux-6.18/dio_write_only_backing_cut_eof.trace",
                                     dir + "common/io_roundtrip_offset_mapping.trace"});
  for (Trace& t : loaded.traces) out.push_back(std::move(t));
  return out;
}

std::string fingerprint(const TraceResult& r) {
  std::string out = r.error;
  for (const StepResult& s : r.steps)
    out += fmt::format("{} {} {} | {} | {}\n", s.index, static_cast<int>(s.verdict),
                       s.data_unchecked(), format_outcome(s.model), format_outcome(s.observed));
  return out;
}

std::string run_on(inproc::InprocTarget& target, const Trace& trace) {
  const model::Profile* profile =
      trace.profile.empty() ? &model::kDefaultProfile : model::find_profile(trace.profile);
  EXPECT_NE(profile, nullptr) << trace.profile;
  return fingerprint(run_trace(trace, *profile, &target, RunOptions{}));
}

TEST(InprocTraceOrder, EveryTraceGivesWhatItGivesAloneInEitherOrder) {
  const std::vector<Trace> all = traces();
  ASSERT_EQ(all.size(), 5u);
  std::vector<std::string> alone;
  for (const Trace& t : all) {
    inproc::InprocTarget fresh;
    alone.push_back(run_on(fresh, t));
  }
  inproc::InprocTarget forward;
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(run_on(forward, all[i]), alone[i]) << "forward, trace " << i;
  inproc::InprocTarget backward;
  for (size_t i = all.size(); i-- > 0;)
    EXPECT_EQ(run_on(backward, all[i]), alone[i]) << "reverse, trace " << i;
}

}  // namespace
}  // namespace loopcheck
