// Equality and hashing work on the bytes: State has no padding and keeps unused
// slots zeroed (model/state.h), so byte equality is value equality.
#include "model/state.h"

#include <cstring>

#include <xxhash.h>

namespace loopcheck::model {

bool operator==(const State& a, const State& b) {
  return std::memcmp(&a, &b, sizeof(State)) == 0;
}

uint64_t hash_state(const State& s) {
  return XXH3_64bits(&s, sizeof(State));
}

}  // namespace loopcheck::model
