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
  return reader.readahead_raised ? kRaisedReadAheadPages : kDefaultReadAheadPages;
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
