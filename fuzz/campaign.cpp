#include "fuzz/campaign.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <map>
#include <thread>

#include "fuzz/mutate.h"
#include "fuzz/prng.h"

namespace loopcheck::fuzz {
namespace {

using Clock = std::chrono::steady_clock;

struct JobResult {
  uint64_t execs = 0, steps = 0;
  std::map<std::string, RawFinding> findings;
  ModelCoverage coverage;
  size_t corpus_size = 0;
  std::vector<size_t> pairs_over_time;
};

using Buffer = std::array<uint8_t, kMaxInputBytes>;

// The next input into `buffer`: the next seed, a fresh random input, or a mutant
// of a corpus entry (crossed with another one sometimes). `made` records which,
// and the mutators applied. Returns its size.
size_t next_input(const CampaignOptions& options, const std::vector<Input>& corpus,
                  size_t& seed_index, Prng& rng, Buffer& buffer, MutationSequence& made) {
  if (seed_index < options.seeds.size()) {
    const Input& seed = options.seeds[seed_index++];
    made.origin = MutationSequence::Origin::Seed;
    const size_t size = std::min(seed.size(), buffer.size());
    std::copy_n(seed.begin(), size, buffer.begin());
    return size;
  }
  if (corpus.empty() || rng.below(16) == 0) {
    made.origin = MutationSequence::Origin::Random;
    return random_input(buffer.data(), buffer.size(), options.ops_per_input, rng);
  }
  made.origin = MutationSequence::Origin::Mutant;
  const Input& parent = corpus[rng.below(corpus.size())];
  size_t size = std::min(parent.size(), buffer.size());
  std::copy_n(parent.begin(), size, buffer.begin());
  if (corpus.size() > 1 && rng.below(8) == 0) {
    const Input& other = corpus[rng.below(corpus.size())];
    Buffer mixed{};
    size = cross_over(buffer.data(), size, other.data(), other.size(), mixed.data(), mixed.size(),
                      rng);
    buffer = mixed;
    made.push(Mutation::CrossOver);
  }
  for (uint64_t m = 1 + rng.below(4); m > 0; --m)
    size = mutate(buffer.data(), size, buffer.size(), rng, &made);
  return size;
}

// One independent loop: its own target, PRNG, corpus and coverage.
JobResult run_job(const CampaignOptions& options, unsigned job) {
  JobResult out;
  std::unique_ptr<Target> target = options.make_target ? options.make_target() : nullptr;
  ProgramRunner runner(target.get());
  Prng rng(options.seed * 0x9E3779B97F4A7C15ull + job + 1);
  std::vector<Input> corpus = options.seeds;
  Program program;
  Buffer buffer{};
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options.seconds));
  constexpr int kGrowthPoints = 10;
  const bool by_runs = options.runs > 0;
  size_t seed_index = 0;

  for (;;) {
    if (by_runs ? out.execs >= options.runs : (out.execs % 16 == 0 && Clock::now() >= deadline))
      break;
    MutationSequence made;
    const size_t size = next_input(options, corpus, seed_index, rng, buffer, made);
    decode({buffer.data(), size}, program, options.decode);
    ModelCoverage pairs;
    Finding finding = runner.run(program, &pairs);
    ++out.execs;
    if (options.live_execs) options.live_execs->fetch_add(1, std::memory_order_relaxed);
    const size_t before = out.coverage.count();
    out.coverage.merge(pairs);
    if (out.coverage.count() > before)
      corpus.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size));
    if (finding && !out.findings.contains(finding.signature)) {
      if (options.live_findings) options.live_findings->fetch_add(1, std::memory_order_relaxed);
      std::string signature = finding.signature;
      out.findings.emplace(
          std::move(signature),
          RawFinding{Input(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size)),
                     finding, made});
    }
    // Growth points: by executions when the budget is runs (deterministic), by time otherwise.
    const size_t point = out.pairs_over_time.size();
    if (point < kGrowthPoints) {
      const bool reached =
          by_runs ? out.execs * kGrowthPoints >= options.runs * (point + 1)
                  : Clock::now() - started >=
                        (deadline - started) * static_cast<int>(point + 1) / kGrowthPoints;
      if (reached) out.pairs_over_time.push_back(out.coverage.count());
    }
  }
  out.steps = runner.steps_run();
  out.corpus_size = corpus.size();
  return out;
}

}  // namespace

CampaignResult run_campaign(const CampaignOptions& options) {
  assert(options.jobs >= 1);
  const auto started = Clock::now();
  std::vector<JobResult> jobs(options.jobs);
  if (options.jobs == 1) {
    jobs[0] = run_job(options, 0);
  } else {
    std::vector<std::thread> threads;
    for (unsigned j = 0; j < options.jobs; ++j)
      threads.emplace_back([&, j] { jobs[j] = run_job(options, j); });
    for (std::thread& t : threads) t.join();
  }
  CampaignResult result;
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  // Merged in job order, findings by signature: the result does not depend on
  // which thread finished first.
  std::map<std::string, RawFinding> findings;
  for (JobResult& job : jobs) {
    result.execs += job.execs;
    result.steps += job.steps;
    result.coverage.merge(job.coverage);
    result.corpus_size += job.corpus_size;
    for (auto& [signature, raw] : job.findings) findings.try_emplace(signature, std::move(raw));
    if (result.pairs_over_time.size() < job.pairs_over_time.size())
      result.pairs_over_time.resize(job.pairs_over_time.size());
    for (size_t i = 0; i < job.pairs_over_time.size(); ++i) {
      result.pairs_over_time[i] = std::max(result.pairs_over_time[i], job.pairs_over_time[i]);
    }
  }
  for (auto& [signature, raw] : findings) result.findings.push_back(std::move(raw));
  return result;
}

}  // namespace loopcheck::fuzz
