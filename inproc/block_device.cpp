#include "inproc/block_device.h"

#include <linux/fs.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "inproc/arith.h"
#include "inproc/uapi.h"

namespace loopcheck::inproc {
namespace {

// Out of line on purpose: inlined, the compiler turns a variable-length memcpy
// into `rep movsq`, which copies page-cache pages at about half the speed of
// the C library's vectorised memcpy.
[[gnu::noinline]] void copy_out(uint8_t* to, const uint8_t* from, uint64_t n) {
  std::memcpy(to, from, n);
}

constexpr uint64_t kSectorsPerPage = kPageSize / kSectorSize;
static_assert(kSectorsPerPage == 8, "SectorMask holds one bit per sector of a page");

}  // namespace

SectorMask sectors_of(uint64_t from, uint64_t to) {
  assert(from < to && to <= kPageSize);
  const uint64_t a = from / kSectorSize, z = (to + kSectorSize - 1) / kSectorSize;
  return static_cast<SectorMask>((1u << z) - (1u << a));
}

BlockDevice::BlockDevice() = default;

BlockDevice::~BlockDevice() {
  // Workers may still be writing into cached pages; the arena frees them after.
  queue_.stop();
}

// ---- open / release ---------------------------------------------------------------

int BlockDevice::open(const void* excl_holder) {
  {
    std::lock_guard lock(open_mu_);
    if (excl_holder != nullptr) {
      if ((holder_ != nullptr && holder_ != excl_holder) || partition_claims_ > 0) return -EBUSY;
      holder_ = excl_holder;
    }
    if (openers_.fetch_add(1) == 0) {
      {
        std::lock_guard cache_lock(cache_mu_);  // read() updates it under this lock
        ra_prev_page_ = kNoPage;                // file_ra_state_init(): no history
      }
      // set_init_blocksize(): the largest power of two up to a page that divides the
      // size, starting from the logical block size.
      uint64_t size = arith::bytes_of_sectors(capacity_sectors());
      uint32_t bsize = logical_block_size();
      while (bsize < kPageSize && (size & bsize) == 0) bsize <<= 1;
      soft_block_size_.store(bsize);
    }
  }
  // 6.1 blkdev_get_whole → bdev_disk_changed: sync_blockdev (errors recorded in the
  // mapping, not returned) and invalidate_bdev. Outside open_mu_, as release's sync.
  if (rescan_at_next_open_.exchange(false)) {
    (void)sync();
    invalidate();
  }
  return 0;
}

bool BlockDevice::release(const void* excl_holder) {
  {
    std::lock_guard lock(open_mu_);
    if (excl_holder != nullptr && holder_ == excl_holder) holder_ = nullptr;
    assert(openers_.load() > 0);
    if (openers_.load() > 1) {
      openers_.fetch_sub(1);
      return false;
    }
  }
  // Last close: blkdev_flush_mapping() writes back and drops the cache before the
  // driver's release can tear the device down. The count drops afterwards so a
  // concurrent LOOP_CTL_REMOVE cannot see zero openers mid-flush.
  // A failure of that writeback stays in the errseq: a later opener's fsync
  // reports it while the device stays bound; a teardown forgets it.
  (void)sync();
  invalidate();
  openers_.fetch_sub(1);
  return true;
}

bool BlockDevice::claimed_by_other(const void* who) const {
  std::lock_guard lock(open_mu_);
  return (holder_ != nullptr && holder_ != who) || partition_claims_ > 0;
}

bool BlockDevice::held_exclusively() const {
  std::lock_guard lock(open_mu_);
  return holder_ != nullptr;
}

void BlockDevice::note_partition_claim(bool claimed) {
  std::lock_guard lock(open_mu_);
  partition_claims_ += claimed ? 1 : -1;
  assert(partition_claims_ >= 0);
}

// blk_apply_bdi_limits (6.18): a rotational queue without io_opt reads ahead twice
// its max_sectors (1280 KiB), and ra_pages never decreases.
void BlockDevice::set_rotational(bool on, bool raises_readahead) {
  rotational_.store(on);
  if (on && raises_readahead) read_ahead_kb_.store(std::max<uint32_t>(read_ahead_kb_.load(), 2560));
}

// ---- page cache helpers -------------------------------------------------------------

// get_init_ra_size() for the reading file's ra_pages (a longer request reads as far
// as it asks).
uint64_t BlockDevice::init_readahead_pages(uint64_t req_pages, uint64_t max_pages) {
  uint64_t size = std::bit_ceil(req_pages);
  if (size <= max_pages / 32) return size * 4;
  if (size <= max_pages / 4) return size * 2;
  return std::max(max_pages, req_pages);
}

// The kernel's page cache for the bdev uses folios of the block size the device
// had when it was first opened (BLKBSZGET's soft block size, at least a page);
// blocks grown past that later (LOOP_SET_BLOCK_SIZE on an open device) make
// every folio-sized bio unaligned. Pages here are always 4 KiB, which is
// invisible as long as they are no smaller than the kernel's folios would be.
bool BlockDevice::pages_smaller_than_blocks() const {
  return logical_block_size() > std::max<uint64_t>(kPageSize, soft_block_size_.load());
}

uint8_t* BlockDevice::alloc_page_locked() {
  return arena_.alloc();
}

void BlockDevice::free_page_locked(uint8_t* p) {
  arena_.free(p);
}

// Bytes of page `index` that lie inside the device (a multiple of 512).
uint64_t BlockDevice::page_bytes(uint64_t index, uint64_t dev_bytes) const {
  uint64_t start = index * kPageSize;
  if (start >= dev_bytes) return 0;
  return std::min<uint64_t>(kPageSize, dev_bytes - start);
}

// The sectors of a page whose buffer heads bytes [from, to) of it touch: buffers
// have the soft block size, a whole page once that reaches a page.
SectorMask BlockDevice::buffers_of(uint64_t from, uint64_t to) const {
  const uint64_t soft = soft_block_size_.load();
  if (soft >= kPageSize) return kWholePage;
  return sectors_of(from / soft * soft,
                    std::min<uint64_t>(kPageSize, (to + soft - 1) / soft * soft));
}

// Every sector of the page inside the device is up to date.
bool BlockDevice::up_to_date_locked(uint64_t index, uint64_t dev_bytes) {
  const CachedPage* page = pages_.find(index);
  if (page == nullptr) return false;
  const uint64_t bytes = page_bytes(index, dev_bytes);
  const SectorMask inside = bytes == 0 ? 0 : sectors_of(0, bytes);
  return (page->uptodate & inside) == inside;
}

// block_read_full_folio() for the buffers of page `index` in `want` that are not up
// to date: each is a request of its own (submit_bh), cut at the capacity; one past
// the end is zeroed without I/O. Soft blocks below the logical block size make
// requests the queue refuses (unaligned_bios_refused). The page is added, not up to
// date, when it was not cached (the kernel grabbed the folio). -EIO when any failed;
// the buffers that worked are up to date all the same.
int BlockDevice::read_buffers_locked(uint64_t index, SectorMask want, uint64_t dev_bytes) {
  CachedPage& page = pages_.slot(index);
  if (page.data == nullptr) {
    page.data = alloc_page_locked();
    page.uptodate = 0;
    page.dirty = 0;
  }
  const uint64_t soft = std::min<uint64_t>(soft_block_size_.load(), kPageSize);
  const uint64_t lbs = logical_block_size(), page_pos = index * kPageSize;
  bios_.clear();
  bool refused = false;
  for (uint64_t at = 0; at < kPageSize; at += soft) {
    const SectorMask buffer = sectors_of(at, at + soft);
    if ((want & buffer) == 0 || (page.uptodate & buffer) == buffer) continue;
    const uint64_t bytes =
        std::min(soft, dev_bytes > page_pos + at ? dev_bytes - page_pos - at : 0);
    std::memset(page.data + at + bytes, 0, soft - bytes);
    if (bytes == 0) {
      page.uptodate |= buffer;
    } else if (unaligned_bios_refused_.load() && ((page_pos + at) % lbs != 0 || bytes % lbs != 0)) {
      refused = true;
    } else {
      bios_.push_back(
          Bio{ReqOp::Read, (page_pos + at) / kSectorSize, page.data + at, bytes, nullptr});
    }
  }
  // One at a time, as nothing plugs them: no two merge into one request.
  bool failed = refused;
  for (Bio& bio : bios_) {
    Completion done;
    bio.completion = &done;
    ++stats_.read_misses;
    const uint64_t at = bio.sector * kSectorSize - page_pos;
    if (queue_.submit_and_wait(bio) == 0)
      page.uptodate |= sectors_of(at, at + soft);
    else
      failed = true;
  }
  return failed ? -EIO : 0;
}

// Read the given (missing) pages in one plugged batch, so adjacent pages merge
// into one request as readahead's would. Failed pages are reported, not cached.
int BlockDevice::read_in_locked(const std::vector<uint64_t>& indices, uint64_t dev_bytes,
                                std::vector<uint64_t>* failed) {
  // Blocks larger than this cache's 4 KiB pages (docs/semantics.md §11.9): a run of adjacent
  // pages is one request, which the queue refuses unless it covers whole blocks
  // (so a partial-block write, which needs its page read in, fails too).
  const uint64_t lbs = logical_block_size();
  if (pages_smaller_than_blocks()) {
    std::vector<uint64_t> whole;
    for (size_t i = 0; i < indices.size();) {
      size_t j = i;
      while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
      const uint64_t from = indices[i] * kPageSize,
                     to = indices[j] * kPageSize + page_bytes(indices[j], dev_bytes);
      const bool refused = from % lbs != 0 || (to - from) % lbs != 0;
      for (size_t k = i; k <= j; ++k) (refused ? *failed : whole).push_back(indices[k]);
      if (refused) refused_pages_.insert(indices.begin() + i, indices.begin() + j + 1);
      i = j + 1;
    }
    if (whole.size() != indices.size()) {
      if (!whole.empty()) (void)read_in_locked(whole, dev_bytes, failed);
      return -EIO;
    }
  }
  // The page holding a partial last block: its bio is cut short at the end and
  // refused (unaligned_bios_refused), so the page never becomes up to date.
  if (unaligned_bios_refused_.load() && dev_bytes % lbs != 0) {
    const uint64_t partial_block = dev_bytes / lbs * lbs;
    std::vector<uint64_t> whole;
    for (uint64_t index : indices)
      (index * kPageSize + page_bytes(index, dev_bytes) > partial_block ? *failed : whole)
          .push_back(index);
    if (whole.size() != indices.size()) {
      if (!whole.empty()) (void)read_in_locked(whole, dev_bytes, failed);
      return -EIO;
    }
  }
  bios_.clear();
  completions_.assign(indices.size(), Completion{});
  for (size_t i = 0; i < indices.size(); ++i) {
    uint8_t* data = alloc_page_locked();
    uint64_t bytes = page_bytes(indices[i], dev_bytes);
    assert(bytes > 0 && bytes % kSectorSize == 0);
    std::memset(data + bytes, 0, kPageSize - bytes);
    bios_.push_back(
        Bio{ReqOp::Read, indices[i] * (kPageSize / kSectorSize), data, bytes, &completions_[i]});
  }
  queue_.submit(bios_);
  for (size_t i = 0; i < indices.size(); ++i) {
    queue_.wait(completions_[i]);
    ++stats_.read_misses;
  }
  fail_runs_with_a_failed_page(indices);
  int err = 0;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (completions_[i].status != 0) {
      err = -EIO;
      failed->push_back(indices[i]);
      if (pages_smaller_than_blocks()) refused_pages_.insert(indices[i]);
      free_page_locked(static_cast<uint8_t*>(bios_[i].buf));
    } else {
      CachedPage& page = pages_.slot(indices[i]);
      page.data = static_cast<uint8_t*>(bios_[i].buf);
      page.uptodate = kWholePage;
      page.dirty = 0;
    }
  }
  return err;
}

