// Buffered reads of a device whose logical blocks outgrew its page cache's folios
// (6.15+: LOOP_SET_BLOCK_SIZE above the page size on an open device keeps the
// 4 KiB folios chosen at the first open; docs/semantics.md §11.9).
//
// Every read-in is a bio of whole 4 KiB pages, and blk_mq_submit_bio fails a bio
// whose start or size is not a multiple of the logical block size (bio_unaligned,
// 6.11+). filemap_read brings the first page that is not up to date in by
// readahead (a run of absent pages starting at that very page: one bio per run,
// mpage_readahead) or, for a folio already in the cache but not up to date, by
// ->read_folio (one page); the read ends at the first page still not up to date
// (EIO when that is its first). A failed folio stays in the cache, not up to date,
// so a later read reaching it fails again without readahead. Probes on 6.18.44,
// pinned by linux-6.18/large_block_refused_*.trace and large_block_read_ends_*.
#include <algorithm>

#include "model/machine.h"

namespace loopcheck::model {

namespace {

// Readahead reaches at least this far past a page it starts at (get_init_ra_size of
// one page with the smallest ra_pages): a refused run covers as much.
constexpr uint64_t kReadaheadMinPages = 32;

}  // namespace

// Every byte of [a, z) is in a folio the trace wrote (dirty, or kept clean by a
// refused writeback in `held`), or went through lately (the sure range).
bool Machine::written_up_to_date(const Device& dev, uint64_t a, uint64_t z) {
  uint64_t pos = a;
  while (pos < z) {
    const uint64_t before = pos;
    if (dev.cache_populated && dev.sure_lo <= pos && pos < dev.sure_hi) pos = dev.sure_hi;
    for (const ExtentList* list : {&dev.dirty, &dev.held})
      for (int i = 0; i < list->count; ++i)
        if (list->e[i].start <= pos && pos < list->e[i].end) pos = list->e[i].end;
    if (pos == before) return false;
  }
  return true;
}

// Where the buffered read of [start, end) ends, decided only where the model
// knows the page it stops at: Unknown otherwise. Pages outside [cache_lo,
// cache_hi) are absent; one inside it that was not written is a refused folio
// while Device::refused_reads_only holds, else it may have been read in.
// Readahead only reads forward from the page a read needs, so a run of absent
// pages holding the first page not up to date starts at that page.
OutgrownRead Machine::outgrown_read(const Device& dev, uint64_t start, uint64_t end,
                                    const ReadRequest& request, uint64_t backing_end) const {
  OutgrownRead o;
  const uint64_t cap = arith::device_bytes(dev.capacity);
  uint64_t at = start / kPageSize * kPageSize;
  while (at < end && written_up_to_date(dev, at, at + kPageSize)) at += kPageSize;
  o.stop = std::min(at, end);
  if (at >= end) return o.kind = OutgrownRead::Kind::Decided, o;
  const bool present = may_be_cached(dev, at, at + kPageSize);
  if (at == dev.refused_page) {  // refused again (Device::refused_page)
    o.may_have_read_ahead = true;
    return o.kind = OutgrownRead::Kind::Decided, o;
  }
  if (at % dev.block_size != 0) {
    // Readahead's run, or the folio's own read, starts at `at`: refused, whatever its
    // length (readahead's history, which the model does not keep, only sets that).
    if (present) {
      if (!dev.refused_reads_only) return o;  // it may be up to date after all
      o.may_have_read_ahead = true;           // a failed folio carrying a readahead mark
    } else {
      const uint64_t req_pages = (end - 1) / kPageSize - at / kPageSize + 1;
      o.failed_lo = at;
      o.failed_hi = std::min(cap, at + std::max(req_pages, kReadaheadMinPages) * kPageSize);
    }
    return o.kind = OutgrownRead::Kind::Decided, o;
  }
  // Aligned: only the initial readahead at index 0 (page_cache_sync_ra: `!index`)
  // has a window the model can tell; it stops at the first page already present.
  // Its size follows the request's, which a stacked upper device's readahead
  // may have made longer than this read (finding d77dc464).
  if (at != 0 || present || request.end == kRequestEndUnknown) return o;
  const uint64_t req_pages = (std::max(end, request.end) - 1) / kPageSize + 1;
  if (req_pages > request.readahead_pages) return o;
  const uint64_t window =
      std::min(cap, init_readahead_pages(req_pages, request.readahead_pages) * kPageSize);
  uint64_t run = 0;
  while (run < window && !may_be_cached(dev, run, run + kPageSize)) run += kPageSize;
  // The request is cut at the capacity (guard_bio_eod): a partial last page makes it
  // end off a block boundary (6.18.44: a 64 KiB read at 0 of a 65024-byte device
  // with 8 KiB blocks → EIO, finding 1ab184d7).
  run = std::min(run, window);
  // The page stopping it may be up to date after all, unless it is the refused
  // folio the model knows of (6.18.44: after a refused 1-byte write at page 33, a
  // 64-page window ends there, 132 KiB off an 8 KiB boundary: EIO; gen-7701-1351).
  if (run < window && !written_up_to_date(dev, run, run + kPageSize) && run != dev.refused_page)
    return o;
  if (run % dev.block_size != 0) {
    o.failed_lo = 0;
    o.failed_hi = run;
    return o.kind = OutgrownRead::Kind::Decided, o;
  }
  // Accepted: pages [0, run) come in, one of them marked for readahead. Past them,
  // or reaching the backing EOF, the general rules decide.
  if (end > run || run > backing_end) return o;
  o.stop = end;
  o.read_in_hi = run;
  return o.kind = OutgrownRead::Kind::Decided, o;
}

// An upper device's page cache reads its lower loop device in the requests its own
// readahead makes. On a cold cache a read at 0 starts the initial window
// (init_readahead_pages); the loop driver (lo_rw_aio, 6.12+) sends it to the lower
// device as one read, whose own readahead sizes its window from that length
// (6.18.44: a 4 KiB read at 0 of a 512-byte-block upper device over a lower device
// with 32 KiB blocks outgrown → 16 KiB request → 32 KiB lower window, one whole
// block: 4096 bytes; finding d77dc464). A warm upper cache's window depends on its
// history, which the model does not keep. A read not through the page cache sends
// its own range.
uint64_t Machine::upper_request_bytes(const Device& upper, uint64_t start, uint64_t end,
                                      bool whole_folios, uint64_t readahead_pages) {
  if (!whole_folios) return end - start;
  if (start / kPageSize != 0) return end - start;  // the lower read starts past 0 then
  if (upper.cache_populated) return kRequestEndUnknown;
  const uint64_t cap = arith::device_bytes(upper.capacity);
  const uint64_t req_pages = (end - 1) / kPageSize + 1;
  if (req_pages > readahead_pages) return kRequestEndUnknown;
  const uint64_t window = init_readahead_pages(req_pages, readahead_pages) * kPageSize;
  return std::max(end, std::min(cap, window)) - start;
}

// The cache after such a read: refused folios stay (not up to date); pages read in
// are up to date and readahead may go on from its mark, so from then on the
// model no longer knows which pages are.
void Machine::note_outgrown_read(Device& dev, const OutgrownRead& o) {
  const uint64_t cap = arith::device_bytes(dev.capacity);
  if (o.failed_lo < o.failed_hi) {
    const uint8_t refused_only = dev.refused_reads_only;
    note_cached(dev, o.failed_lo, o.failed_hi);
    dev.refused_reads_only = refused_only;  // nothing came in
  }
  if (o.read_in_hi != 0) {
    note_cached(dev, 0, cap);
    note_sure(dev, 0, o.read_in_hi);
  }
  if (o.may_have_read_ahead) note_cached(dev, o.stop / kPageSize * kPageSize, cap);
  if (o.failed_lo < o.failed_hi || o.may_have_read_ahead)
    dev.refused_page = o.stop / kPageSize * kPageSize;  // the read ended at it
}

// block_write_begin leaves the folio it grabbed in the cache when the read fails:
// a later read reaches it as a refused folio, not by readahead (probe p9 on
// 6.18.44: after a 1-byte write at 0 failed, a read at 0 fails too).
void Machine::note_refused_folio(Device& dev, uint64_t page) {
  if (!blocks_outgrow_cache(dev)) return;
  const uint8_t refused_only = dev.refused_reads_only;
  note_cached(dev, page, page + kPageSize);
  dev.refused_reads_only = refused_only;
  if (dev.refused_page == kNoPage) dev.refused_page = page;  // the model tracks one
}

// A written page is up to date without a read; where blocks outgrew the cache no
// read came in, so Device::refused_reads_only still holds.
void Machine::note_written_folios(Device& dev, uint64_t a, uint64_t z) {
  const uint8_t refused_only = dev.refused_reads_only;
  note_cached(dev, a, z);
  if (blocks_outgrow_cache(dev)) dev.refused_reads_only = refused_only;
  if (a <= dev.refused_page && dev.refused_page < z) dev.refused_page = kNoPage;
}

}  // namespace loopcheck::model
