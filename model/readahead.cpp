// The read-ahead a buffered reader gets: the device's queue/rotational and
// read_ahead_kb, and the initial window a reader's miss starts.
//
// A bind makes the loop queue rotational when the backing's device is; on 6.18
// blk_apply_bdi_limits then raises the bdi's ra_pages to twice max_sectors (2560
// KiB) and never lowers it, not even at LOOP_CLR_FD. An opener's file takes
// ra_pages at its open (file_ra_state_init), so a fd opened before the bind keeps
// 128 KiB. Probes on 6.18.44 with files on the host's rotational virtio disk:
// LOOP_CTL_ADD → 128, LOOP_SET_FD → 2560, LOOP_CLR_FD → 2560; a 64 KiB read at 0
// after a refused write at page 33 (8 KiB blocks outgrown) fails through a fd
// opened after a device's first bind there (a 64-page window reaches page 33) and
// works through one opened on a new device before its bind (32 pages): gen-7701-1351.
#include <algorithm>
#include <bit>
#include <cassert>

#include "model/machine.h"

namespace loopcheck::model {

namespace {
constexpr uint64_t kDefaultReadAheadPages = kDefaultReadAheadKb * 1024 / kPageSize;
constexpr uint64_t kRaisedReadAheadPages = kRaisedReadAheadKb * 1024 / kPageSize;
}  // namespace

// loop_update_rotational (6.1) / loop_update_limits (6.11+) at a bind.
void Machine::note_bind_rotational(Device& dev, const Desc& backing) {
  bool rotational = env.rotational && env.bdev_block_size != 0;  // tmpfs: no s_bdev
  if (backing.kind == DescKind::Loop)
    rotational = p.rotational_follows_lower_device && device(backing.device)->rotational;
  dev.rotational = rotational ? 1 : 0;
  if (rotational && p.rotational_bind_raises_readahead) dev.readahead_raised = 1;
}

uint64_t Machine::readahead_pages(const Desc& reader) {
  const uint64_t at_open = reader.readahead_raised ? kRaisedReadAheadPages : kDefaultReadAheadPages;
  // ra_pages 0 reads one page per miss (page_cache_sync_ra's forced readahead).
  return std::max<uint64_t>(1, at_open >> (2 * reader.readahead_eio_shrinks));
}

// filemap_read_folio(): a folio a buffered read needs that fails to read in calls
// shrink_readahead_size_eio(), ra_pages /= 4, for good; the read returns what it
// copied before it (a device read ends short inside the capacity only then). So
// the reader's next miss starts a smaller window. 6.18.44: 8 KiB blocks outgrown,
// a 1-byte read at 0 over a file cut to 0 → EIO; after the file grew to 10 KiB and
// LOOP_SET_STATUS64 (offset 1) dropped the cache and left a 9728-byte capacity, a
// 4 KiB read at 0 → 4096 (a window of 2 pages, one whole block), where a fresh
// fd's 4 pages reach the partial last block in one refused bio: EIO
// (gen-7704-0574). The failed folio stays in the cache, not up to date: where
// blocks outgrew the folios no read of it can work, so with the offset unchanged
// (no invalidation) the same 4 KiB read → EIO.
// `seen`: what the target returned for this read, when it was the trace's own.
void Machine::note_read_end(Desc& reader, Device& dev, uint64_t start, uint64_t asked_bytes,
                            const ReadResult& predicted, const Outcome* seen) {
  bool short_read = predicted.err != 0 || predicted.count < asked_bytes;
  bool failed = predicted.err == EIO;
  if (seen != nullptr && seen->kind == Outcome::Kind::Error) {
    short_read = true;
    failed = seen->err == EIO;
  }
  if (seen != nullptr && seen->kind == Outcome::Kind::Data) {
    short_read = seen->value < static_cast<int64_t>(asked_bytes);
    failed = false;
  }
  if (short_read && reader.readahead_eio_shrinks < kMaxReadaheadEioShrinks)
    ++reader.readahead_eio_shrinks;
  if (failed) note_refused_folio(dev, start / kPageSize * kPageSize);
}

// get_init_ra_size(): the first window of a reader's miss of `req_pages` pages,
// `max_pages` being the file's ra_pages. (A longer request gets ractl_max_pages'
// io_pages instead, which callers do not predict.)
uint64_t Machine::init_readahead_pages(uint64_t req_pages, uint64_t max_pages) {
  assert(req_pages >= 1 && req_pages <= max_pages);
  const uint64_t size = std::bit_ceil(req_pages);
  if (size <= max_pages / 32) return size * 4;
  if (size <= max_pages / 4) return size * 2;
  return max_pages;
}

}  // namespace loopcheck::model