// Readahead puts a run of adjacent pages in one bio (mpage_readahead), which ends
// with one status: a request that completed its first pages and then failed (a
// short read the kiocb path requeues, blk_update_request) fails them all (6.18.44:
// a 4 KiB read at 0 over a file cut to 4 KiB, 8 KiB blocks → EIO, finding d77dc464).
void BlockDevice::fail_runs_with_a_failed_page(const std::vector<uint64_t>& indices) {
  for (size_t i = 0; i < indices.size();) {
    size_t j = i;
    int status = completions_[i].status;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) {
      ++j;
      if (status == 0) status = completions_[j].status;
    }
    for (size_t k = i; k <= j; ++k) completions_[k].status = status;
    i = j + 1;
  }
}

// A readahead request that failed leaves its pages out of the cache; filemap_read
// then reads the next page it needs on its own (filemap_update_page →
// filemap_read_folio) and stops at the first that fails again. Pages of the failed
// request before that one complete (6.1.0-56: an O_DIRECT backing file at offset 1,
// a 32 KiB read whose readahead request met a written block → 28672 bytes).
void BlockDevice::retry_failed_locked(uint64_t first, uint64_t last, uint64_t dev_bytes) {
  std::vector<uint64_t> one(1);
  std::vector<uint64_t> failed;
  for (uint64_t p = first; p <= last; ++p) {
    if (pages_.contains(p)) continue;
    one[0] = p;
    make_room_locked();
    if (read_in_locked(one, dev_bytes, &failed) != 0) return;
  }
}

