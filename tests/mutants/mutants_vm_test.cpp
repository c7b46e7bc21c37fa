// `loopcheck mutants` end to end on a handful of mutants of Debian 6.1's loop.c,
// built against linux-headers-6.1.0-56-cloud-amd64 and booted in QEMU, with two
// jobs: a mutant the corpus must kill (LOOP_CLR_FD on an unbound device answers
// EINVAL instead of ENXIO), and one that is equivalent (get_size subtracting a
// zero offset; mutants/judgements-linux-6.1.json) and must survive every stage.
// A small corpus keeps it to a couple of minutes. Skips loudly without QEMU,
// the kernel, the headers or the source package.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string_view>

#include "mutants/report.h"
#include "mutants/runner.h"
#include "mutants/source.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/loop_ko_build.h"
#include "targets/vm/qemu_vm.h"

namespace loopcheck::mutants {
namespace {

namespace fs = std::filesystem;
constexpr const char* kKernel = "6.1.0-56-cloud-amd64";

const Mutant* find(const MutantSet& set, std::string_view function, Operator op,
                   std::string_view original, std::string_view replacement) {
  for (const Mutant& m : set.all)
    if (m.function == function && m.op == op && m.original == original &&
        m.replacement == replacement)
      return &m;
  return nullptr;
}

// The negated-condition mutant of `function` on the line that starts `code`
// (after its indentation).
const Mutant* find_negated(const MutantSet& set, std::string_view function, std::string_view code) {
  const std::string_view source = set.source.loop_c;
  for (const Mutant& m : set.all) {
    if (m.function != function || m.op != Operator::NegatedCondition) continue;
    const size_t line = source.rfind('\n', m.edits[0].offset) + 1;
    const size_t text = source.find_first_not_of('\t', line);
    if (source.substr(text).starts_with(code)) return &m;
  }
  return nullptr;
}

// A corpus of a few common traces.
std::string small_corpus(std::string_view tag, std::initializer_list<const char*> names) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("mutants-corpus-" + std::string(tag));
  fs::remove_all(dir);
  fs::create_directories(dir / "common");
  for (const char* name : names)
    fs::copy_file(fs::path(LOOPCHECK_SOURCE_DIR) / "corpus/conformance/common" /
                      (std::string(name) + ".trace"),
                  dir / "common" / (std::string(name) + ".trace"));
  return dir.string();
}

// QEMU, the 6.1.0-56 kernel, its headers and the source package, and the
// mutants of its loop.c: each test skips loudly without them.
class MutantsVm : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!vm::qemu_available(&why)) GTEST_SKIP() << "SKIPPED: " << why;
    if (!fs::exists(vm::headers_dir_for(kKernel)))
      GTEST_SKIP() << "SKIPPED: no " << vm::headers_dir_for(kKernel)
                   << " (apt-get install linux-headers-" << kKernel << ")";
    vm::FetchResult fetched = vm::fetch_kernel(kKernel);
    if (!fetched.ok) GTEST_SKIP() << "SKIPPED: no kernel to boot: " << fetched.error;
    if (!make_mutant_set(SetOptions{}, &set, &why)) GTEST_SKIP() << "SKIPPED: " << why;
  }
  MutantSet set;
};

