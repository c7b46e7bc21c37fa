#include "proofs/prover.h"

#include <cassert>
#include <chrono>
#include <map>

namespace loopcheck::proofs {
namespace {

std::string value_text(const z3::model& model, const z3::expr& input) {
  const z3::expr v = model.eval(input, /*model_completion=*/true);
  if (v.is_bool()) return v.is_true() ? "true" : "false";
  uint64_t n = 0;
  if (!v.is_numeral_u64(n))
    return v.to_string();  // wider than the inputs ever are; shown as Z3 prints it
  return std::to_string(n);
}

std::vector<std::pair<std::string, std::string>> shown_values(
    const z3::model& model, const std::vector<std::pair<std::string, z3::expr>>& inputs) {
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& [name, input] : inputs) values.emplace_back(name, value_text(model, input));
  return values;
}

}  // namespace

// A counterexample with small numbers is one a reader can check by hand: ask again
// with every number bounded, first tightly, then loosely, and keep the first model
// found. (Only for display: the property already failed.)
std::vector<std::pair<std::string, std::string>> readable_counterexample(const Query& query,
                                                                         const z3::model& any,
                                                                         unsigned timeout_ms) {
  z3::context& ctx = query.violation.ctx();
  for (const uint64_t bound : {uint64_t{1} << 16, uint64_t{1} << 20, uint64_t{1} << 40}) {
    z3::solver solver(ctx);
    z3::params params(ctx);
    params.set("timeout", timeout_ms);
    solver.set(params);
    solver.add(query.violation);
    for (const auto& [name, input] : query.inputs)
      if (input.is_bv()) solver.add(z3::ule(input, ctx.bv_val(bound, input.get_sort().bv_size())));
    if (solver.check() == z3::sat) return shown_values(solver.get_model(), query.inputs);
  }
  return shown_values(any, query.inputs);
}

Verdict prove(const Property& property, const ProfilePair& profile, const Subjects& subjects,
              unsigned timeout_ms) {
  assert(profile.model && profile.driver);
  assert(timeout_ms > 0);
  Verdict verdict;
  verdict.profile = profile.model->name;
  verdict.property = property.name;
  verdict.expected = property.expected(*profile.model);

  const auto start = std::chrono::steady_clock::now();
  z3::context ctx;
  const Query query = property.build(ctx, subjects, profile);
  // A fresh solver with nothing pushed: Z3 then bit-blasts the whole question,
  // far faster on these problems than its incremental core.
  z3::solver solver(ctx);
  z3::params params(ctx);
  params.set("timeout", timeout_ms);
  solver.set(params);
  solver.add(query.violation);
  switch (solver.check()) {
    case z3::unsat:
      verdict.result = Result::Proved;
      break;
    case z3::sat:
      verdict.result = Result::Counterexample;
      verdict.counterexample = readable_counterexample(query, solver.get_model(), timeout_ms);
      break;
    case z3::unknown:
      verdict.result = Result::Unknown;
      verdict.unknown_reason = solver.reason_unknown();
      break;
  }
  verdict.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return verdict;
}

std::vector<Verdict> prove_all(std::span<const ProfilePair> profiles,
                               std::span<const Property> properties, const Subjects& subjects,
                               unsigned timeout_ms) {
  std::vector<Verdict> verdicts;
  // (property name + SMT-LIB text of its query) -> index of the verdict that answered it
  std::map<std::string, size_t> answered;
  for (const ProfilePair& profile : profiles) {
    for (const Property& property : properties) {
      std::string key;
      {
        z3::context ctx;
        const Query query = property.build(ctx, subjects, profile);
        key = std::string(property.name) + "\n" + query.violation.to_string();
      }
      if (auto it = answered.find(key); it != answered.end()) {
        Verdict reused = verdicts[it->second];
        reused.profile = profile.model->name;
        reused.expected = property.expected(*profile.model);
        reused.milliseconds = 0;
        reused.same_query_as = verdicts[it->second].profile;
        verdicts.push_back(std::move(reused));
        continue;
      }
      answered.emplace(std::move(key), verdicts.size());
      verdicts.push_back(prove(property, profile, subjects, timeout_ms));
    }
  }
  return verdicts;
}

}  // namespace loopcheck::proofs