// One bio per run of dirty sectors of the page (__block_write_full_folio sends only
// the dirty buffers; a page dirty whole is one bio), cut at the capacity (the device
// shrank under it: nowhere to write) and at `refused_from`. The page is clean after.
// True when part of it was refused.
bool BlockDevice::queue_dirty_runs_locked(uint64_t index, CachedPage& page, uint64_t dev_bytes,
                                          uint64_t refused_from) {
  const SectorMask dirty = std::exchange(page.dirty, 0);
  const uint64_t page_pos = index * kPageSize, in_dev = page_bytes(index, dev_bytes);
  const uint64_t sendable_to = refused_from > page_pos ? refused_from - page_pos : 0;
  bool refused = false;
  for (uint64_t s = 0; s < kSectorsPerPage;) {
    if ((dirty >> s & 1u) == 0) {
      ++s;
      continue;
    }
    uint64_t t = s;
    while (t < kSectorsPerPage && (dirty >> t & 1u) != 0) ++t;
    const uint64_t from = s * kSectorSize, to = std::min(t * kSectorSize, in_dev);
    s = t;
    if (from >= to) continue;
    const uint64_t sent_to = std::min(to, sendable_to);
    refused = refused || sent_to < to;
    if (sent_to <= from) continue;
    bios_.push_back(Bio{ReqOp::Write, (page_pos + from) / kSectorSize, page.data + from,
                        sent_to - from, nullptr});
  }
  return refused;
}

