// The model's envelopes, named. Where the kernel's result depends on state a trace
// does not control (readahead, writeback timing, filesystem allocation), the model
// widens its outcome: an alternative errno (Outcome::also_err), a range of byte
// counts (Outcome::min_value) or bytes it cannot predict (Outcome::data_known ==
// false). Each place in the model that widens an outcome tags it with one rule, so
// a step that passes only inside an envelope says which rule let it through
// (docs/envelopes.md). The names are stable: they appear in text and JSON output.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace loopcheck {

enum class EnvelopeRule : uint8_t {
  None,          // the outcome is not widened
  Unattributed,  // widened by a place that forgot to name its rule (a model bug)
  // Reads of a device in Rundown: readahead may have cached the range before the detach.
  RundownReadahead,
  // The dirty pages read back in Rundown include a write that may have failed.
  RundownMaybeFailedWrite,
  // A stacked lower device that cannot serve reads: cached folios still do.
  ReadOverFailingLower,
  // The backing file shrank behind pages the device may still cache.
  StaleCacheAtShrunkEof,
  // 6.1, backing opened O_DIRECT: a misaligned direct read over a hole needs no bio.
  OdirectBackingOverHole,
  // 6.15+: logical blocks larger than the cache's folios; readahead decides.
  BlocksLargerThanPage,
  // 6.1: a write-only backing file; folios cached clean before may still serve.
  WriteOnlyBacking,
  // A read past an EOF that is not sector aligned: how far readahead cached decides.
  ReadPastUnalignedEof,
  // A direct device read past an unaligned EOF: the bytes past it repeat the tail.
  DirectReadPastUnalignedEof,
  // The device cache may hold bytes the backing file no longer has.
  StaleCache,
  // Dirty pages orphaned by a detach may still be read.
  OrphanedDirtyPages,
  // The dirty data holds a write that may have failed (see RmwBlockMaybeCached).
  MaybeFailedWriteData,
  // 6.1 zero-fills every bio of a request that read short: readahead picked them.
  ZeroFilledShortRequest,
  // The backing file's bytes are no longer predicted (writeback past its EOF).
  BackingBytesUnknown,
  // An unaligned O_DIRECT file read: it fails only where it meets allocated blocks.
  UnalignedOdirectFileRead,
  // A write's read-modify-write needs a block that may still be cached clean.
  RmwBlockMaybeCached,
  // An O_SYNC write on an unbound device whose write cache setting is unknown.
  OsyncWriteUnbound,
  // fsync of an unbound device whose write cache setting is unknown.
  FsyncWriteCacheUnknown,
  // fsync reaching a stacked lower device whose write cache setting is unknown.
  FsyncLowerWriteCacheUnknown,
  // Soft blocks below the logical size: a partly dirty folio fails to read in
  // unless it was cached whole before the write.
  PartlyDirtyFolio,
  // 6.18: readahead's large folio holding the backing EOF fails whole.
  LargeFolioAtEof,
  // A folio the read could not bring in: the read ends before it; one cached
  // before may still serve it (readahead decides how far).
  FailedFolio,
  // The read's description has more runs than an outcome can hold.
  DataDescriptionOverflow,
  // A discard or write-zeroes through a device stacked on a lower loop device:
  // the lower device's own fallocate (blkdev_fallocate) is not modelled.
  StackedFallocate,
  // `allocated file`: the file met an allocation the model does not follow (a
  // block past the 64 it tracks, preallocation past the EOF, a stacked request).
  AllocationUnknown,
  // A partition fd's I/O and data ioctls (its own page cache), or a partition
  // table the model could not read: any outcome.
  PartitionFd,
  // `uevents` after more events than the model keeps (kMaxUevents), after a
  // concurrent block (the threads' order), or after a step the model does not
  // follow: the sequence is not predicted.
  UeventsNotFollowed,
  // The target's listener lost events (ENOBUFS): its sequence is not whole.
  UeventsLostByTarget,
  // A device that existed before the trace and was not bound in it: its discard
  // limits are those its earlier binds left (a detach keeps them).
  DiscardLimitsUnknown,
};
inline constexpr int kEnvelopeRuleCount = static_cast<int>(EnvelopeRule::DiscardLimitsUnknown) + 1;

// The stable snake_case name ("rundown_readahead"); "none" for None.
std::string_view envelope_rule_name(EnvelopeRule rule);
std::optional<EnvelopeRule> envelope_rule_from_name(std::string_view name);

// What part of an outcome a step passed through.
enum class EnvelopePart : uint8_t {
  Errno,  // the target returned the model's alternative errno
  Count,  // the target's byte count lay in the model's range, short of its main count
  Data,   // the count matched but the model could not predict the bytes
};
inline constexpr int kEnvelopePartCount = 3;
std::string_view envelope_part_name(EnvelopePart part);

}  // namespace loopcheck