TEST_F(MutantsVm, OneKilledOneEquivalentWithTwoJobs) {
  std::string why;
  ASSERT_GE(set.all.size(), 200u) << "6.1's loop.c yields hundreds of mutants";

  const Mutant* killed = find(set, "loop_clr_fd", Operator::ErrnoConstant, "ENXIO", "EINVAL");
  // get_size(): `if (offset > 0) loopsize -= offset;` as `>=` subtracts 0 more often.
  const Mutant* equivalent = nullptr;
  const std::string_view code = set.source.loop_c;
  for (const Mutant& m : set.all)
    if (m.function == "get_size" && m.op == Operator::Relational &&
        code.substr(m.edits[0].offset).starts_with("> 0)\n\t\tloopsize -= offset"))
      equivalent = &m;
  ASSERT_TRUE(killed && equivalent);
  set.selected = {*killed, *equivalent};
  set.selected[0].id = 1;
  set.selected[1].id = 2;

  RunnerOptions options;
  // The one that kills the errno mutant, and others.
  options.corpus_dir = small_corpus(
      "errno", {"clr_fd_unbound_enxio", "set_fd_basic", "io_roundtrip_offset_mapping"});
  options.jobs = 2;
  options.gen_count = 2;
  options.fuzz_runs = 10;
  options.equivalent[equivalence_key(set.selected[1])] = "judged by hand (test)";
  options.equivalent["unrelated"] = "an annotation of a mutant not run";
  Baseline baseline;
  ASSERT_TRUE(prepare_baseline(set, options, &baseline, &why)) << why;
  EXPECT_EQ(baseline.corpus.size(), 3u) << "every corpus trace passes on the unmutated module";
  RunResult run = run_mutants(set, options, std::move(baseline));
  ASSERT_EQ(run.results.size(), 2u);
  EXPECT_EQ(run.results[0].status, Status::Killed);
  EXPECT_EQ(run.results[0].kill, KillKind::Divergence);
  EXPECT_EQ(run.results[0].stage, Stage::Corpus);
  EXPECT_EQ(run.results[0].killer, "common/clr_fd_unbound_enxio.trace");
  EXPECT_EQ(run.results[1].status, Status::Equivalent) << run.results[1].killer;
  EXPECT_EQ(run.results[1].reason, "judged by hand (test)");
  EXPECT_GT(run.results[1].traces_run, 3u) << "a survivor runs every stage";
  const ReportInputs in{set, options, run, "test"};
  EXPECT_NE(report_markdown(in).find("judged by hand (test)"), std::string::npos);
}

// Issue: a mutant that crashed or deadlocked the guest once took minutes to be
// reported. A mutant that leaves loop_ctl_mutex locked (loop_control_get_free
// returning 0 from a failed-looking lock) hangs the next control ioctl, and one
// that destroys a NULL workqueue (lo_free_disk) oopses; each must be reported,
// as what it is, within 30 s of its run starting (boot included).
TEST_F(MutantsVm, AHangAndACrashAreReportedWithinThirtySeconds) {
  std::string why;
  const Mutant* hang = find_negated(set, "loop_control_get_free", "if (ret)\n\t\treturn ret;");
  const Mutant* crash = find_negated(set, "lo_free_disk", "if (lo->workqueue)");
  ASSERT_TRUE(hang && crash) << "the source moved: pick the two mutants anew";
  set.selected = {*hang, *crash};
  set.selected[0].id = 1;
  set.selected[1].id = 2;

  RunnerOptions options;
  options.corpus_dir = small_corpus("crash", {"ctl_get_free_open_unbound", "ctl_add_eexist"});
  options.jobs = 1;  // alone on the machine: the times are the watchdogs', not contention's
  options.gen_count = 0;
  options.fuzz_runs = 0;
  Baseline baseline;
  ASSERT_TRUE(prepare_baseline(set, options, &baseline, &why)) << why;
  RunResult run = run_mutants(set, options, std::move(baseline));
  ASSERT_EQ(run.results.size(), 2u);
  EXPECT_EQ(run.results[0].status, Status::Killed);
  EXPECT_EQ(run.results[0].kill, KillKind::Hang) << run.results[0].killer;
  EXPECT_LT(run.results[0].run_seconds, 30.0);
  EXPECT_EQ(run.results[1].status, Status::Killed);
  EXPECT_EQ(run.results[1].kill, KillKind::Crash) << run.results[1].killer;
  EXPECT_LT(run.results[1].run_seconds, 30.0);
  for (const MutantResult& r : run.results)
    std::printf("mutant %u: %s (%s) after %.1f s of running, boot included\n", r.id,
                std::string(kill_kind_name(r.kill)).c_str(), r.killer.c_str(), r.run_seconds);
}

}  // namespace
}  // namespace loopcheck::mutants