int BlockDevice::writeback_locked(uint64_t first_page, uint64_t last_page) {
  uint64_t dev_bytes = arith::bytes_of_sectors(capacity_sectors());
  // A partial last block (unaligned_bios_refused): the bio for it is cut to less
  // than a block and refused; its bytes stay in the clean page (6.12.117, 6.18.44:
  // fsync → EIO, the device reads them back, the file never gets them).
  const uint64_t lbs = logical_block_size();
  const uint64_t refused_from =
      unaligned_bios_refused_.load() && dev_bytes % lbs != 0 ? dev_bytes / lbs * lbs : dev_bytes;
  bool refused = false;
  bios_.clear();
  pages_.for_each(first_page, last_page, [&](uint64_t index, CachedPage& page) {
    if (page.dirty == 0) return;
    refused = queue_dirty_runs_locked(index, page, dev_bytes, refused_from) || refused;
  });
  if (refused) set_wb_error_locked();
  if (bios_.empty()) return refused ? -EIO : 0;
  // A soft block size below the logical one: the kernel writes back buffer
  // heads of the soft size, sub-block requests the queue refuses (probe c1 on
  // 6.18.44: fsync → EIO; 6.1 lets them through).
  const bool sub_block_buffers =
      unaligned_bios_refused_.load() && soft_block_size_.load() < logical_block_size();
  if (pages_smaller_than_blocks() || sub_block_buffers) {
    // Each page is an unaligned request the block layer refuses. The pages stay
    // cached, clean; the error waits for fsync.
    set_wb_error_locked();
    return -EIO;
  }
  completions_.assign(bios_.size(), Completion{});
  for (size_t i = 0; i < bios_.size(); ++i) bios_[i].completion = &completions_[i];
  queue_.submit(bios_);
  int err = 0;
  for (Completion& c : completions_) {
    queue_.wait(c);
    ++stats_.pages_written_back;
    if (c.status != 0) err = -EIO;
  }
  // Like mapping_set_error(): the pages are clean (their data is lost) and the
  // error waits for the next fsync.
  if (err != 0 && !refused) set_wb_error_locked();  // one errseq bump per writeback
  return err != 0 || refused ? -EIO : 0;
}

void BlockDevice::set_wb_error_locked() {
  wb_err_ = wb_err_ + 1 == 0 ? 1 : wb_err_ + 1;
  wb_err_seen_ = false;
}

// file_check_and_advance_wb_err(): EIO once per file for an error recorded since
// the file last looked (probe f1 on 6.18.44: after a BLKFLSBUF whose writeback
// failed, the next fsync of each open fd returns EIO, the one after 0).
bool BlockDevice::wb_error_reported_locked(WbErrSince& since) {
  if (since.epoch != wb_epoch_) since = WbErrSince{wb_epoch_, wb_err_seen_ ? wb_err_ : 0};
  if (since.seq == wb_err_) return false;
  since.seq = wb_err_;
  wb_err_seen_ = true;
  return true;
}

WbErrSince BlockDevice::sample_wb_err() {
  std::lock_guard lock(cache_mu_);
  // errseq_sample(): 0 while the newest error is unseen, so the opener reports it.
  return WbErrSince{wb_epoch_, wb_err_seen_ ? wb_err_ : 0};
}

// After a teardown and a rebind an fsync returns 0 although a writeback failed
// before (6.18.44, probe f3: BLKFLSBUF failed, LOOP_CLR_FD, last close, reopen,
// LOOP_SET_FD, fsync → 0; and a Rundown device's last close).
void BlockDevice::forget_wb_errors() {
  std::lock_guard lock(cache_mu_);
  wb_err_ = 0;
  wb_err_seen_ = false;
  ++wb_epoch_;
}

void BlockDevice::drop_range_locked(uint64_t first_page, uint64_t last_page) {
  pages_.erase(first_page, last_page, [this](uint8_t* data) { free_page_locked(data); });
  refused_pages_.erase(
      refused_pages_.lower_bound(first_page),
      last_page == UINT64_MAX ? refused_pages_.end() : refused_pages_.upper_bound(last_page));
}

// The first page of [first, last] not up to date is a folio whose read was refused:
// filemap_read reads it alone (no readahead), refused again, and ends there.
bool BlockDevice::refused_first_locked(uint64_t first, uint64_t last) {
  for (uint64_t p = first; p <= last; ++p)
    if (!up_to_date_locked(p, UINT64_MAX)) return refused_pages_.contains(p);
  return false;
}

void BlockDevice::make_room_locked() {
  if (pages_.size() < kMaxCachedPages) return;
  (void)writeback_locked(0, UINT64_MAX);
  drop_range_locked(0, UINT64_MAX);
}

int BlockDevice::sync() {
  std::lock_guard lock(cache_mu_);
  return writeback_locked(0, UINT64_MAX);
}

void BlockDevice::invalidate() {
  std::lock_guard lock(cache_mu_);
  drop_range_locked(0, UINT64_MAX);
}

