// Seeded random traces for differential runs: valid by construction, covering
// every operation and the argument boundaries the kernel checks (offsets and
// sizelimits around the backing size and LLONG_MAX, block sizes around the
// powers of two, every flag), several devices and openers, stacked devices and
// data I/O. Each trace ends by putting everything back (CLR_FD, close, REMOVE of
// devices it added), so a host run leaves nothing behind even when steps fail.
#pragma once

#include <cstdint>

#include "model/profile.h"
#include "trace/trace.h"

namespace loopcheck {

struct GenOptions {
  uint64_t seed = 1;
  uint32_t ops = 24;  // operations in the body, between setup and cleanup
  const model::Profile* profile = &model::kDefaultProfile;
};

// Trace number `index` of the series for `options.seed`: a pure function of both.
Trace generate_trace(const GenOptions& options, uint64_t index);

}  // namespace loopcheck
