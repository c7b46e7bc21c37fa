// `loopcheck mutants` end to end on a handful of mutants of Debian 6.1's loop.c,
// built against linux-headers-6.1.0-56-cloud-amd64 and booted in QEMU, with two
// jobs: a mutant the corpus must kill (LOOP_CLR_FD on an unbound device answers
// EINVAL instead of ENXIO), and one that is equivalent (get_size subtracting a
// zero offset; mutants/judgements-linux-6.1.json) and must survive every stage.
// A small corpus keeps it to a couple of minutes. Skips loudly without QEMU,
// the kernel, the headers or the source package.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

// A corpus of a few traces: the one that kills the errno mutant, and others.
std::string small_corpus() {
  const fs::path dir = fs::path(::testing::TempDir()) / "mutants-corpus";
  fs::remove_all(dir);
  fs::create_directories(dir / "common");
  for (const char* name : {"clr_fd_unbound_enxio", "set_fd_basic", "io_roundtrip_offset_mapping"})
    fs::copy_file(fs::path(LOOPCHECK_SOURCE_DIR) / "corpus/conformance/common" /
                      (std::string(name) + ".trace"),
                  dir / "common" / (std::string(name) + ".trace"));
  return dir.string();
}

TEST(MutantsVm, OneKilledOneEquivalentWithTwoJobs) {
  std::string why;
  if (!vm::qemu_available(&why)) GTEST_SKIP() << "SKIPPED: " << why;
  if (!fs::exists(vm::headers_dir_for(kKernel)))
    GTEST_SKIP() << "SKIPPED: no " << vm::headers_dir_for(kKernel)
                 << " (apt-get install linux-headers-" << kKernel << ")";
  vm::FetchResult fetched = vm::fetch_kernel(kKernel);
  if (!fetched.ok) GTEST_SKIP() << "SKIPPED: no kernel to boot: " << fetched.error;
  MutantSet set;
  if (!make_mutant_set(SetOptions{}, &set, &why)) GTEST_SKIP() << "SKIPPED: " << why;
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
  options.corpus_dir = small_corpus();
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

}  // namespace
}  // namespace loopcheck::mutants