int BlockDevice::fsync(WbErrSince& since) {
  std::lock_guard lock(cache_mu_);
  // file_write_and_wait_range(): writeback, then the errseq check; either
  // failing ends the fsync before the flush.
  int err = writeback_locked(0, UINT64_MAX);
  if (wb_error_reported_locked(since) || err != 0) return -EIO;
  return issue_flush() != 0 ? -EIO : 0;
}

// blkdev_issue_flush(): without a volatile write cache the block layer completes
// the flush itself, and it never reaches the driver.
int BlockDevice::issue_flush() {
  if (!write_cache_.load()) return 0;
  Completion c;
  return queue_.submit_and_wait(Bio{ReqOp::Flush, 0, nullptr, 0, &c});
}

CacheStats BlockDevice::cache_stats() const {
  std::lock_guard lock(cache_mu_);
  CacheStats s = stats_;
  s.pages = pages_.size();
  pages_.for_each(0, UINT64_MAX,
                  [&](uint64_t, const CachedPage& page) { s.dirty += page.dirty != 0 ? 1 : 0; });
  return s;
}

// ---- read / write ---------------------------------------------------------------------

// Direct I/O straight from the caller's buffer, in max-request-sized bios. The
// range's dirty pages go out first (kiocb_write_and_wait for reads,
// kiocb_invalidate_pages for writes), and a failed writeback fails the I/O before
// blkdev_direct_IO checks the alignment (6.18.44: gen-7701-1094, a misaligned
// O_DIRECT read after a buffered write with 32 KiB blocks → EIO).
int64_t BlockDevice::direct_io(ReqOp op, uint8_t* buf, uint64_t len, int64_t pos) {
  uint64_t first_page = static_cast<uint64_t>(pos) / kPageSize;
  uint64_t last_page = (static_cast<uint64_t>(pos) + len - 1) / kPageSize;
  const uint64_t mask = logical_block_size() - 1;
  const bool misaligned = ((static_cast<uint64_t>(pos) | len) & mask) != 0 ||
                          (reinterpret_cast<uintptr_t>(buf) & (kSectorSize - 1)) != 0;
  {
    // The cache must not hide or later overwrite what the direct I/O transfers.
    std::lock_guard lock(cache_mu_);
    if (writeback_locked(first_page, last_page) != 0) return -EIO;
    if (misaligned) return -EINVAL;
    if (op == ReqOp::Write) drop_range_locked(first_page, last_page);
  }
  constexpr int kBatch = 16;
  std::array<Bio, kBatch> bios{};
  std::array<Completion, kBatch> done{};
  uint64_t off = 0;
  while (off < len) {
    int n = 0;
    for (; n < kBatch && off < len; ++n) {
      uint64_t chunk = std::min<uint64_t>(kMaxRequestBytes, len - off);
      bios[n] =
          Bio{op, (static_cast<uint64_t>(pos) + off) >> kSectorShift, buf + off, chunk, &done[n]};
      off += chunk;
    }
    queue_.submit(std::span<const Bio>(bios.data(), n));
    int err = 0;
    for (int i = 0; i < n; ++i) {
      queue_.wait(done[i]);
      // BLK_STS_INVAL and BLK_STS_NOSPC keep their errno; every other status is EIO.
      if (done[i].status != 0)
        err = done[i].status == -EINVAL || done[i].status == -ENOSPC ? done[i].status : -EIO;
    }
    if (err != 0) return err;
  }
  return static_cast<int64_t>(len);
}

// A capacity that is not a whole number of logical blocks: the folio holding the
// partial last block can be neither read in (the block layer rejects the bio)
// nor written out, so buffered I/O reaching it stops short before it, and I/O
// starting in it fails (observed on 6.18; 6.1 serves it, see
// DriverProfile::unaligned_bios_refused). Pages already up to date need no bio:
// they still serve reads and take writes (6.12.117, 6.18.44: a page a write read
// in, after LOOP_SET_CAPACITY cut the 1 KiB-block device to 512 bytes). False: the
// I/O fails with EIO.
bool BlockDevice::clip_to_whole_blocks_locked(uint64_t dev_bytes, uint64_t pos, uint64_t* len) {
  const uint64_t lbs = logical_block_size();
  if (!unaligned_bios_refused_.load() || dev_bytes % lbs == 0) return true;
  const uint64_t folio = std::max<uint64_t>(kPageSize, lbs);
  // Blocks that outgrew the cache's pages: the page holding the end is the one
  // that cannot be read in (6.18.44: a 64 KiB write at 0 of a 39936-byte device
  // with 64 KiB blocks wrote 36864).
  uint64_t unusable_from = pages_smaller_than_blocks() ? dev_bytes / kPageSize * kPageSize
                                                       : dev_bytes / lbs * lbs / folio * folio;
  while (unusable_from < dev_bytes && up_to_date_locked(unusable_from / kPageSize, dev_bytes))
    unusable_from = std::min(dev_bytes, (unusable_from / kPageSize + 1) * kPageSize);
  if (unusable_from >= dev_bytes) return true;
  if (pos >= unusable_from) return false;
  *len = std::min(*len, unusable_from - pos);
  return true;
}

