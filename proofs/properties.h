// The properties `loopcheck prove` proves about the loop-geometry arithmetic, each
// under one profile, for every 64-bit input. A property is a Z3 query for a
// violation: unsat = proved, a model = a counterexample with concrete inputs.
// Some properties do not hold in Linux itself; their expected result is a
// counterexample and `known_fact` says which documented behaviour it shows
// (docs/proofs.md lists them all).
#pragma once

#include <z3++.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "inproc/driver_profile.h"
#include "model/profile.h"
#include "proofs/subjects.h"

namespace loopcheck::proofs {

enum class Result : uint8_t { Proved, Counterexample, Unknown };
std::string_view result_name(Result r);

// One kernel release as the model and as the driver describe it.
struct ProfilePair {
  const model::Profile* model;
  const inproc::DriverProfile* driver;
};
// nullopt-like: both pointers null when either side lacks the name.
ProfilePair profile_pair(std::string_view name);

struct Query {
  z3::expr violation;                                    // satisfiable iff the property fails
  std::vector<std::pair<std::string, z3::expr>> inputs;  // what a counterexample shows, in order
};

struct Property {
  std::string_view name;
  std::string_view claim;  // what is proved, one line
  Result (*expected)(const model::Profile& profile);
  std::string_view known_fact;  // why a counterexample is expected, where one is
  Query (*build)(z3::context& ctx, const Subjects& subjects, const ProfilePair& profile);
};

// Every property, in the order they are reported.
std::span<const Property> properties();
const Property* find_property(std::string_view name);  // nullptr: no such property

}  // namespace loopcheck::proofs
