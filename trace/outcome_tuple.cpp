// Outcome tuples (see outcome_tuple.h).
#include "trace/outcome_tuple.h"

#include <fmt/format.h>

#include <cassert>

#include "trace/names.h"

namespace loopcheck {

TupleOutcome tuple_outcome(const Outcome& o) {
  assert(o.kind != Outcome::Kind::Skipped);
  TupleOutcome t;
  switch (o.kind) {
    case Outcome::Kind::Error:
      t.kind = TupleOutcome::Kind::Errno;
      t.err = o.err;
      return t;
    case Outcome::Kind::Status:
      t.kind = TupleOutcome::Kind::Status;
      return t;
    case Outcome::Kind::Text:
    case Outcome::Kind::Uevents:  // never in a block (validate_block.cpp); a text else
      t.kind = TupleOutcome::Kind::Text;
      return t;
    case Outcome::Kind::Value:
    case Outcome::Kind::Data:
    case Outcome::Kind::Skipped:
      break;
  }
  // Fds and device indices differ between machines (and between the orders a
  // race takes): only that the call succeeded is comparable.
  if (o.role == ValueRole::Fd) {
    t.kind = TupleOutcome::Kind::Fd;
  } else if (o.role == ValueRole::DevIndex) {
    t.kind = TupleOutcome::Kind::Dev;
  } else {
    t.kind = TupleOutcome::Kind::Value;
    t.value = o.value;
  }
  return t;
}

std::string format_tuple_outcome(const TupleOutcome& t) {
  switch (t.kind) {
    case TupleOutcome::Kind::Any:
      return "*";
    case TupleOutcome::Kind::Value:
      return std::to_string(t.value);
    case TupleOutcome::Kind::Fd:
      return "fd";
    case TupleOutcome::Kind::Dev:
      return "dev";
    case TupleOutcome::Kind::Errno: {
      const std::string_view name = errno_name(t.err);
      return name.empty() ? fmt::format("errno:{}", t.err) : std::string(name);
    }
    case TupleOutcome::Kind::Status:
      return "status";
    case TupleOutcome::Kind::Text:
      return "text";
  }
  return "?";
}

bool tuple_allowed(const OutcomeTuple& allowed, const OutcomeTuple& observed) {
  if (allowed.count != observed.count) return false;
  for (size_t i = 0; i < allowed.count; ++i) {
    if (allowed.at[i].kind == TupleOutcome::Kind::Any) continue;
    if (allowed.at[i] != observed.at[i]) return false;
  }
  return true;
}

bool tuple_allowed(std::span<const OutcomeTuple> allowed, const OutcomeTuple& observed) {
  for (const OutcomeTuple& a : allowed)
    if (tuple_allowed(a, observed)) return true;
  return false;
}

std::string format_tuple(const Trace& trace, const ConcurrentBlock& block,
                         const OutcomeTuple& tuple) {
  std::string out;
  uint8_t previous_thread = 0;
  for (uint32_t i = block.first; i < block.end && i - block.first < tuple.count; ++i) {
    const uint8_t thread = trace.stmts[i].thread;
    assert(thread >= 1 && thread <= block.threads.size());
    if (thread != previous_thread) {
      if (!out.empty()) out += ' ';
      out += block.threads[thread - 1u] + '=';
      previous_thread = thread;
    } else {
      out += ',';
    }
    out += format_tuple_outcome(tuple.at[i - block.first]);
  }
  return out;
}

}  // namespace loopcheck