// Pages cached but not up to date (a write read in only the buffers it needed), in
// the order filemap_read meets them: the part asked for is served when its buffers
// are up to date (block_is_partially_uptodate), else ->read_folio reads the page's
// missing buffers (block_read_full_folio); the read ends at the first that fails.
void BlockDevice::read_partly_cached_pages_locked(uint64_t upos, uint64_t len, uint64_t dev_bytes) {
  for (uint64_t p = upos / kPageSize; p * kPageSize < upos + len; ++p) {
    const CachedPage* page = pages_.find(p);
    if (page == nullptr) return;  // not read in: the copy ends here
    const uint64_t from = std::max(upos, p * kPageSize) - p * kPageSize;
    const uint64_t to = std::min(upos + len, (p + 1) * kPageSize) - p * kPageSize;
    const SectorMask wanted = buffers_of(from, to);
    if ((page->uptodate & wanted) == wanted) continue;
    if (read_buffers_locked(p, kWholePage, dev_bytes) != 0) {
      failed_.push_back(p);
      return;
    }
  }
}

// A reader whose ra_pages went to 0 (shrink_readahead_size_eio) reads each missing
// page as a request of its own (page_cache_sync_ra's forced one-page readahead);
// otherwise a run of adjacent pages is one request.
int BlockDevice::read_in_missing_locked(uint64_t readahead_pages, uint64_t dev_bytes) {
  if (readahead_pages != 0) return read_in_locked(missing_, dev_bytes, &failed_);
  int err = 0;
  for (uint64_t page : std::vector<uint64_t>(missing_))
    if (read_in_locked({page}, dev_bytes, &failed_) != 0) err = -EIO;
  return err;
}

int64_t BlockDevice::read(void* buf, uint64_t len, int64_t pos, bool direct,
                          uint64_t readahead_pages) {
  if (pos < 0) return -EINVAL;
  uint64_t dev_bytes = arith::bytes_of_sectors(capacity_sectors());
  uint64_t upos = static_cast<uint64_t>(pos);
  if (len == 0 || upos >= dev_bytes) return 0;  // at or past the end: EOF
  len = std::min(len, dev_bytes - upos);        // straddling the end: short
  if (direct) return direct_io(ReqOp::Read, static_cast<uint8_t*>(buf), len, pos);
  std::lock_guard lock(cache_mu_);
  if (!clip_to_whole_blocks_locked(dev_bytes, upos, &len)) return -EIO;
  const uint64_t first = upos / kPageSize, last = (upos + len - 1) / kPageSize;
  missing_.clear();
  failed_.clear();
  uint64_t first_missing = last + 1;
  const bool refused_first = refused_first_locked(first, last);
  for (uint64_t p = first; p <= last && !refused_first; ++p) {
    if (pages_.contains(p) || refused_pages_.contains(p)) continue;
    first_missing = std::min(first_missing, p);
    missing_.push_back(p);
  }
  if (!missing_.empty()) {
    // page_cache_sync_ra(): at the start of the device, or continuing the previous
    // read, the miss starts a readahead window (get_init_ra_size) that also brings
    // in uncached pages past the request, up to the end of the device.
    const bool sequential =
        first_missing == 0 || (ra_prev_page_ != kNoPage && first_missing - ra_prev_page_ <= 1);
    if (sequential) {
      const uint64_t window = init_readahead_pages(last - first_missing + 1, readahead_pages);
      const uint64_t end_page =
          std::min(first_missing + window, (dev_bytes + kPageSize - 1) / kPageSize);
      for (uint64_t p = last + 1; p < end_page; ++p)
        if (!pages_.contains(p) && !refused_pages_.contains(p)) missing_.push_back(p);
    }
    make_room_locked();
    if (read_in_missing_locked(readahead_pages, dev_bytes) != 0)
      retry_failed_locked(first, last, dev_bytes);
  }
  read_partly_cached_pages_locked(upos, len, dev_bytes);
  ra_prev_page_ = (upos + len) / kPageSize;  // ra->prev_pos = the end of this read
  uint64_t copied = 0;
  auto* out = static_cast<uint8_t*>(buf);
  // Pages adjacent in the arena (read in together) are copied as one run.
  const uint8_t* run = nullptr;
  uint64_t run_bytes = 0, run_at = 0;
  while (copied < len) {
    uint64_t at = upos + copied;
    const CachedPage* page = pages_.find(at / kPageSize);
    uint64_t in_page = at % kPageSize;
    uint64_t n = std::min<uint64_t>(kPageSize - in_page, len - copied);
    const SectorMask wanted = sectors_of(in_page, in_page + n);
    // The page failed to read: stop short.
    if (page == nullptr || (page->uptodate & wanted) != wanted) break;
    if (run != nullptr && run + run_bytes == page->data + in_page) {
      run_bytes += n;
    } else {
      if (run != nullptr) copy_out(out + run_at, run, run_bytes);
      run = page->data + in_page;
      run_bytes = n;
      run_at = copied;
    }
    copied += n;
  }
  if (run != nullptr) copy_out(out + run_at, run, run_bytes);
  if (copied == 0 && (!failed_.empty() || refused_first)) return -EIO;
  return static_cast<int64_t>(copied);
}

