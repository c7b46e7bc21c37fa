#include "trace/envelope.h"

#include <array>

namespace loopcheck {
namespace {

// Indexed by EnvelopeRule; the names are part of the output format.
constexpr std::array<std::string_view, kEnvelopeRuleCount> kRuleNames = {
    "none",
    "unattributed",
    "rundown_readahead",
    "rundown_maybe_failed_write",
    "read_over_failing_lower",
    "stale_cache_at_shrunk_eof",
    "odirect_backing_over_hole",
    "blocks_larger_than_page",
    "write_only_backing",
    "read_past_unaligned_eof",
    "direct_read_past_unaligned_eof",
    "stale_cache",
    "orphaned_dirty_pages",
    "maybe_failed_write_data",
    "zero_filled_short_request",
    "backing_bytes_unknown",
    "unaligned_odirect_file_read",
    "rmw_block_maybe_cached",
    "osync_write_unbound",
    "fsync_write_cache_unknown",
    "fsync_lower_write_cache_unknown",
    "partly_dirty_folio",
    "large_folio_at_eof",
    "failed_folio",
    "data_description_overflow",
    "stacked_fallocate",
    "allocation_unknown",
    "partition_fd",
    "uevents_not_followed",
    "uevents_lost_by_target",
    "discard_limits_unknown",
};

}  // namespace

std::string_view envelope_rule_name(EnvelopeRule rule) {
  const auto i = static_cast<size_t>(rule);
  return i < kRuleNames.size() ? kRuleNames[i] : "?";
}

std::optional<EnvelopeRule> envelope_rule_from_name(std::string_view name) {
  for (size_t i = 0; i < kRuleNames.size(); ++i)
    if (kRuleNames[i] == name) return static_cast<EnvelopeRule>(i);
  return std::nullopt;
}

std::string_view envelope_part_name(EnvelopePart part) {
  switch (part) {
    case EnvelopePart::Errno:
      return "errno";
    case EnvelopePart::Count:
      return "count";
    case EnvelopePart::Data:
      return "data";
  }
  return "?";
}

}  // namespace loopcheck