// Folios only partly overwritten must be read in first (block_write_begin). The
// block holding the end counts as partial even where it reaches past the
// capacity (only blocks starting at or past i_size are new). A folio is the soft
// block size of the first open when that exceeds a page (6.18.44: after
// LOOP_SET_BLOCK_SIZE 8192 and a reopen, a 4096-byte write at 0 over a cut
// backing file fails, finding-33fb3e2441c0a4a9). generic_perform_write goes folio
// by folio, and each read is a request of its own (never merged with the other
// one): a failed read of the first folio fails the write (-EIO), one of the last
// folio ends it short before that folio (*len shrinks).
int BlockDevice::read_partial_folios_locked(uint64_t upos, uint64_t dev_bytes, uint64_t* len) {
  const uint64_t soft = soft_block_size_.load();
  const uint64_t folio = std::max<uint64_t>(kPageSize, soft);
  const uint64_t blk = std::max<uint64_t>(soft, kSectorSize);
  const uint64_t end = upos + *len;
  const uint64_t first = upos / folio, last = (end - 1) / folio;
  missing_.clear();
  failed_.clear();
  for (uint64_t f : {first, last}) {
    const uint64_t start = f * folio;
    const uint64_t in_dev = std::min(folio, dev_bytes - start);
    bool cached = true;
    for (uint64_t p = start / kPageSize; p * kPageSize < start + in_dev; ++p)
      cached = cached && pages_.contains(p);
    if (cached || (!missing_.empty() && missing_.back() == f)) continue;
    bool covered =
        upos <= start && (end >= start + folio || (end >= start + in_dev && end % blk == 0));
    if (!covered) missing_.push_back(f);
  }
  make_room_locked();
  bool head_failed = false, tail_failed = false;
  for (uint64_t f : missing_) {
    one_page_.clear();  // the folio's pages not cached yet, read as one request
    for (uint64_t p = f * folio / kPageSize; p < (f + 1) * folio / kPageSize; ++p)
      if (page_bytes(p, dev_bytes) > 0 && !pages_.contains(p)) one_page_.push_back(p);
    if (read_in_locked(one_page_, dev_bytes, &failed_) == 0) continue;
    (f == first ? head_failed : tail_failed) = true;
    if (head_failed) break;
  }
  if (head_failed || (tail_failed && first == last)) return -EIO;
  if (tail_failed) *len = last * folio - upos;
  return 0;
}

// Buffer heads smaller than a page (a soft block size below 4 KiB):
// __block_write_begin_int reads only the buffers the write covers in part, the one
// holding its start and the one holding its end (even past the capacity: no buffer
// of the bdev is new); the rest of the page is left as it is, so the page may stay
// cached not up to date (6.18.44: a 512-byte write at 0 over a cut backing file
// with 512-byte soft blocks reads nothing and works, finding-ab90fe46). Each page
// is a write_begin of its own: a failed read in the first fails the write, one in
// the last ends it short before that page.
int BlockDevice::read_partial_buffers_locked(uint64_t upos, uint64_t dev_bytes, uint64_t* len) {
  const uint64_t soft = soft_block_size_.load();
  assert(soft < kPageSize);
  const uint64_t end = upos + *len;
  const uint64_t first = upos / kPageSize, last = (end - 1) / kPageSize;
  SectorMask head = upos % soft != 0 ? buffers_of(upos % kPageSize, upos % kPageSize + 1) : 0;
  SectorMask tail = 0;
  if (end % soft != 0) tail = buffers_of((end - 1) % kPageSize, (end - 1) % kPageSize + 1);
  if (first == last) head |= std::exchange(tail, 0);
  make_room_locked();
  if (head != 0 && read_buffers_locked(first, head, dev_bytes) != 0) return -EIO;
  if (tail != 0 && read_buffers_locked(last, tail, dev_bytes) != 0) *len = last * kPageSize - upos;
  return 0;
}

int64_t BlockDevice::write(const void* buf, uint64_t len, int64_t pos, bool direct, bool sync_after,
                           WbErrSince* since) {
  if (pos < 0) return -EINVAL;
  if (read_only()) return -EPERM;
  if (len == 0) return 0;
  uint64_t dev_bytes = arith::bytes_of_sectors(capacity_sectors());
  uint64_t upos = static_cast<uint64_t>(pos);
  if (upos >= dev_bytes) return -ENOSPC;
  len = std::min(len, dev_bytes - upos);
  if (direct) {
    // The bio layer does not write through a const buffer; this cast only satisfies
    // the shared Bio type, writes never store into it.
    const int64_t n =
        direct_io(ReqOp::Write, static_cast<uint8_t*>(const_cast<void*>(buf)), len, pos);
    if (n <= 0 || !sync_after) return n;
    // blkdev_write_iter syncs a direct write too: its flush goes down a stack.
    std::lock_guard lock(cache_mu_);
    const uint64_t end = upos + static_cast<uint64_t>(n);
    return sync_written_locked(upos / kPageSize, (end - 1) / kPageSize, since) ? -EIO : n;
  }
  std::lock_guard lock(cache_mu_);
  if (!clip_to_whole_blocks_locked(dev_bytes, upos, &len)) return -EIO;
  const uint64_t first = upos / kPageSize, last = (upos + len - 1) / kPageSize;
  const bool small_buffers = soft_block_size_.load() < kPageSize;
  const int read_err = small_buffers ? read_partial_buffers_locked(upos, dev_bytes, &len)
                                     : read_partial_folios_locked(upos, dev_bytes, &len);
  if (read_err != 0) return read_err;
  const auto* in = static_cast<const uint8_t*>(buf);
  uint64_t done = 0;
  while (done < len) {
    uint64_t at = upos + done;
    uint64_t index = at / kPageSize;
    CachedPage& page = pages_.slot(index);
    if (page.data == nullptr) {  // fully covered: no read-in
      page.data = alloc_page_locked();
      page.uptodate = small_buffers ? 0 : kWholePage;
    }
    uint64_t in_page = at % kPageSize;
    uint64_t n = std::min<uint64_t>(kPageSize - in_page, len - done);
    std::memcpy(page.data + in_page, in + done, n);
    // __block_commit_write: the buffers written are up to date and dirty.
    const SectorMask written = buffers_of(in_page, in_page + n);
    page.uptodate |= written;
    page.dirty |= written;
    if (page.uptodate == kWholePage) refused_pages_.erase(index);
    done += n;
  }
  if (sync_after && sync_written_locked(first, last, since) != 0) return -EIO;
  return static_cast<int64_t>(len);
}

// O_SYNC / O_DSYNC: generic_write_sync() writes pages [first, last] back, reports an
// error this file has not seen, and flushes. 0 or -EIO.
int BlockDevice::sync_written_locked(uint64_t first, uint64_t last, WbErrSince* since) {
  int err = writeback_locked(first, last);
  if (since != nullptr && wb_error_reported_locked(*since)) err = -EIO;
  if (err == 0 && issue_flush() != 0) err = -EIO;
  return err != 0 ? -EIO : 0;
}

// ---- generic block ioctls -----------------------------------------------------------------

BlockIoctlResult BlockDevice::common_ioctl(unsigned long cmd, unsigned long arg, BdevCaller caller,
                                           bool cap_sys_admin) {
  const bool fd_writable = caller.writable;
  auto done = [](long ret) { return BlockIoctlResult{true, ret}; };
  void* user = reinterpret_cast<void*>(arg);
  switch (cmd) {
    case BLKGETSIZE64: {
      if (user == nullptr) return done(-EFAULT);
      uint64_t v = arith::bytes_of_sectors(capacity_sectors());
      std::memcpy(user, &v, sizeof v);
      return done(0);
    }
    case BLKGETSIZE: {
      if (user == nullptr) return done(-EFAULT);
      unsigned long v = capacity_sectors();
      std::memcpy(user, &v, sizeof v);
      return done(0);
    }
    case BLKSSZGET:
    case BLKBSZGET:
    case BLKROGET: {
      if (user == nullptr) return done(-EFAULT);
      int v = cmd == BLKSSZGET   ? static_cast<int>(logical_block_size())
              : cmd == BLKBSZGET ? static_cast<int>(soft_block_size_.load())
                                 : (read_only() ? 1 : 0);
      std::memcpy(user, &v, sizeof v);
      return done(0);
    }
    case BLKPBSZGET: {
      if (user == nullptr) return done(-EFAULT);
      unsigned int v = physical_block_size();
      std::memcpy(user, &v, sizeof v);
      return done(0);
    }
    case BLKROSET: {
      if (!cap_sys_admin) return done(-EACCES);
      if (user == nullptr) return done(-EFAULT);
      int v = 0;
      std::memcpy(&v, user, sizeof v);
      policy_ro_.store(v != 0);
      return done(0);
    }
    case BLKFLSBUF: {
      if (!cap_sys_admin) return done(-EACCES);
      (void)sync();
      invalidate();
      return done(0);
    }
    case BLKSECDISCARD:
      // blk_ioctl_secure_erase: a loop queue never has max_secure_erase_sectors,
      // and that check comes before the range is read.
      return done(fd_writable ? -EOPNOTSUPP : -EBADF);
    case BLKDISCARD:
    case BLKZEROOUT:
      return done(discard_or_zero_range(cmd == BLKDISCARD ? ReqOp::Discard : ReqOp::WriteZeroes,
                                        user, caller));
    default:
      (void)fd_writable;
      return BlockIoctlResult{};
  }
}

}  // namespace loopcheck::inproc
