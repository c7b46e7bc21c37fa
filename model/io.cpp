// The data path: pread/pwrite on files and loop devices, the device page cache,
// requests reaching the loop driver, fsync and truncate (docs/semantics.md §5).
#include <algorithm>
#include <cassert>
#include <cerrno>
#include <optional>

#include "model/machine.h"

namespace loopcheck::model {

namespace {

Outcome data_outcome(uint64_t count, const DataBuilder& b, bool known,
                     EnvelopeRule why = EnvelopeRule::Unattributed) {
  Outcome o;
  o.kind = Outcome::Kind::Data;
  o.value = static_cast<int64_t>(count);
  o.data_known = known && !b.overflow;
  if (!o.data_known) o.data_rule = known ? EnvelopeRule::DataDescriptionOverflow : why;
  if (o.data_known) o.data = b.desc;
  return o;
}

bool overflows(uint64_t off, uint64_t len) {
  return len > kLlongMax - off;
}

// Readahead ramps its folios up to its window (read_ahead_kb 128: order 5,
// naturally aligned), and a folio is read, or fails, whole. Probe d1 on
// 6.18.44: with the backing file cut to 618496 bytes (sector aligned), 16 KiB
// sequential reads fail from 524288 on, 94 KiB before the EOF; probe e1: a
// 4 MiB read over a file cut to 8242 bytes returns 12288 (the request carrying
// the EOF folio ended there, the next one starts past the EOF and fails).
constexpr uint64_t kMaxReadaheadFolio = 128 * 1024;

// Where a large folio holding the folio that cannot be read in at `unreadable_from`
// may start: on 6.18 (large_folios), once readahead ramped up (the cache was
// populated; a first read allocates single pages, probe e1), anywhere down to the
// kMaxReadaheadFolio boundary below. Nothing where folios stay single pages.
std::optional<uint64_t> large_folio_floor(const Profile& p, const Device& dev,
                                          uint64_t unreadable_from) {
  const uint64_t grain = std::max<uint64_t>(kPageSize, dev.block_size);
  if (!p.large_folios || !dev.cache_populated || grain >= kMaxReadaheadFolio) return std::nullopt;
  return unreadable_from / kMaxReadaheadFolio * kMaxReadaheadFolio;
}
// The largest folio the block device's page cache takes (MAX_PAGECACHE_ORDER on
// x86-64: a PMD, 2 MiB).
constexpr uint64_t kMaxFolioBytes = 2 * 1024 * 1024;

// Whether ext4 holds a written block (4 KiB) of the file at `block`: the
// model's record of fills and writes; blocks past the EOF are holes.
bool block_written(const Object& o, uint64_t block) {
  if (block >= o.size) return false;
  if (o.fill != 0 && block < o.fill_end) return true;
  for (int i = 0; i < o.data.count; ++i)
    if (o.data.e[i].start < block + kPageSize && o.data.e[i].end > block) return true;
  return false;
}

// An O_DIRECT file write with an aligned start and an unaligned length. ext4
// hands it to iomap_dio_rw, which maps it one extent at a time and checks each
// mapping's alignment only when it reaches it (iomap_dio_bio_iter): the
// mappings before the last one are submitted, then the last one's length fails
// (EINVAL). Their bytes land where the blocks were written before; over holes
// (and past the EOF) ext4 allocates unwritten extents that the failed write
// never converts, so those still read as zeros and the size stays. Probe g2 on
// 6.18.44; linux-6.18/odirect_file_write_einval_after_extents.trace. Before 6.18
// nothing is written (Profile::odirect_file_write_partial).
void direct_write_before_einval(Object& o, uint64_t start, uint64_t end, uint32_t seed) {
  if (o.data.unknown) return;
  const uint64_t first = start / kPageSize * kPageSize, last = (end - 1) / kPageSize * kPageSize;
  // The last mapping: the run of blocks of the last block's kind that ends the write.
  const bool last_written = block_written(o, last);
  uint64_t final_run = last;
  while (final_run > first && block_written(o, final_run - kPageSize) == last_written)
    final_run -= kPageSize;
  for (uint64_t b = first; b < final_run; b += kPageSize) {
    if (!block_written(o, b)) continue;
    extents_write(o.data, std::max(b, start), std::min(b + kPageSize, o.size), start, seed);
  }
  // ext4 may keep a written run as several extents (separate allocations); the
  // model cannot tell how many, so a last run written by more than one write
  // or partly by the fill may have had its first extents written too.
  int pieces = o.fill != 0 && final_run < o.fill_end ? 1 : 0;
  for (int i = 0; i < o.data.count; ++i)
    if (o.data.e[i].start < last + kPageSize && o.data.e[i].end > final_run) ++pieces;
  if (last_written && pieces > 1) o.data.unknown = 1;
}

// A clean read of [a, z) that stops `count` bytes in (DeviceRead::read_clean).
ReadResult ended_at(ReadResult r, uint64_t count) {
  r.count = count;
  if (r.min_count >= count) r.min_count = 0;
  return r;
}

// The clean read of [a, z) may end `count` bytes in, for `why`: fail when that is
// at its start, else return as little as `count`.
void may_end_after(ReadResult& r, uint64_t count, EnvelopeRule why) {
  if (count == 0) {
    r.also_err = EIO;
    if (r.err_rule == EnvelopeRule::None) r.err_rule = why;
  } else if (r.min_count == 0 || count < r.min_count) {
    r.min_count = count;
    r.count_rule = why;
  }
}

// A direct read of a lower device that is not Bound fails, whatever its cache
// holds (6.18.44). In Rundown its blkdev_direct_IO still checks the alignment
// first: a request off its blocks is BLK_STS_INVAL, EINVAL to an O_DIRECT reader
// where `einval_status` (6.18.44: gen-7701-1261, the lower device's blocks grown).
ReadResult direct_read_of_unbound_lower(const Device& lower, uint64_t pos, uint64_t len,
                                        bool whole_folios, bool einval_status) {
  const bool misaligned = pos % lower.block_size != 0 || len % lower.block_size != 0;
  const bool einval = lower.state == DevState::Rundown && misaligned && !whole_folios &&
                      pos < arith::device_bytes(lower.capacity) && einval_status;
  return ReadResult{einval ? EINVAL : EIO, 0, true, 0};
}

}  // namespace

// Device-relative [start, end) read from the backing file by the driver. The
// caller already decided the range is serviceable; bytes past the backing EOF read
// as zero (the 6.1 zero-fill), a stacked device below is read through its cache.
ReadResult Machine::read_backing(Device& dev, uint64_t start, uint64_t end, DataBuilder& out,
                                 bool whole_folios, uint64_t readahead_pages) {
  ReadResult r;
  const Desc& b = s.descs[dev.backing_desc];
  const uint64_t pos = arith::backing_byte(start, dev.offset);
  const uint64_t len = end - start;
  if (b.kind == DescKind::File) return read_backing_file(dev, start, end, out, whole_folios);
  // Folios surely up to date need no request to the lower device (cached_bytes.cpp).
  if (whole_folios && pages_surely_cached(dev, start, end))
    return read_cached(dev, start, end, out);
  Device& lower = *device(b.device);
  const bool direct = dev.dio != 0;
  if (direct && lower.state != DevState::Bound)
    return direct_read_of_unbound_lower(lower, pos, len, whole_folios, p.request_status_einval);
  // 6.1 without loop DIO still reads an O_DIRECT backing fd with direct I/O
  // (lo_read_simple → vfs_iter_read), so each folio's bio, cut at the device end,
  // must be whole lower blocks too (6.1.0-56 in QEMU: a 512-byte read of a device
  // over an O_DIRECT fd of a 512-byte lower device with 1 KiB blocks → EIO; with
  // the lower device 1 KiB long, or its blocks 512, the read works; fuzz smoke,
  // linux-6.1/stacked_odirect_fd_partial_lower_block_eio.trace). An O_DIRECT
  // read of this device is one such request as it stands (6.1.0-56: a 512-byte
  // O_DIRECT read there → EIO too; fuzz_inproc seed 2,
  // linux-6.1/stacked_odirect_fd_direct_read_partial_lower_block_eio.trace).
  const bool odirect_fd = p.backing_odirect_honoured_without_dio && (b.open_flags & kOpenDirect);
  uint64_t request_end = end;
  if (whole_folios && upper_request_refused(dev, lower, start, end, readahead_pages,
                                            direct || odirect_fd, &request_end))
    return ReadResult{EIO, 0, true, 0};
  if (whole_folios)
    if (std::optional<ReadResult> settled =
            upper_dio_preface(dev, lower, start, end, request_end, out))
      return *settled;
  // The driver reads the lower device through the backing file the bind was given.
  // A DIO-mode upper device's folios come in by O_DIRECT requests of the lower
  // device; where they meet the lower backing EOF, how readahead split them
  // decides (read_lower_past_unaligned_eof), which the buffered view below keeps.
  const bool folio_requests = direct && whole_folios && !folios_meet_lower_eof(dev, lower, end);
  ReadResult lr =
      folio_requests
          ? read_lower_folios_direct(dev, lower, start, end, request_end, out,
                                     Machine::readahead_pages(b))
          : read_device(lower, pos, len, (direct || odirect_fd) && !whole_folios, out,
                        Machine::readahead_pages(b),
                        upper_request_bytes(dev, start, end, whole_folios, readahead_pages));
  if (lr.err) return ReadResult{lower_read_errno(lr.err, whole_folios), 0, true, 0};
  r.known = lr.known;
  r.data_rule = lr.data_rule;
  // The lower device's own envelope (its cache, its readahead) carries over.
  r.also_err = lr.also_err ? EIO : 0;
  r.err_rule = lr.err_rule;
  r.min_count = lr.min_count;
  r.count_rule = lr.count_rule;
  if (lr.count < len || r.min_count) {
    if (dev.dio) return read_lower_past_unaligned_eof(dev, lower, pos, len, lr, out);
    // 6.12.25+/6.18 (lo_rw_aio): the request completes what the lower device
    // returned, the retry fails; the caller ends the read there (probe a1 on
    // 6.18.44: lower backing cut to 8 KiB, a 64 KiB read of the upper → 8192).
    // 6.1 (lo_read_simple) zero-fills the rest of the request and succeeds.
    if (p.read_past_backing_eof_is_eio) {
      r.count = lr.count;
      return r;
    }
    return read_lower_segments(lower, pos, len, r, lr.count, out);
  }
  r.count = len;
  return r;
}

// Where the request carrying an upper read's first folio ends: readahead's window
// where the model knows it (a first read at page 0 of a fresh cache: 6.18.44, a
// 4 KiB read of a DIO upper device over a lower device with 8 KiB blocks sends
// 16 KiB, whole blocks, and works), else the read's own end. A failed folio left
// in the cache is not read again: the window stops at it (6.18.44: after a refused
// 4 KiB read at 4096, a 4 KiB read at 0 → EIO; kernel_only_rules_test.cpp).
uint64_t Machine::upper_request_end(const Device& dev, uint64_t start, uint64_t end,
                                    uint64_t readahead_pages) {
  const uint64_t request = upper_request_bytes(dev, start, end, true, readahead_pages);
  uint64_t request_end = request == kRequestEndUnknown ? end : start + request;
  if (dev.refused_page != kNoPage && dev.refused_page >= end)
    request_end = std::min(request_end, dev.refused_page);
  return request_end;
}

// Whether the lower device refuses the request carrying an upper read's folios
// (`checked`: loop DIO, or 6.1's O_DIRECT backing fd); `request_end` gets where
// that request ends. A refused window is retried folio by folio
// (filemap_read_folio): the read fails only if its own folios are refused too
// (6.18.44: a 4 KiB read at 0 of a DIO upper device whose 15872-byte window ends
// in a partial 1 KiB block → 4096; gen-7707-0675). The failed folio stays.
bool Machine::upper_request_refused(Device& dev, const Device& lower, uint64_t start, uint64_t end,
                                    uint64_t readahead_pages, bool checked, uint64_t* request_end) {
  *request_end = upper_request_end(dev, start, end, readahead_pages);
  if (!checked || !dio_folio_request_misaligned(dev, lower, start, *request_end)) return false;
  *request_end = end;
  if (!dio_folio_request_misaligned(dev, lower, start, end)) return false;
  if (dev.refused_page == kNoPage) dev.refused_page = start / kPageSize * kPageSize;
  return true;
}

// The upper folios holding [start, end), in lower device bytes: what an upper
// device's page cache asks its lower device for, before guard_bio_eod cuts it.
Machine::LowerRange Machine::upper_folios_in_lower(const Device& dev, uint64_t start,
                                                   uint64_t end) {
  return {arith::backing_byte(start / kPageSize * kPageSize, dev.offset),
          arith::backing_byte((end + kPageSize - 1) / kPageSize * kPageSize, dev.offset)};
}

// The lower device checks the alignment of what a DIO-mode upper device's page
// cache sends: whole upper folios, in lower device bytes, cut at the upper
// device's end (guard_bio_eod). Found on 6.18: a 512-byte buffered read of an
// upper device over a 1 KiB-block lower device succeeds; 6.1.0-56: a 512-byte
// device over a 4 KiB-block lower device reads EIO
// (linux-6.1/partial_last_block_readable). At an offset off a lower block every
// folio's request is misaligned, however the read sits in it (6.18.44: a 64-byte
// read at 12245, and a 1227-byte write's read at 0, of an upper device at offset
// 512 over 1 KiB lower blocks → EIO; gen-7701-0803, -1909).
bool Machine::dio_folio_request_misaligned(const Device& dev, const Device& lower, uint64_t start,
                                           uint64_t end) const {
  const uint64_t upper_end = dev.offset + arith::device_bytes(dev.capacity);
  const LowerRange folios = upper_folios_in_lower(dev, start, end);
  const uint64_t first = folios.first;
  const uint64_t last = std::min({folios.last, arith::device_bytes(lower.capacity), upper_end});
  return first % lower.block_size != 0 || (last > first && (last - first) % lower.block_size != 0);
}

bool Machine::folios_meet_lower_eof(const Device& dev, const Device& lower, uint64_t end) const {
  return lower.backing_desc == kNoDesc ||
         upper_folios_in_lower(dev, end, end).last >
             arith::bytes_past_offset(backing_size(lower), lower.offset);
}

// The errno an upper read gets for its lower device's: EIO, but BLK_STS_INVAL
// (request_status_einval): the lower device's refusal of a misaligned direct read
// reaches an O_DIRECT reader of this device as EINVAL (6.18.44: gen-7601-1186 and
// -1449, after the lower LOOP_SET_BLOCK_SIZE 1024).
int Machine::lower_read_errno(int lower_err, bool whole_folios) const {
  return lower_err == EINVAL && !whole_folios && p.request_status_einval ? EINVAL : EIO;
}

// What an upper device in DIO mode settles before its folios' requests reach the
// lower device. They are O_DIRECT requests, which first write the lower's dirty
// pages in their range back (blkdev_read_iter: filemap_write_and_wait_range on
// 6.1, kiocb_write_and_wait after), and may grow the lower's backing file (host
// 6.18.44, 6.1.0-56, 6.12.117:
// common/stacked_dio_read_writes_lower_dirty_pages_back.trace); then a lower EOF
// at a folio boundary ends the read there.
std::optional<ReadResult> Machine::upper_dio_preface(const Device& dev, Device& lower,
                                                     uint64_t start, uint64_t end,
                                                     uint64_t request_end, DataBuilder& out) {
  if (dev.dio && write_back_lower_for_folios(dev, lower, start, request_end))
    return ReadResult{EIO, 0, true, 0};
  return read_up_to_folio_aligned_lower_eof(dev, lower, start, end, out);
}

// The writeback an upper device's O_DIRECT folio requests make of the lower
// device's dirty pages: 0, or the EIO it reports.
int Machine::write_back_lower_for_folios(const Device& dev, Device& lower, uint64_t start,
                                         uint64_t request_end) {
  const LowerRange folios = upper_folios_in_lower(dev, start, request_end);
  const uint64_t last = std::min(folios.last, arith::device_bytes(lower.capacity));
  if (folios.first >= last) return 0;
  bool wrote_back = false;
  return write_back_for_direct(lower, folios.first, last, &wrote_back);
}

// An upper device in DIO mode fills its page cache with O_DIRECT reads of its lower
// device: each request is the upper folios, which bypass the lower cache (whose
// dirty pages of the range are written back first); the reader gets its part of
// them, as a result relative to its own [start, end) (6.18.44: a 1 KiB read at
// 134144 of an upper device at offset 512 over a lower device whose file was cut
// to 192 KiB requests one page, inside the file: read; gen-7701-0998).
ReadResult Machine::read_lower_folios_direct(const Device& dev, Device& lower, uint64_t start,
                                             uint64_t end, uint64_t request_end, DataBuilder& out,
                                             uint64_t lower_readahead_pages) {
  const uint64_t upper_end = dev.offset + arith::device_bytes(dev.capacity);
  const LowerRange folios = upper_folios_in_lower(dev, start, request_end);
  const uint64_t req_first = folios.first;
  const uint64_t req_last = std::min(folios.last, upper_end);
  DataBuilder whole;
  ReadResult lr =
      read_device(lower, req_first, req_last - req_first, true, whole, lower_readahead_pages);
  if (lr.err) return lr;
  const uint64_t skip = arith::backing_byte(start, dev.offset) - req_first;
  lr.count = lr.count > skip ? std::min(end - start, lr.count - skip) : 0;
  lr.min_count = 0;
  lr.count_rule = EnvelopeRule::None;
  out.add_range(whole, skip, lr.count);
  return lr;
}

// Buffered reads reach the backing file in whole pages (the request is the folio),
// O_DIRECT device reads as they are.
ReadResult Machine::read_backing_file(const Device& dev, uint64_t start, uint64_t end,
                                      DataBuilder& out, bool whole_folios) const {
  const uint64_t pos = arith::backing_byte(start, dev.offset);
  const uint64_t len = end - start;
  const uint64_t req_pos =
      whole_folios ? arith::backing_byte(start / kPageSize * kPageSize, dev.offset) : pos;
  if (backing_odirect_misaligned(dev, req_pos, whole_folios ? kPageSize : len))
    return read_backing_misaligned_direct(dev, start, end, out, whole_folios);
  ReadResult r;
  r.known = emit_object(s.objects[s.descs[dev.backing_desc].object], pos, pos + len, out);
  if (!r.known) r.data_rule = EnvelopeRule::BackingBytesUnknown;
  r.count = len;
  return r;
}

// 6.1 (lo_read_simple) zero-fills only a segment the lower device returned short,
// i.e. one reaching its end. A segment the lower device fails (its own backing
// cut, its requests refused) makes vfs_iter_read return EIO, and the whole upper
// request fails, from wherever readahead started it (6.1.0-56: 16384 of a 64 KiB
// upper read over a lower device in DIO mode whose file was cut to 1 byte,
// finding 30c88017). `r` carries the lower read's envelope, `got` its count.
ReadResult Machine::read_lower_segments(const Device& lower, uint64_t pos, uint64_t len,
                                        ReadResult r, uint64_t got, DataBuilder& out) {
  const bool lower_short = pos + got >= arith::device_bytes(lower.capacity);
  if (lower_short) out.add_zero(len - got);
  if (!lower_short || r.min_count) {
    r.count = lower_short ? len : got;
    r.also_err = EIO;
    if (r.err_rule == EnvelopeRule::None)
      r.err_rule =
          r.count_rule != EnvelopeRule::None ? r.count_rule : EnvelopeRule::ReadOverFailingLower;
    return r;
  }
  r.count = len;
  return r;
}

// A lower backing EOF at a folio boundary of the upper device: the readahead
// request reaching past it fails whole, and the page cache then reads each folio
// alone (filemap_read_folio), an O_DIRECT request of the lower device inside its
// file (the lower's dirty pages there were written back first): the folios before
// the EOF come in, the one after it fails, so the read ends at the EOF whatever
// the lower's own cache holds (6.18.44, 6.12.117: an upper device in DIO mode over
// a lower one whose file holds 4096 bytes, a 4 KiB read at 511 → 3585; fuzz_inproc
// seed 1, linux-6.1x/stacked_dio_read_ends_at_aligned_lower_eof.trace). 6.1
// zero-fills the lower's short request instead (read_lower_segments).
std::optional<ReadResult> Machine::read_up_to_folio_aligned_lower_eof(const Device& dev,
                                                                      const Device& lower,
                                                                      uint64_t start, uint64_t end,
                                                                      DataBuilder& out) const {
  if (!dev.dio || !p.read_past_backing_eof_is_eio || lower.state != DevState::Bound ||
      s.descs[lower.backing_desc].kind != DescKind::File)
    return std::nullopt;
  const uint64_t lend = std::min(arith::bytes_past_offset(backing_size(lower), lower.offset),
                                 arith::device_bytes(lower.capacity));
  const uint64_t pos = arith::backing_byte(start, dev.offset);
  const uint64_t pos_end = arith::backing_byte(end, dev.offset);
  if (pos >= lend || pos_end <= lend || lend < dev.offset || (lend - dev.offset) % kPageSize != 0)
    return std::nullopt;
  const Object& file = s.objects[s.descs[lower.backing_desc].object];
  ReadResult r;
  r.count = lend - pos;
  r.known = emit_object(file, arith::backing_byte(pos, lower.offset),
                        arith::backing_byte(lend, lower.offset), out);
  if (!r.known) r.data_rule = EnvelopeRule::BackingBytesUnknown;
  return r;
}

// An upper device in loop DIO mode reads its lower loop device with O_DIRECT: one
// lower request per upper request, bypassing the lower cache. Over a lower backing
// EOF that is not sector aligned the request starting before it succeeds (the
// repeated tail); a later one starts past it and fails, so the upper read ends
// where readahead split its requests, at the earliest after the folio holding the
// EOF (6.18.44: 12288 of a 64 KiB read over a lower file cut to 1 byte, finding
// 191346f5). Any other shortfall of the lower device fails the request (EIO).
ReadResult Machine::read_lower_past_unaligned_eof(const Device& dev, const Device& lower,
                                                  uint64_t pos, uint64_t len, const ReadResult& lr,
                                                  DataBuilder& out) {
  const uint64_t lend = arith::bytes_past_offset(backing_size(lower), lower.offset);
  const bool tail_served = lower.state == DevState::Bound && pos < lend && pos + len > lend &&
                           (p.read_past_backing_eof_is_eio || lower.dio) &&
                           eof_request_error(lower, pos, pos + len, lend) == 0 &&
                           lower.backing_desc != kNoDesc &&
                           s.descs[lower.backing_desc].kind == DescKind::File;
  if (!tail_served || !dev.dio) return ReadResult{EIO, 0, true, 0};
  ReadResult r;
  out.add_zero(len - lr.count);
  r.count = len;
  r.unknown(EnvelopeRule::ReadPastUnalignedEof);
  const uint64_t first_end = (lend / kPageSize + 1) * kPageSize - pos;
  if (first_end < len) r.min_count = first_end;
  if (first_end < len) r.count_rule = EnvelopeRule::ReadPastUnalignedEof;
  return r;
}

// 6.1, the backing file opened O_DIRECT, loop DIO off, lo_offset misaligned for
// it: lo_read_simple's vfs_iter_read is a misaligned direct read. ext4's
// iomap_dio_rw refuses it (EINVAL, EIO to the reader) where it meets an allocated
// block, reads holes without a bio and checks nothing there, and returns 0 at or
// past the EOF, which zero-fills the request: whatever succeeds reads zeros. The
// page cache retries a failed readahead one folio at a time (filemap_read_folio),
// so a buffered read ends at the first folio over written blocks; an O_DIRECT
// reader's request fails whole. Probes p2/p3 on 6.1.0-56: blocks written at file
// 16384 and 32768, offset 1 → `pread 0 16384` 12288 zeros, `pread 24576 8192`
// 4096 zeros, past the EOF zeros. The model knows allocation only roughly (ext4
// may turn unwritten extents into written zeros): a read over holes may fail.
ReadResult Machine::read_backing_misaligned_direct(const Device& dev, uint64_t start, uint64_t end,
                                                   DataBuilder& out, bool whole_folios) const {
  const uint64_t cap = arith::device_bytes(dev.capacity);
  const uint64_t step = whole_folios ? kPageSize : end - start;
  uint64_t good = whole_folios ? start / kPageSize * kPageSize : start;
  while (good < end) {
    const uint64_t z = std::min(good + step, std::max(cap, end));
    if (misaligned_read_refused(dev, good, z)) break;
    good = z;
  }
  good = std::min(good, end);
  if (good <= start) return ReadResult{EIO, 0, true, 0};
  ReadResult r;
  out.add_zero(good - start);
  r.count = good - start;
  r.also_err = EIO;
  r.err_rule = EnvelopeRule::OdirectBackingOverHole;
  return r;
}

namespace {

// One read_device call: the facts every decision consults, the range (its end
// moves in as decisions cut the read short) and the result built so far. A step
// that returns a result ends the read with it.
class DeviceRead {
 public:
  DeviceRead(Machine& machine, Device& device, uint64_t start_byte, uint64_t len_bytes,
             uint64_t request_bytes, uint64_t readahead_pages, DataBuilder& builder)
      : m(machine),
        dev(device),
        out(builder),
        start(start_byte),
        len(len_bytes),
        cap(arith::device_bytes(device.capacity)),
        end(start + std::min(len, cap - start)),
        request{request_bytes == 0                             ? end
                : request_bytes == Machine::kRequestEndUnknown ? request_bytes
                                                               : start + request_bytes,
                readahead_pages},
        backing_end_dev(
            device.state == DevState::Unbound
                ? 0
                : arith::bytes_past_offset(machine.backing_size(device), device.offset)),
        eof_is_eio(machine.p.read_past_backing_eof_is_eio || device.dio),
        grain(std::max<uint64_t>(kPageSize, device.block_size)),
        ra_end(readahead_end()) {}

  ReadResult direct();
  ReadResult buffered();

 private:
  int write_back_dirty_range();
  void may_write_back_folios_around(uint64_t from, uint64_t to);
  std::optional<ReadResult> read_outgrown_blocks();
  std::optional<ReadResult> check_blocks_outgrow_cache();
  ReadResult read_in_rundown();
  std::optional<ReadResult> read_over_failing_lower();
  std::optional<ReadResult> stop_at_partial_last_block();
  ReadResult only_cached_folios(uint64_t first, uint64_t first_end, EnvelopeRule why);
  std::optional<ReadResult> stop_at_partly_dirty_folio();
  std::optional<ReadResult> stop_at_write_only_backing();
  ReadResult read_stale_cache_at_eof();
  std::optional<ReadResult> read_past_unaligned_eof(uint64_t folio_end);
  std::optional<ReadResult> stop_at_aligned_eof(uint64_t folio_end);
  std::optional<ReadResult> serve_cached_past_eof(uint64_t fail_at);
  ReadResult read_clean(uint64_t a, uint64_t z);
  ReadResult compose(bool meets_eof, bool past_unaligned_eof);
  void may_meet_large_eof_folio();
  void may_meet_large_folio_at(uint64_t unreadable_from);
  void may_end_at(uint64_t at, EnvelopeRule why);
  void carry_backing_envelope(uint64_t pos, const ReadResult& br);
  bool never_read_in(uint64_t folio) const;
  ReadResult end_at_failed_folio(uint64_t at, uint64_t built_to, bool known,
                                 EnvelopeRule why_unknown);

  Machine& m;
  Device& dev;
  DataBuilder& out;
  const uint64_t start, len, cap;
  uint64_t end;
  // The request this read came in: it ends past `end` when a stacked upper device's
  // readahead asked for more (Machine::upper_request_bytes).
  const ReadRequest request;
  const uint64_t backing_end_dev;
  const bool eof_is_eio;
  // Buffered: through the device's page cache, in folios of `grain` bytes.
  const uint64_t grain;
  // How far this read's readahead may cache (readahead_end), taken before it runs.
  const uint64_t ra_end;
  bool served_from_dirty = false;  // every folio of the read is wholly dirty
  ReadResult r;

  uint64_t readahead_end() const;
};

// How far readahead may cache folios for this buffered read of [start, end) of a
// device backed by a regular file. Into a cache that holds nothing only readahead
// may have put there (empty, or only folios surely cached by earlier reads and
// writes, which carry no PG_readahead mark that would start an asynchronous
// window), the synchronous window starts at the read's first page and spans at
// most 4 x roundup_pow_of_two(n) pages, n = the request's pages plus twice the
// pages before it: get_init_ra_size() gives at most 4 x the request rounded up,
// context readahead (cached history before the index) at most min(history x 2 +
// request, ra_pages); on 6.1 (ondemand_readahead, try_context_readahead) as on
// 6.12 and 6.18 (page_cache_sync_ra), whatever read_ahead_kb is. A read wholly in
// such folios starts no readahead (filemap_get_pages reads ahead only for a
// missing or marked folio). On 6.18 (`large_folios`) page_cache_ra_order rounds
// the mark down to a large folio's start, so the read's own first folio can start
// the next, asynchronous window at once (6.18.44: 32 KiB cached after a 1-byte
// read at 0): it stays within the sync window only when that window reaches the
// backing EOF, requests past which fail (6.12+). Otherwise, and for devices in a
// stack (upper or lower), anything up to the capacity. (6.12.117, 6.18.44: after a cut to 1 byte
// and a 1-byte read at 0, a 1-byte write at 61440 needing its block → EIO, so a
// LOOP_SET_STATUS offset change writes back only the pages written and sizes the
// device from a 4096-byte file; linux-6.12/set_status_size_after_failed_rmw_write_*.)
uint64_t DeviceRead::readahead_end() const {
  const Device& d = dev;
  const uint64_t folio = grain;
  if (d.state != DevState::Bound || m.s.descs[d.backing_desc].kind != DescKind::File ||
      end <= start)
    return cap;
  // A device under another one is also read by the upper driver, in requests as
  // long as the upper readahead's, which this read does not show.
  for (int i = 0; i < m.s.device_count; ++i) {
    const Device& u = m.s.devices[i];
    if (has_backing(u.state) && m.s.descs[u.backing_desc].kind == DescKind::Loop &&
        m.s.descs[u.backing_desc].device == d.index)
      return cap;
  }
  // The folios holding surely cached bytes are cached whole (a write's folio was
  // read in or written whole).
  const uint64_t sure_a = d.sure_lo / folio * folio;
  const uint64_t sure_z = (d.sure_hi + folio - 1) / folio * folio;
  const bool any_sure = d.sure_lo < d.sure_hi;
  const bool cold =
      !d.cache_populated || (any_sure && sure_a <= d.cache_lo && d.cache_hi <= sure_z);
  if (!cold) return cap;
  const uint64_t fa = start / folio * folio, fz = std::min(cap, (end + folio - 1) / folio * folio);
  if (any_sure && sure_a <= fa && fz <= sure_z) return fz;
  const uint64_t first = start / kPageSize;
  const uint64_t pages = (end + kPageSize - 1) / kPageSize - first + 2 * first;
  if (pages > (uint64_t{1} << 40)) return cap;
  uint64_t window = 1;
  while (window < pages) window <<= 1;
  const uint64_t limit = (first + 4 * window) * kPageSize;
  const uint64_t sync_end = std::min(cap, (limit + folio - 1) / folio * folio);
  if (m.p.large_folios && !(eof_is_eio && sync_end >= backing_end_dev)) return cap;
  return sync_end;
}

ReadResult DeviceRead::direct() {
  // blkdev_read_iter writes the range's dirty pages back (kiocb_write_and_wait)
  // before blkdev_direct_IO checks the alignment: a failed writeback is EIO even
  // for a misaligned read (6.18.44: gen-7701-1094, 32 KiB blocks).
  if (const int e = write_back_dirty_range()) return ReadResult{e, 0, true, 0};
  if (start % dev.block_size || (end - start) % dev.block_size)
    return ReadResult{EINVAL, 0, true, 0};
  if (dev.state != DevState::Bound) return ReadResult{EIO, 0, true, 0};
  if (m.p.backing_io_checks_file_mode && !dev.dio &&
      m.s.descs[dev.backing_desc].access == Access::Wo)
    return ReadResult{EIO, 0, true, 0};
  // One request for the whole range: past an unaligned EOF it succeeds, the bytes
  // past the EOF repeating the sub-sector tail (not predicted); see eof_request_error.
  // The writeback above may have grown the backing file: the EOF is read again.
  const uint64_t eof = arith::bytes_past_offset(m.backing_size(dev), dev.offset);
  const bool past_eof = end > eof;
  if (eof_is_eio && past_eof)
    if (const int e = m.eof_request_error(dev, start, end, eof))
      return ReadResult{e == EINVAL && !m.p.request_status_einval ? EIO : e, 0, true, 0};
  r = m.read_backing(dev, start, end, out, false, request.readahead_pages);
  // A lower device that may return less fails an O_DIRECT reader's bio: EIO.
  if (!r.err && r.count < end - start) return ReadResult{EIO, 0, true, 0};
  if (r.min_count) {
    r.also_err = EIO;
    if (r.err_rule == EnvelopeRule::None) r.err_rule = r.count_rule;
  }
  r.min_count = 0;
  r.count_rule = EnvelopeRule::None;
  if (eof_is_eio && past_eof) r.unknown(EnvelopeRule::DirectReadPastUnalignedEof);
  return r;
}

int DeviceRead::write_back_dirty_range() {
  bool wrote_back = false;
  if (const int e = m.write_back_for_direct(dev, start, end, &wrote_back)) return e;
  if (wrote_back && m.p.large_folios) {
    may_write_back_folios_around(start / grain * grain,
                                 std::min(cap, (end + grain - 1) / grain * grain));
  }
  return 0;
}

// 6.18 (Profile::large_folios): a buffered write makes folios up to its own size,
// naturally aligned, and the writeback above writes each folio it meets whole
// (6.18.44: after an 8 KiB write, an O_DIRECT read of 512 bytes at 512 wrote both
// pages back; after two 4 KiB writes only the first). The model does not track
// folio boundaries: dirty bytes that may share a folio with [from, to) may have
// reached the backing file too. They stay dirty (the cache holds them), so the next
// flush makes the backing file's bytes known again.
void DeviceRead::may_write_back_folios_around(uint64_t from, uint64_t to) {
  const uint64_t lo = from / kMaxFolioBytes * kMaxFolioBytes;
  const uint64_t hi = (to + kMaxFolioBytes - 1) / kMaxFolioBytes * kMaxFolioBytes;
  for (int i = 0; i < dev.dirty.count; ++i) {
    const Extent& x = dev.dirty.e[i];
    const uint64_t a = std::max(x.start, lo), z = std::min(x.end, hi);
    if (a < z) m.backing_maybe_written(dev, a, z);
  }
}

ReadResult DeviceRead::buffered() {
  if (auto done = read_outgrown_blocks()) return *done;
  if (auto done = check_blocks_outgrow_cache()) return *done;
  if (dev.state == DevState::Rundown) return read_in_rundown();
  if (auto done = read_over_failing_lower()) return *done;
  if (auto done = stop_at_partial_last_block()) return *done;
  if (m.soft_blocks_below_logical(dev))
    if (auto done = stop_at_partly_dirty_folio()) return *done;
  if (m.p.backing_io_checks_file_mode && !dev.dio &&
      m.s.descs[dev.backing_desc].access == Access::Wo)
    if (auto done = stop_at_write_only_backing()) return *done;
  bool past_unaligned_eof = false;
  // The cache reads whole folios: a read ending before the backing EOF still
  // meets it when its last folio does.
  const uint64_t folio_end = std::min(cap, (end + grain - 1) / grain * grain);
  // Folios wholly dirty are up to date: the read never reaches the backing file
  // (6.1.192 in QEMU: a page written after the backing file was truncated reads
  // back from the cache).
  const bool all_dirty = extents_cover(dev.dirty, start / grain * grain, folio_end);
  served_from_dirty = all_dirty;
  const bool meets_eof = !all_dirty && folio_end > backing_end_dev;
  if (eof_is_eio && meets_eof && dev.cache_stale) return read_stale_cache_at_eof();
  if (eof_is_eio && meets_eof) {
    const uint64_t eof_folio = backing_end_dev / grain * grain;
    if (m.eof_request_error(dev, eof_folio, eof_folio + grain, backing_end_dev) == 0) {
      if (auto done = read_past_unaligned_eof(folio_end)) return *done;
      past_unaligned_eof = true;
    } else if (auto done = stop_at_aligned_eof(folio_end)) {
      return *done;
    }
  } else if (eof_is_eio && !all_dirty &&
             m.eof_request_error(dev, backing_end_dev / grain * grain,
                                 backing_end_dev / grain * grain + grain, backing_end_dev) != 0) {
    may_meet_large_eof_folio();  // the read ends before the EOF folio
  }
  return compose(meets_eof, past_unaligned_eof);
}

// Blocks larger than the cache's folios, where the model knows which pages are up
// to date (outgrown_cache.cpp): the read ends exactly where the kernel's does.
std::optional<ReadResult> DeviceRead::read_outgrown_blocks() {
  if (!Machine::blocks_outgrow_cache(dev) || m.s.descs[dev.backing_desc].kind != DescKind::File)
    return std::nullopt;
  if (auto done = stop_at_partial_last_block()) return *done;
  const OutgrownRead o = m.outgrown_read(dev, start, end, request, backing_end_dev);
  if (o.kind == OutgrownRead::Kind::Unknown) return std::nullopt;
  if (o.stop <= start) {
    Machine::note_outgrown_read(dev, o);
    return ReadResult{EIO, 0, true, 0};
  }
  end = o.stop;
  // compose() reads the bytes; what the cache holds afterwards is decided here.
  const Device before = dev;
  ReadResult res = compose(false, false);
  dev.cache_populated = before.cache_populated;
  dev.cache_lo = before.cache_lo;
  dev.cache_hi = before.cache_hi;
  dev.sure_lo = before.sure_lo;
  dev.sure_hi = before.sure_hi;
  dev.refused_reads_only = before.refused_reads_only;
  Machine::note_outgrown_read(dev, o);
  return res;
}

std::optional<ReadResult> DeviceRead::check_blocks_outgrow_cache() {
  // Blocks larger than the cache's folios (see flush_dirty): a read that does not
  // start on a block boundary sends an unaligned request and fails; an aligned one
  // works only if readahead happens to send whole blocks, and pages cached before
  // may serve either: those are envelopes.
  if (Machine::blocks_outgrow_cache(dev) && !extents_cover(dev.dirty, start, start + len)) {
    const bool unaligned = (start / kPageSize * kPageSize) % dev.block_size != 0;
    if (unaligned && !dev.cache_populated) return ReadResult{EIO, 0, true, 0};
    // Pages the trace wrote are up to date: the read gets through them for sure,
    // and may end right after them (6.18.44: 8 KiB blocks, page 0 written whole
    // after a refused 1-byte write there, a 64 KiB read at 0 → 4096; fuzz smoke,
    // linux-6.18/large_block_read_ends_after_written_page.trace).
    uint64_t written_end = start / kPageSize * kPageSize;
    while (written_end < start + len &&
           Machine::written_up_to_date(dev, written_end, written_end + kPageSize))
      written_end += kPageSize;
    if (written_end <= start) r.also_err = EIO;
    if (written_end <= start) r.err_rule = EnvelopeRule::BlocksLargerThanPage;
    // Where a read that works ends is the same readahead's doing: at a block
    // boundary past its first block (6.18.44: after a 3000-byte read at 32868 with
    // 16 KiB blocks, a 64 KiB read at 0 returned 32768; the model does not track
    // the readahead history that decides it, docs/semantics.md §11.9).
    uint64_t least_end = (start / dev.block_size + 1) * dev.block_size;
    if (written_end > start) least_end = std::min(least_end, written_end);
    if (least_end < start + len) {
      r.min_count = least_end - start;
      r.count_rule = EnvelopeRule::BlocksLargerThanPage;
    }
  }
  return std::nullopt;
}

ReadResult DeviceRead::read_in_rundown() {
  // Requests fail with EIO; only cached pages can still be read.
  if (extents_cover(dev.dirty, start, end)) {
    for (int i = 0; i < dev.dirty.count; ++i) {
      const Extent& x = dev.dirty.e[i];
      const uint64_t a = std::max(x.start, start), z = std::min(x.end, end);
      if (a < z) emit_extent(x, a, z, out);  // a pattern run, or a discard's zeros
    }
    r.count = end - start;
    r.known = !dev.dirty.unknown;
    if (!r.known) r.data_rule = EnvelopeRule::RundownMaybeFailedWrite;
    return r;
  }
  // Pages a refused writeback left up to date serve too (Machine::flush_dirty).
  if (extents_cover_either(dev.dirty, dev.held, start, end)) {
    r.count = end - start;
    r.known = m.emit_device_bytes(dev, start, end, out);
    if (!r.known) r.data_rule = EnvelopeRule::RundownMaybeFailedWrite;
    return r;
  }
  // Readahead may have cached the range before the detach.
  const uint64_t folio = start / grain * grain;
  return only_cached_folios(folio, folio + grain, EnvelopeRule::RundownReadahead);
}

// No request can serve the read: only folios cached before can, from its first
// one, [first, first_end), on. Success with unpredictable bytes, or EIO
// (kernel-state dependent). Nothing past the cached hull can be cached: the read
// ends there at the latest. How much readahead cached is the kernel's state (its
// window follows the file's readahead history): the read ends at some folio
// boundary, at the earliest after the first folio.
ReadResult DeviceRead::only_cached_folios(uint64_t first, uint64_t first_end, EnvelopeRule why) {
  if (!Machine::may_be_cached(dev, first, first_end)) return ReadResult{EIO, 0, true, 0};
  r.count = std::min(end, std::max(dev.cache_hi, start)) - start;
  r.min_count = std::min(end, first_end) - start;
  if (r.min_count >= r.count) r.min_count = 0;
  r.known = false;
  r.also_err = EIO;
  r.err_rule = r.count_rule = r.data_rule = why;
  return r;
}

std::optional<ReadResult> DeviceRead::read_over_failing_lower() {
  // Only the first folio decides here: a later one the lower device cannot serve
  // ends the read short (compose, end_at_failed_folio).
  const uint64_t first_folio = start / grain * grain;
  if (m.stacked_read_status(dev, first_folio, std::min(cap, first_folio + grain)) != 2)
    return std::nullopt;
  // A lower loop device that cannot serve reads: this device's own cached
  // folios still do (6.12.117 in QEMU).
  return only_cached_folios(first_folio, first_folio + grain, EnvelopeRule::ReadOverFailingLower);
}

std::optional<ReadResult> DeviceRead::stop_at_partial_last_block() {
  const uint64_t usable = m.buffered_io_stop(dev);
  if (usable >= cap) return std::nullopt;
  if (start < usable) {
    end = std::min(end, usable);
    // A large folio may hold the partial last block (6.18.44: after an upper
    // device's read made the lower's readahead go on asynchronously, a 4 KiB read
    // of the page before the one holding the partial last block → EIO; 6.12.117,
    // single pages: 4096; gen-7704-0378).
    may_meet_large_folio_at(usable);
    return std::nullopt;
  }
  // A page readahead may have cached before the capacity left a partial last
  // block still serves (6.18.44: after a read over a backing file cut to 768
  // bytes and LOOP_SET_CAPACITY, 512 bytes at 0 of the 1 KiB-block device);
  // whether it did is readahead's doing: the read ends at the first page it did
  // not cache, or fails there.
  const uint64_t page = start / kPageSize * kPageSize;
  return only_cached_folios(page, page + kPageSize, EnvelopeRule::FailedFolio);
}

std::optional<ReadResult> DeviceRead::stop_at_partly_dirty_folio() {
  // Soft blocks below the logical block size: a folio that is not cached whole
  // reads its missing blocks one buffer head at a time (block_read_full_folio),
  // requests the queue refuses; clean folios go whole (mpage_readahead) and
  // work. So a partly dirty folio fails, unless it was read whole before the
  // write (cached, up to date): that is an envelope (probe c2 on 6.18.44: a
  // 512-byte write, then a 4 KiB read of its page → EIO).
  for (uint64_t f = start / grain * grain; f < end; f += grain) {
    const uint64_t z = std::min(f + grain, cap);
    bool touched = false;
    for (int i = 0; i < dev.dirty.count; ++i)
      if (dev.dirty.e[i].start < z && dev.dirty.e[i].end > f) touched = true;
    if (!touched || extents_cover(dev.dirty, f, z)) continue;
    if (Machine::may_be_cached(dev, f, z)) {
      if (f <= start) {
        r.also_err = EIO;
        r.err_rule = EnvelopeRule::PartlyDirtyFolio;
      } else if (r.min_count == 0) {
        r.min_count = f - start;
        r.count_rule = EnvelopeRule::PartlyDirtyFolio;
      }
      continue;
    }
    if (f <= start) return ReadResult{EIO, 0, true, 0};
    end = std::min(end, f);
    break;
  }
  return std::nullopt;
}

std::optional<ReadResult> DeviceRead::stop_at_write_only_backing() {
  // 6.1: the driver cannot read a write-only backing file, so the first folio the
  // cache does not hold fails; folios before it (fully dirty) still complete.
  // Folios written back or read before may still be cached clean (holding what
  // the backing file holds) or not: the read may also end at the first of them.
  uint64_t first_bad = start / grain * grain, first_maybe = UINT64_MAX;
  while (first_bad < end) {
    const uint64_t z = std::min(first_bad + grain, cap);
    if (!extents_cover(dev.dirty, first_bad, z)) {
      if (!Machine::may_be_cached(dev, first_bad, z)) break;
      first_maybe = std::min(first_maybe, first_bad);
    }
    first_bad += grain;
  }
  if (start >= first_bad && first_bad < end) return ReadResult{EIO, 0, true, 0};
  end = std::min(end, first_bad);
  if (first_maybe <= start) {
    r.also_err = EIO;
    r.min_count = std::min(end, first_maybe + grain) - start;
  } else if (first_maybe < end) {
    r.min_count = first_maybe - start;
  }
  if (r.min_count >= end - start) r.min_count = 0;
  if (r.also_err) r.err_rule = EnvelopeRule::WriteOnlyBacking;
  if (r.min_count) r.count_rule = EnvelopeRule::WriteOnlyBacking;
  return std::nullopt;
}

ReadResult DeviceRead::read_stale_cache_at_eof() {
  // The backing file shrank behind pages the device may still cache (readahead
  // filled them before): a cache hit returns the old bytes, a miss past the EOF
  // fails and ends the read there. Folios before the EOF folio (and that folio
  // too when the EOF is not sector aligned) read from the file; past them the
  // read ends where the cache does, which readahead decided: an envelope.
  const uint64_t eof_folio = backing_end_dev / grain * grain;
  const uint64_t readable_end =
      m.eof_request_error(dev, eof_folio, eof_folio + grain, backing_end_dev) == 0
          ? eof_folio + grain
          : eof_folio;
  const uint64_t up = std::min(end, std::max(readable_end, dev.cache_hi));
  if (start >= up) return ReadResult{EIO, 0, true, 0};
  // The bytes are the stale cache's and the file's, unpredicted: no composing.
  r.count = up - start;
  r.min_count = start < readable_end ? std::min(up, readable_end) - start
                                     : std::min(up, start / grain * grain + grain) - start;
  if (start >= readable_end) r.also_err = EIO;
  if (r.min_count >= r.count) r.min_count = 0;
  r.known = false;
  r.err_rule = r.count_rule = r.data_rule = EnvelopeRule::StaleCacheAtShrunkEof;
  Machine::note_cached(dev, start / grain * grain, up);
  return r;
}

std::optional<ReadResult> DeviceRead::read_past_unaligned_eof(uint64_t folio_end) {
  // An EOF that is not sector aligned: the request carrying the folio that holds
  // it starts before it and succeeds (eof_request_error), and readahead sends the
  // read's later folios in the same request. A read starting past that folio
  // needs a request of its own, starting past the EOF: it fails unless readahead
  // cached the folio before. The bytes past the EOF are not predicted.
  const uint64_t eof_folio = backing_end_dev / grain * grain;
  if (start >= eof_folio + grain) {
    // A large folio holding the EOF may hold the start too: its request starts
    // before the EOF and succeeds (probe e1: 65536 at 327680 past an EOF at
    // 300000 after sequential reads).
    const uint64_t big_end = (backing_end_dev / kMaxReadaheadFolio + 1) * kMaxReadaheadFolio;
    if ((start >= big_end || !dev.cache_populated || !m.p.large_folios) &&
        !Machine::may_be_cached(dev, start / grain * grain, start / grain * grain + grain))
      return ReadResult{EIO, 0, true, 0};
    // What readahead cached there serves; the read ends at the first folio it
    // did not (6.18.44: 12288 of 61440 at 4096 after a one-byte read at 0 over a
    // file cut to 1 byte, finding e6bc6ab7).
    r.also_err = EIO;
    r.err_rule = EnvelopeRule::ReadPastUnalignedEof;
    const uint64_t first_end = std::min(end, start / grain * grain + grain);
    if (first_end < end) r.min_count = first_end - start;
    if (first_end < end) r.count_rule = EnvelopeRule::ReadPastUnalignedEof;
    return std::nullopt;
  }
  // The request ends at a folio up to date (wholly dirty, or surely cached:
  // served from the cache); the next folio after such a run needs a request of
  // its own, starting past the EOF: the read ends there unless readahead cached it.
  auto up_to_date = [&](uint64_t f) {
    const uint64_t z = std::min(f + grain, cap);
    return extents_cover(dev.dirty, f, z) || Machine::surely_cached(dev, f, z);
  };
  // An EOF folio up to date is in no request either: the first folio after it
  // that is not starts a request past the EOF (6.18.44, 6.12.117: 4096 of 16384
  // after writes at 0 and 8192 over a file cut to 1 byte, findings 9f95132f,
  // 29edba86).
  uint64_t f = eof_folio + grain;
  if (!up_to_date(eof_folio))
    while (f < folio_end && !up_to_date(f)) f += grain;
  while (f < folio_end && up_to_date(f)) f += grain;
  if (f < folio_end && !Machine::may_be_cached(dev, f, f + grain)) {
    end = std::min(end, f);
  } else {
    // Folios cached before (readahead, a write's read-in) are not in the
    // request, and readahead splits a long read into requests of its window
    // (probe e1): the next one starts past the EOF and fails. Where the read
    // ends is readahead's doing, at the earliest after the EOF folio.
    const uint64_t earliest = std::min(end, eof_folio + grain);
    if (earliest > start && earliest < end) r.min_count = earliest - start;
    r.count_rule = EnvelopeRule::ReadPastUnalignedEof;
  }
  return std::nullopt;
}

std::optional<ReadResult> DeviceRead::stop_at_aligned_eof(uint64_t folio_end) {
  // The folio holding the backing EOF (and every later one) fails unless it is
  // up to date: wholly dirty, or surely cached (6.1 caches zeros past the EOF
  // when loop DIO is off; after DIO is turned on such a page still serves: 6.1.0-56,
  // linux-6.1/cached_page_past_eof_serves_in_dio_mode.trace). Earlier folios
  // complete, so a read starting before the first failing one is short.
  uint64_t fail_at = backing_end_dev / grain * grain;
  while (fail_at < folio_end &&
         (extents_cover(dev.dirty, fail_at, std::min(fail_at + grain, cap)) ||
          Machine::surely_cached(dev, fail_at, std::min(fail_at + grain, cap))))
    fail_at += grain;
  if (fail_at < folio_end) {
    if (dev.cached_past_eof && Machine::may_be_cached(dev, fail_at, fail_at + grain))
      return serve_cached_past_eof(fail_at);
    // The failing request read a stacked lower device's file up to its end first,
    // through the lower cache (6.18.44: after an upper read failed at the lower
    // device's 512-byte end, the lower device in Rundown served those 512 bytes).
    m.note_lower_cache(dev, fail_at, std::min(cap, fail_at + grain), Machine::LowerFill::ReadIn);
    if (start >= fail_at) return ReadResult{EIO, 0, true, 0};
    end = std::min(end, fail_at);
    may_meet_large_eof_folio();
  }
  return std::nullopt;
}

// Folios from `fail_at` on would fail if read now, but readahead may have cached
// them while reads past the EOF still worked (Machine::note_readahead_past_eof):
// the read ends at the first one it did not cache, readahead's choice (6.1.0-56
// returned 20480 of 32768 in finding 32b5d618). The bytes are the zeros 6.1
// cached, or an unaligned EOF's repeated tail (compose leaves those unknown).
std::optional<ReadResult> DeviceRead::serve_cached_past_eof(uint64_t fail_at) {
  end = std::min(end, std::max(fail_at, dev.cache_hi));
  if (end <= start) return ReadResult{EIO, 0, true, 0};
  // The read surely gets to `fail_at`; from there it may end at any folio, or
  // fail when that is its first one.
  uint64_t least = fail_at;
  if (fail_at <= start) {
    r.also_err = EIO;
    r.err_rule = EnvelopeRule::FailedFolio;
    least = start / grain * grain + grain;
  }
  if (least < end && (r.min_count == 0 || least - start < r.min_count)) {
    r.min_count = least - start;
    r.count_rule = EnvelopeRule::FailedFolio;
  }
  return std::nullopt;
}

// Clean bytes [a, z): where the backing file changed under cached pages the cache
// still serves the old bytes (`held`, pagecache_stale_after_backing_write.trace);
// elsewhere the driver reads the backing file. A backing read that may end or
// fail early (a stacked lower device) ends the result there: count and envelope
// are relative to `a`.
ReadResult DeviceRead::read_clean(uint64_t a, uint64_t z) {
  ReadResult res;
  uint64_t pos = a;
  for (int i = 0; i <= dev.held.count && pos < z; ++i) {
    const bool have = i < dev.held.count;
    const Extent x = have ? dev.held.e[i] : Extent{};
    const uint64_t gap_end = have ? std::min(std::max(x.start, pos), z) : z;
    if (pos < gap_end) {
      const ReadResult br =
          m.read_backing(dev, pos, gap_end, out, /*whole_folios=*/true, request.readahead_pages);
      if (br.err && pos == a) return br;
      if (br.err) return ended_at(res, pos - a);  // the caller ends the read there
      if (!br.known) res.unknown(br.data_rule);
      // The backing read's envelope, as positions in [a, z).
      if (br.also_err) may_end_after(res, pos - a, br.err_rule);
      if (br.min_count) may_end_after(res, pos - a + br.min_count, br.count_rule);
      if (br.count < gap_end - pos) return ended_at(res, pos - a + br.count);
      pos = gap_end;
    }
    if (!have || x.end <= pos) continue;
    const uint64_t to = std::min(x.end, z);
    emit_extent(x, pos, to, out);
    pos = to;
  }
  res.count = z - a;
  return res;
}

void DeviceRead::may_meet_large_eof_folio() {
  // Once earlier reads ramped readahead up (the cache was populated; a first
  // read allocates single pages, probe e1), the folio holding an aligned EOF may
  // be a large one, which fails whole (kMaxReadaheadFolio): the read may end,
  // or fail, from where that folio may start (probe d1: EIO at 524288). An EOF at
  // or past the capacity has no folio: readahead stops at the device's end.
  if (backing_end_dev >= cap) return;
  may_meet_large_folio_at(backing_end_dev);
}

// The folio that cannot be read in starts at `unreadable_from` when it is a page;
// a large one holding it (6.18, once readahead ramped up) starts lower, anywhere
// down to the kMaxReadaheadFolio boundary, and fails whole.
void DeviceRead::may_meet_large_folio_at(uint64_t unreadable_from) {
  const std::optional<uint64_t> floor = large_folio_floor(m.p, dev, unreadable_from);
  if (!floor || start >= unreadable_from || end <= *floor) return;
  const uint64_t big_start = *floor;
  if (start >= big_start) {
    r.also_err = EIO;
    r.err_rule = EnvelopeRule::LargeFolioAtEof;
    const uint64_t next = std::min(end, start / grain * grain + grain);
    if (next < end) {
      r.min_count = next - start;
      r.count_rule = EnvelopeRule::LargeFolioAtEof;
    }
  } else if (r.min_count == 0 || big_start - start < r.min_count) {
    r.min_count = big_start - start;
    r.count_rule = EnvelopeRule::LargeFolioAtEof;
  }
}

ReadResult DeviceRead::compose(bool meets_eof, bool past_unaligned_eof) {
  // Compose: dirty cached ranges over what the driver reads from the backing file.
  bool known = !(Machine::stale_bytes_unpinned(dev, start, end) || dev.orphan_dirty ||
                 dev.dirty.unknown || past_unaligned_eof);
  // 6.1 zero-fills every bio of a request one of whose segments read short, so
  // bytes before the backing EOF read as zeros when readahead put them in the
  // same request as the EOF (6.1.192 in QEMU): which bytes is readahead's choice.
  if (!eof_is_eio && meets_eof && start < backing_end_dev) known = false;
  EnvelopeRule why = Machine::cache_unknown_rule(dev, past_unaligned_eof);
  if (why == EnvelopeRule::None && !known) why = EnvelopeRule::ZeroFilledShortRequest;
  uint64_t pos = start;
  for (int i = 0; i <= dev.dirty.count && pos < end; ++i) {
    const bool have = i < dev.dirty.count;
    const uint64_t xs = have ? std::max(dev.dirty.e[i].start, pos) : end;
    const uint64_t gap_end = std::min(xs, end);
    if (pos < gap_end) {
      // Clean folios past the EOF cached with an unaligned EOF's repeated tail.
      if (gap_end > backing_end_dev && dev.cached_past_eof == Machine::kPastEofUnknown && known) {
        known = false;
        why = EnvelopeRule::ReadPastUnalignedEof;
      }
      ReadResult br = read_clean(pos, gap_end);
      if (br.err && pos / grain * grain <= start) return br;
      if (br.err) return end_at_failed_folio(pos, pos, known, why);
      if (known && !br.known) why = br.data_rule;
      known = known && br.known;
      carry_backing_envelope(pos, br);
      if (br.count < gap_end - pos)
        return end_at_failed_folio(pos + br.count, pos + br.count, known, why);
      pos = gap_end;
    }
    if (!have || dev.dirty.e[i].end <= pos) continue;
    const Extent& x = dev.dirty.e[i];
    const uint64_t z = std::min(x.end, end);
    if (pos < z) emit_extent(x, pos, z, out);  // a pattern run, or a discard's zeros
    pos = std::max(pos, z);
  }
  // Readahead may have brought in anything from the first folio to ra_end; the
  // folios the read went through are cached for sure, when it surely succeeded.
  // A read served by wholly dirty folios alone misses nothing, so readahead does
  // not run (6.18.44: after a 4 KiB write and a 1-byte read of it, a write needing
  // the next page's block ended short at that page, finding b727f8bf).
  if (served_from_dirty) {
    const uint64_t read_to = std::min(cap, (end + grain - 1) / grain * grain);
    Machine::note_cached(dev, start / grain * grain, read_to);
  } else {
    const uint64_t cached_to = std::max(ra_end, end);
    Machine::note_cached(dev, start / grain * grain, cached_to);
    m.note_lower_cache(dev, start / grain * grain, cached_to, Machine::LowerFill::Readahead);
    // Only a window that reached the backing EOF can have cached folios past it.
    if (cached_to > backing_end_dev) m.note_readahead_past_eof(dev);
  }
  // So are those of a read that may end short, as far as it surely got
  // (Machine::settle_read takes them further when a target's count says so).
  if (r.also_err == 0 && r.min_count == 0)
    Machine::note_sure(dev, start / grain * grain,
                       std::min(cap, (end + grain - 1) / grain * grain));
  else if (r.also_err == 0)
    Machine::note_sure(dev, start / grain * grain,
                       std::min(cap, (start + r.min_count + grain - 1) / grain * grain));
  r.count = end - start;
  r.known = known;
  if (!known) r.data_rule = why;
  if (r.min_count >= r.count) r.min_count = 0;
  return r;
}

// A backing read of the gap at `pos` carries its envelope over: it may fail there,
// or end where its count may. One that may end anywhere up to its count ends this
// read at any folio up to there, not only at its first (6.12.117, 6.18.44: 28672
// of an upper read over a lower cache readahead filled to 32 KiB before the lower
// file was cut to 0; fuzz smoke, linux-6.12/stacked_read_ends_at_lower_cache_end).
void DeviceRead::carry_backing_envelope(uint64_t pos, const ReadResult& br) {
  if (br.also_err) may_end_at(pos, br.err_rule);
  if (br.min_count == 0) return;
  may_end_at(pos + br.min_count, br.count_rule);
  const uint64_t first_folio_end = (start / grain + 1) * grain;
  if (r.also_err && pos + br.count > first_folio_end) may_end_at(first_folio_end, br.count_rule);
}

// A backing read (a lower device's envelope) may end at device byte `at`: the
// read may end at the folio holding it, or fail when that is its first folio.
void DeviceRead::may_end_at(uint64_t at, EnvelopeRule why) {
  uint64_t cut = at / grain * grain;
  // A folio surely cached whole needs no request: the read gets past it.
  if (cut < at && Machine::surely_cached(dev, cut, std::min(cap, cut + grain))) cut += grain;
  if (cut <= start) {
    r.also_err = EIO;
    if (r.err_rule == EnvelopeRule::None) r.err_rule = why;
  } else if (r.min_count == 0 || cut - start < r.min_count) {
    r.min_count = cut - start;
    r.count_rule = why;
  }
}

// 6.1, O_DIRECT backing at a misaligned offset: a folio over written backing
// blocks fails every read (read_backing_misaligned_direct), so readahead never
// cached it; only a write (dirty, or kept after a refused writeback) could have.
bool DeviceRead::never_read_in(uint64_t folio) const {
  if (dev.backing_desc == kNoDesc || dev.held.count || dev.held.unknown) return false;
  return m.misaligned_read_refused(dev, folio, std::min(folio + grain, cap));
}

// The folio holding `at` could not be brought in (filemap_read): the read
// returns the folios before it, or fails when there are none. `built_to` is where
// the bytes composed so far end. A folio cached before may still serve: how far
// is readahead's doing, an envelope as in read_over_failing_lower.
ReadResult DeviceRead::end_at_failed_folio(uint64_t at, uint64_t built_to, bool known,
                                           EnvelopeRule why_unknown) {
  const uint64_t cut = at / grain * grain;
  const uint64_t cached_to = std::min(end, std::max<uint64_t>(dev.cache_hi, cut));
  if (cached_to > start && Machine::may_be_cached(dev, cut, cut + grain) && !never_read_in(cut)) {
    r.count = cached_to - start;
    if (cut <= start) r.also_err = EIO;
    if (cut <= start) r.err_rule = EnvelopeRule::FailedFolio;
    // An earlier envelope (a lower device's stale cache, may_end_at) may end the
    // read sooner: keep the lesser bound (6.12.117, 6.18.44: 32768 of a 64 KiB
    // upper read over a lower file cut to 0; fuzz smoke, CI 2026-12-05).
    const uint64_t least = cut > start ? cut - start : 0;
    if (least > 0 && (r.min_count == 0 || least < r.min_count)) {
      r.min_count = least;
      r.count_rule = EnvelopeRule::FailedFolio;
    }
    if (r.min_count >= r.count) r.min_count = 0;
    r.unknown(EnvelopeRule::FailedFolio);
    return r;
  }
  if (cut <= start) return ReadResult{EIO, 0, true, 0};
  Machine::note_cached(dev, start / grain * grain, cut);
  r.count = cut - start;
  if (!known) r.unknown(why_unknown);
  if (built_to != cut) r.unknown(EnvelopeRule::FailedFolio);  // bytes composed past the cut
  if (r.min_count >= r.count) r.min_count = 0;
  return r;
}

}  // namespace

// Readahead sends folios past the one a read needs in the same request (its
// window: 16 KiB for a first one-page read). Past the backing EOF those succeed on
// 6.1 without loop DIO (lo_read_simple zero-fills the request) and, on every
// release, in a request that starts before an EOF that is not sector aligned
// (lo_complete_rq re-reads the tail until the request is full). Such folios stay
// up to date after the EOF stops being readable there: 6.1.0-56 with loop DIO
// turned on served 16384 zero bytes after a one-byte read of a file cut to 0
// (finding 122a7b29); 6.12.117 and 6.18.44 served 16384 after a writeback grew a
// file cut to 1 byte to 4096 (findings 10a738bf, 56183409).
void Machine::note_readahead_past_eof(Device& dev) const {
  if (dev.state != DevState::Bound || dev.backing_desc == kNoDesc) return;
  const uint64_t cap = arith::device_bytes(dev.capacity);
  const uint64_t eof = arith::bytes_past_offset(backing_size(dev), dev.offset);
  if (eof >= cap) return;
  if (!p.read_past_backing_eof_is_eio && !dev.dio) {
    dev.cached_past_eof = std::max(dev.cached_past_eof, kPastEofZeros);
    return;
  }
  const uint64_t grain = std::max<uint64_t>(kPageSize, dev.block_size);
  const uint64_t eof_folio = eof / grain * grain;
  if (eof_request_error(dev, eof_folio, eof_folio + grain, eof) == 0)
    dev.cached_past_eof = kPastEofUnknown;
}

bool Machine::stale_bytes_unpinned(const Device& dev, uint64_t a, uint64_t z) {
  if (!stale_unknown(dev, a, z)) return false;
  uint64_t pos = std::max(a, dev.stale_lo);
  const uint64_t to = std::min(z, dev.stale_hi);
  while (pos < to) {
    uint64_t next = pos;
    for (const ExtentList* list : {&dev.dirty, &dev.held}) {
      if (list->unknown) continue;
      for (int i = 0; i < list->count; ++i)
        if (list->e[i].start <= pos && pos < list->e[i].end) next = std::max(next, list->e[i].end);
    }
    if (next == pos) return true;
    pos = next;
  }
  return false;
}

ReadResult Machine::read_device(Device& dev, uint64_t start, uint64_t len, bool direct,
                                DataBuilder& out, uint64_t readahead_pages,
                                uint64_t request_bytes) {
  const uint64_t cap = arith::device_bytes(dev.capacity);
  if (start >= cap || len == 0) return ReadResult{};  // blkdev_read_iter: at/after the end → 0
  DeviceRead read(*this, dev, start, len, request_bytes, readahead_pages, out);
  return direct ? read.direct() : read.buffered();
}

int Machine::stacked_read_status(const Device& dev, uint64_t a, uint64_t z) const {
  if (dev.backing_desc == kNoDesc || s.descs[dev.backing_desc].kind != DescKind::Loop) return 0;
  const Device* lower = nullptr;
  for (int i = 0; i < s.device_count; ++i)
    if (s.devices[i].index == s.descs[dev.backing_desc].device) lower = &s.devices[i];
  if (!lower) return 0;
  const uint64_t la = arith::backing_byte(a, dev.offset), lz = arith::backing_byte(z, dev.offset);
  int st = stacked_read_status(*lower, la, lz);
  // 6.1 (no read_past_backing_eof_is_eio): a lower device detached under the
  // upper one has no size, so the upper device's buffered read meets its EOF and
  // zero-fills (6.1.0-56 in QEMU: 4096 zeros;
  // linux-6.1/stacked_read_over_detached_lower_zero_fills.trace).
  const bool lower_gone_reads_eof =
      lower->state == DevState::Unbound && !p.read_past_backing_eof_is_eio && !dev.dio;
  if ((lower->state != DevState::Bound && !lower_gone_reads_eof) ||
      (p.backing_io_checks_file_mode && !lower->dio && lower->backing_desc != kNoDesc &&
       s.descs[lower->backing_desc].access == Access::Wo))
    st = 2;
  if (st != 2 && lower->state == DevState::Bound &&
      (p.read_past_backing_eof_is_eio || lower->dio)) {
    // The lower device reads the range in its own folios, which may meet its
    // own backing EOF (6.18.44: EIO).
    const uint64_t grain = std::max<uint64_t>(kPageSize, lower->block_size);
    const uint64_t lcap = arith::device_bytes(lower->capacity);
    const uint64_t fa = la / grain * grain, fz = std::min(lcap, (lz + grain - 1) / grain * grain);
    const uint64_t lend = arith::bytes_past_offset(backing_size(*lower), lower->offset);
    if (fz > lend && !extents_cover(lower->dirty, fa, fz) &&
        eof_request_error(*lower, fa, fz, lend) != 0)
      st = 2;
  }
  // The lower device cannot bring in the folio holding its partial last block
  // (buffered_io_end), so an upper read reaching it fails there (probe b2 on
  // 6.18.44: a partial-block write to the upper device's last block → EIO).
  // Only a folio readahead cached before the capacity shrank may still serve it
  // (stop_at_partial_last_block; the stacked form of that finding, 6.18.44).
  if (lower->state == DevState::Bound) {
    const uint64_t usable = buffered_io_stop(*lower);
    if (usable < arith::device_bytes(lower->capacity) && lz > usable)
      return may_be_cached(*lower, usable, usable + kPageSize) && !dev.dio ? 1 : 2;
  }
  // A lower cache may still hold the range, unless the upper device reads it
  // with direct I/O, which bypasses that cache.
  return st == 2 && lower->cache_populated && !dev.dio ? 1 : st;
}

// A write the driver performs on the backing file (writeback or direct I/O).
int Machine::write_backing(Device& dev, uint64_t start, uint64_t end, uint64_t origin,
                           uint32_t seed, BackingWrite kind, uint32_t fill) {
  const Desc& b = s.descs[dev.backing_desc];
  const uint64_t pos = arith::backing_byte(start, dev.offset),
                 pos_end = arith::backing_byte(end, dev.offset);
  const uint64_t b_origin = arith::backing_byte(origin, dev.offset);
  if (b.kind == DescKind::File) {
    // Writeback sends whole pages; direct device writes are block aligned already.
    const uint64_t page_pos = arith::backing_byte(start / kPageSize * kPageSize, dev.offset);
    if (backing_odirect_misaligned(dev, page_pos, kPageSize)) return EIO;
    backing_file_write(b.object, pos, pos_end, &dev);
    Object& obj = s.objects[b.object];
    // Past EOF: extends the file. A fill run is a dirty buffer's zeros (discard.cpp).
    extents_write_run(obj.data, Extent{pos, pos_end, b_origin, seed, fill});
    allocate_blocks(obj, pos, pos_end);
    obj.size = std::max(obj.size, pos_end);
    extents_erase(dev.held, start, end);  // the cache and the file agree there now
    return 0;
  }
  Device& lower = *device(b.device);
  const uint64_t lcap = arith::device_bytes(lower.capacity);
  // ENOSPC from the lower block device: the kiocb path (loop DIO, or 6.12+'s
  // buffered kiocbs) completes the request with BLK_STS_NOSPC, which an O_DIRECT
  // writer sees as ENOSPC (6.18.44: gen-7701-0253, an upper device's O_DIRECT write
  // after LOOP_SET_STATUS cut its lower device to 0); 6.1's simple path says EIO.
  // blkdev_write_iter checks bdev_read_only (EPERM) before the size (ENOSPC):
  // 6.18.44, an O_DIRECT write through an upper device whose lower device has
  // BLKROSET 1 and a capacity of 0 → EIO (gen-7706-0068).
  if (bdev_read_only(lower)) return EIO;  // EPERM from a read-only lower device → EIO
  if (pos >= lcap) return dev.dio || !p.backing_odirect_honoured_without_dio ? ENOSPC : EIO;
  // A buffered write into the lower cache stops where a pwrite of the lower device
  // would: 6.12+ can neither read in nor write out the folio holding a partial last
  // block (6.12.117, 6.18.44: an upper device's 512-byte O_DIRECT write over a lower
  // device with 1 KiB blocks cut to 512 bytes by a sizelimit → EIO; 6.1.0-56 → 512;
  // linux-6.*/stacked_write_into_partial_last_lower_block.trace).
  const uint64_t lend = dev.dio ? lcap : std::min(lcap, buffered_io_stop(lower));
  if (pos >= lend) return EIO;
  const int e = write_device(lower, pos, std::min(pos_end, lend), b_origin, seed, dev.dio != 0,
                             nullptr, nullptr, nullptr, writeback_blocks(dev, start, end, kind));
  if (e > 0)
    return EIO;  // a maybe-EIO into the lower cache counts as written (its data is marked unknown)
  if (fill != 0) lower.dirty.unknown = 1;  // written as a pattern above: its bytes are not that
  backing_changed(DescKind::Loop, lower.index, &dev);
  return pos_end > lend ? EIO : 0;
}

// kiocb_write_and_wait before a direct read or write: dirty pages of the range
// are written back first, whole folios (filemap_write_and_wait_range writes every
// dirty block of each folio it meets: on 6.18.44 an O_DIRECT read of 512 bytes at
// 512 wrote back the whole dirty page at 0,
// common/odirect_read_writes_back_whole_folio.trace; 6.1.0-56, 6.12.117, 6.18.44:
// an O_DIRECT write of 512 bytes after a 1-byte buffered write over a file cut to
// 0 grew it to 4096, common/odirect_write_writes_back_whole_block.trace).
int Machine::write_back_for_direct(Device& dev, uint64_t start, uint64_t end, bool* wrote_back) {
  const uint64_t grain = std::max<uint64_t>(kPageSize, dev.block_size);
  const uint64_t cap = arith::device_bytes(dev.capacity);
  const uint64_t from = start / grain * grain;
  const uint64_t to = std::min(cap, (end + grain - 1) / grain * grain);
  bool dirty_in_range = false;
  for (int i = 0; i < dev.dirty.count; ++i)
    if (dev.dirty.e[i].start < to && dev.dirty.e[i].end > from) dirty_in_range = true;
  if (!dirty_in_range) return 0;
  dev.refused_reads_only = 0;  // written-back pages stay cached clean, outside `held`
  if (dev.state != DevState::Bound) {
    extents_erase(dev.dirty, from, to);
    return EIO;
  }
  // Writeback the queue refuses (blocks larger than the cache's folios, buffer heads
  // below the logical block size, 6.1's misaligned O_DIRECT backing): as flush_dirty
  // has it, and filemap_write_and_wait_range reports it (6.18.44: gen-7701-1094,
  // an O_DIRECT read after a buffered write with 32 KiB blocks → EIO).
  // Its folios are those of the first open, smaller than the blocks: only the
  // ones the I/O's bytes overlap go out (filemap_write_and_wait_range).
  if (dev.block_size > std::max<uint64_t>(kPageSize, dev.soft_block_size) ||
      soft_blocks_below_logical(dev) || backing_writes_refused(dev)) {
    const uint64_t folio = std::max<uint64_t>(kPageSize, dev.soft_block_size);
    const uint64_t a = start / folio * folio, z = std::min(cap, (end + folio - 1) / folio * folio);
    return flush_dirty_range(dev, a, z) ? 0 : EIO;
  }
  // Whole soft blocks go out, as in flush_dirty: a block reaching past a cut
  // backing EOF extends the file to the block's end (6.1.0-56, 6.12.117, 6.18.44:
  // after a 1-byte write over a file cut to 1 byte, an O_DIRECT read of 4096
  // bytes returns 4096, the file having grown to 4096 by this writeback).
  const uint64_t blk = dev.soft_block_size ? dev.soft_block_size : dev.block_size;
  bool refused = false;
  for (int i = 0; i < dev.dirty.count; ++i) {
    const Extent x = dev.dirty.e[i];
    const uint64_t a = std::max(x.start, from);
    uint64_t z = std::min(x.end, to);
    if (a >= z) continue;
    refused = keep_refused_last_block(dev, x, a, &z) || refused;
    if (a >= z) continue;
    // A stacked lower device that refuses it (read-only, or past its end) fails
    // the writeback: the reader or writer gets EIO, the pages stay cached, and
    // the error stays for fsync, as in flush_dirty (6.18.44: gen-7701-1199, a
    // misaligned O_DIRECT read after a buffered write over a lower device with
    // BLKROSET 1 → EIO, not EINVAL).
    if (!write_back_run(dev, x, a, z)) {
      Extent part = x;
      part.start = a;
      part.end = z;
      keep_refused_pages(dev, part);
      refused = true;
      continue;
    }
    const uint64_t block_end = std::min(cap, (z + blk - 1) / blk * blk);
    if (block_end > z) extend_backing_unknown(dev, block_end);
    allocate_written_back(dev, a / blk * blk, block_end);
    // A partly dirty block read in before the backing file changed writes the
    // old bytes back over the new ones (as in flush_dirty; 6.18.44, finding
    // 3175801a: the O_DIRECT read returned the page's byte, not the file write's).
    if (dev.cache_stale) {
      if (a % blk != 0) backing_maybe_written(dev, a / blk * blk, a);
      if (z < block_end) backing_maybe_written(dev, z, block_end);
    }
  }
  extents_erase(dev.dirty, from, to);
  if (wrote_back) *wrote_back = true;
  if (refused) note_wb_error(dev);
  return refused ? EIO : 0;
}

// 6.12, 6.18 (unaligned_bios_refused): the part of dirty run `x` in [a, *z) that
// lies in a partial last block gets a bio less than a block, refused; its pages
// stay cached with the bytes (as in flush_dirty). Cuts *z to where that starts.
// 6.18.44: 1 KiB blocks, a 1-byte write at 0, the capacity cut to 512, then a
// misaligned O_DIRECT read → EIO, not EINVAL (fuzz smoke,
// linux-6.18/direct_read_writeback_of_partial_last_block_eio.trace).
bool Machine::keep_refused_last_block(Device& dev, const Extent& x, uint64_t a, uint64_t* z) {
  const uint64_t refused_from = std::max(a, refused_writeback_from(dev));
  if (refused_from >= *z) return false;
  Extent refused = x;
  refused.start = refused_from;
  refused.end = *z;
  keep_held(dev, refused);
  *z = refused_from;
  return true;
}

int Machine::write_direct(Device& dev, uint64_t start, uint64_t end, uint64_t origin,
                          uint32_t seed) {
  if (dev.state != DevState::Bound) return EIO;
  if (const int e = write_back_for_direct(dev, start, end)) return e;
  dev.refused_reads_only = 0;            // (conservative: not probed with large blocks)
  extents_erase(dev.dirty, start, end);  // the direct write supersedes cached bytes
  // and kiocb_invalidate_pages drops the cached pages of the range.
  if (start < dev.sure_hi && end > dev.sure_lo) dev.sure_lo = dev.sure_hi = 0;
  if (start <= dev.refused_page && dev.refused_page < end) dev.refused_page = kNoPage;
  // In loop DIO mode a lower device's blkdev_direct_IO checks the request's
  // alignment against its own blocks, Bound or in Rundown: off them is
  // BLK_STS_INVAL, EINVAL to the O_DIRECT writer (6.18.44: gen-7701-1261, the lower
  // device's blocks grown to 8 KiB). Only direct writes are requests of their own
  // bytes; writeback sends whole blocks.
  const Desc& b = s.descs[dev.backing_desc];
  if (dev.dio && b.kind == DescKind::Loop) {
    const uint64_t pos = arith::backing_byte(start, dev.offset);
    if (lower_refuses_misaligned_direct_write(*device(b.device), pos, end - start))
      return p.request_status_einval ? EINVAL : EIO;
  }
  return write_backing(dev, start, end, origin, seed, BackingWrite::Request);
}

// A direct write of lower bytes [pos, pos + len) that is not whole lower blocks:
// the lower's blkdev_direct_IO refuses it, Bound or in Rundown (BLK_STS_INVAL). A
// read-only lower device refuses it before that (blkdev_write_iter: EPERM → EIO;
// 6.18.44: a 512-byte O_DIRECT write over a lower device with 2 KiB blocks and
// BLKROSET 1 → EIO, gen-7706-0416), and past its end the size check does (ENOSPC).
bool Machine::lower_refuses_misaligned_direct_write(const Device& lower, uint64_t pos,
                                                    uint64_t len) {
  const bool misaligned = pos % lower.block_size != 0 || len % lower.block_size != 0;
  const bool read_only = bdev_read_only(lower);
  return misaligned && !read_only && has_backing(lower.state) &&
         pos < arith::device_bytes(lower.capacity);
}

// A DIO-mode device over a bound lower loop device: its read of [a, z) is a
// misaligned request there (dio_folio_request_misaligned).
bool Machine::dio_lower_request_misaligned(const Device& dev, uint64_t a, uint64_t z) {
  const Device* lower = lower_device(dev);
  return dev.dio && lower != nullptr && lower->state == DevState::Bound &&
         dio_folio_request_misaligned(dev, *lower, a, z);
}

Device* Machine::lower_device(const Device& dev) {
  if (dev.backing_desc == kNoDesc || s.descs[dev.backing_desc].kind != DescKind::Loop)
    return nullptr;
  return device(s.descs[dev.backing_desc].device);
}

// The read-modify-write read of an upper device's block over a lower device whose
// blocks outgrew its folios: a buffer head's bio of that block, which the loop
// driver reads from the lower device through the bind's file, so the lower page
// cache and its readahead decide it as for any read of that range (6.18.44: 512-byte
// upper blocks over a lower device with 8 KiB blocks, a write at 1 needing block 0:
// the lower's initial readahead window at 0 reads whole blocks, 4919 written;
// gen-7704-1972; a window from page 2 cut at a capacity off a block boundary is
// refused: linux-6.18/large_block_lower_refused_by_upper_write_keeps_folio_1049).
// 0: read; 1: maybe (an envelope of the lower read); 2: refused.
int Machine::outgrown_lower_rmw_read(Device& dev, uint64_t b, uint64_t z) {
  Device& lower = *lower_device(dev);
  const uint64_t la = arith::backing_byte(b, dev.offset), len = z - b;
  DataBuilder merged_into_upper_cache;
  const ReadResult r = read_device(lower, la, len, dev.dio != 0, merged_into_upper_cache,
                                   readahead_pages(s.descs[dev.backing_desc]), len);
  if (r.err) return r.also_err || r.min_count ? 1 : 2;
  return r.count < len || r.also_err || r.min_count ? 1 : 0;
}

// A read-modify-write's read fails whatever block it reads, refused by the device
// itself (no request reaches its backing): it is not bound, its blocks outgrew the
// cache's folios, soft blocks are below the logical size (a buffer-head read, probe
// c2: EIO), or 6.1 reads a write-only backing file through vfs_iter_read, which
// refuses it (in loop DIO mode lo_rw_aio calls ->read_iter, which does not check:
// gen-7101-0154 on 6.1.0-56, a 512-byte write needing a read → 512). A lower
// device's outgrown blocks are the lower read's business (outgrown_lower_rmw_read).
bool Machine::rmw_read_refused_by_device(const Device& dev) const {
  return dev.state != DevState::Bound || blocks_outgrow_cache(dev) ||
         soft_blocks_below_logical(dev) ||
         (p.backing_io_checks_file_mode && !dev.dio &&
          s.descs[dev.backing_desc].access == Access::Wo);
}

// The read-modify-write read of the `blk`-byte block at device byte `b`: 0 when it
// works; 1 when it fails unless the block is still cached clean (read earlier, or
// written back by fsync: readahead and writeback make that unknowable); 2 when it
// fails (nothing brought that block into the cache). 6.1 O_DIRECT backing at a
// misaligned offset: refused over written blocks.
int Machine::rmw_read_status(Device& dev, uint64_t b, uint64_t blk) {
  const uint64_t cap = arith::device_bytes(dev.capacity);
  const uint64_t backing_end_dev = arith::bytes_past_offset(backing_size(dev), dev.offset);
  const bool eof_is_eio = p.read_past_backing_eof_is_eio || dev.dio;
  const uint64_t z = std::min(b + blk, cap);
  const bool fails = rmw_read_refused_by_device(dev) || misaligned_read_refused(dev, b, z) ||
                     (eof_is_eio && eof_request_error(dev, b, z, backing_end_dev) != 0) ||
                     dio_lower_request_misaligned(dev, b, z);
  const Device* lower_dev = lower_device(dev);
  const bool lower_outgrown = lower_dev != nullptr && blocks_outgrow_cache(*lower_dev);
  const int lower = fails            ? 2
                    : lower_outgrown ? outgrown_lower_rmw_read(dev, b, z)
                                     : stacked_read_status(dev, b, z);
  if (lower == 0) return 0;
  // Blocks outgrew the cache and no read-in worked since it was dropped: only a
  // written page is up to date; any other read is refused (§11.9, probe p7).
  if (blocks_outgrow_cache(dev) && dev.refused_reads_only)
    return written_up_to_date(dev, b, b + blk) ? 0 : 2;
  return may_be_cached(dev, b, b + blk) ? 1 : lower;
}

// The read-modify-write read of an upper device's block at `b` failed in its lower
// device, whose blocks outgrew its folios: the lower readahead's run from that page
// was refused, and its folio stays, not up to date (6.18.44: a write through the
// upper device needing lower page 2, whose readahead run was cut at a capacity off
// an 8 KiB block boundary → EIO; then an 8 KiB read at 0 of the lower device
// returned 8192, its window stopping at that folio; gen-7701-1049).
void Machine::note_lower_refused_folio(Device& dev, uint64_t b, uint64_t blk) {
  Device* lower = lower_device(dev);
  if (lower == nullptr || lower->state != DevState::Bound || !blocks_outgrow_cache(*lower)) return;
  const uint64_t z = std::min(b + blk, arith::device_bytes(dev.capacity));
  if (rmw_read_refused_by_device(dev) || misaligned_read_refused(dev, b, z)) return;  // not sent
  const uint64_t page = arith::backing_byte(b, dev.offset) / kPageSize * kPageSize;
  if (page < arith::device_bytes(lower->capacity) && !may_be_cached(*lower, page, page + kPageSize))
    note_refused_folio(*lower, page);
}

// The lower device bytes an upper device's buffered writeback of its bytes
// [start, end) covers: the whole soft blocks holding them (block_write_full_folio
// submits whole buffer heads), the rest of each block being what the upper's cache
// holds. So the lower's cache needs no read of a block those cover: 6.18.44,
// 6.12.117 and 6.1.0-56, with the backing file cut to 0 under the lower device, a
// 1-byte-offset 4 KiB write through the upper device then BLKFLSBUF → 0 and the
// next such write → 4096 (fuzz_inproc seed 1,
// common/stacked_writeback_supplies_whole_blocks.trace).
SuppliedSpan Machine::writeback_blocks(const Device& dev, uint64_t start, uint64_t end,
                                       BackingWrite kind) const {
  if (kind != BackingWrite::Writeback || dev.dio) return {};
  const uint64_t blk = dev.soft_block_size ? dev.soft_block_size : dev.block_size;
  const uint64_t cap = arith::device_bytes(dev.capacity);
  const uint64_t block_end = std::min(cap, (end + blk - 1) / blk * blk);
  return {arith::backing_byte(start / blk * blk, dev.offset),
          arith::backing_byte(block_end, dev.offset)};
}

int Machine::write_device(Device& dev, uint64_t start, uint64_t end, uint64_t origin, uint32_t seed,
                          bool direct, uint64_t* done_end, uint64_t* min_end,
                          const Outcome* settled_by, SuppliedSpan supplied) {
  if (direct) return write_direct(dev, start, end, origin, seed);
  // A partial block must be read first (read-modify-write); that read can fail.
  // generic_perform_write / iomap_write_iter go folio by folio: a failing read in
  // the first folio fails the write, one in a later folio ends it short there.
  // The block holding the end is read even where it reaches past the capacity
  // (only blocks starting at or past i_size are new, iomap_to_bh); the bio is cut
  // at the capacity (guard_bio_eod).
  const uint64_t blk = dev.soft_block_size ? dev.soft_block_size : dev.block_size;
  const uint64_t folio = std::max<uint64_t>(kPageSize, blk);
  const uint64_t cap = arith::device_bytes(dev.capacity);
  const uint64_t head_blk = start / blk * blk, tail_blk = end / blk * blk;
  const bool partial_head = start % blk != 0 && !extents_cover(dev.dirty, head_blk, start) &&
                            !supplied.covers(head_blk, std::min(cap, head_blk + blk));
  const bool partial_tail = end % blk != 0 && !extents_cover(dev.dirty, end, tail_blk + blk) &&
                            !supplied.covers(tail_blk, std::min(cap, tail_blk + blk));
  uint64_t stop = end, written_end = end;  // where the count ends; where the data does
  bool maybe_eio = false, maybe_short = false, unsettled = false;
  if (partial_head || partial_tail) {
    // A write inside one block reads it once: the head's read is the tail's, and
    // an EIO settles it (6.18.44: a 1-byte write at 8256 with 8 KiB blocks → EIO,
    // nothing dirty, the next fsync → 0; gen-7706-1135).
    const bool one_read = partial_head && head_blk == tail_blk;
    int hs = partial_head ? rmw_read_status(dev, head_blk, blk) : 0;
    int ts = partial_tail && !one_read ? rmw_read_status(dev, tail_blk, blk) : 0;
    const bool same_folio = tail_blk / folio == start / folio;
    // The outcome allows what readahead may have done; the state follows the branch
    // a target took (`settled_by`: what it returned for this write, when nothing
    // but these reads could have failed it).
    maybe_eio = hs == 1 || (ts == 1 && same_folio);
    maybe_short = ts == 1 && !same_folio;  // the count may also end at the tail folio
    const bool failed_for_sure = hs == 2 || (ts == 2 && same_folio);
    if (ts == 2 && !same_folio) stop = tail_blk / folio * folio;
    if (settled_by) {
      const auto whole = static_cast<int64_t>(end - origin);
      settle_rmw_reads(*settled_by, &hs, &ts, same_folio, whole,
                       whole - static_cast<int64_t>(end - tail_blk / folio * folio));
    }
    if (hs == 2 || ts == 2) {
      note_refused_folio(dev, (hs == 2 ? head_blk : tail_blk) / folio * folio);
      note_lower_refused_folio(dev, hs == 2 ? head_blk : tail_blk, blk);
    }
    if (hs == 2 || (ts == 2 && same_folio)) return failed_for_sure ? EIO : kWriteSettledEio;
    if (ts == 2) written_end = tail_blk / folio * folio;
    unsettled = hs == 1 || ts == 1;
  }
  if (stop < end && !done_end) return EIO;
  if (done_end) *done_end = stop;
  // Whether the tail folio is still cached is readahead's doing: the write may also
  // end before it.
  if (min_end) *min_end = maybe_short ? tail_blk / folio * folio : 0;
  written_end = std::min(written_end, stop);
  extents_write(dev.dirty, start, written_end, origin, seed);
  note_written_folios(dev, start / folio * folio, (written_end + folio - 1) / folio * folio);
  if (unsettled) {
    dev.dirty.unknown = 1;  // a maybe-failed write's data
  } else {
    note_sure(dev, start, written_end);
    note_write_read_in(dev, start, written_end, partial_head ? head_blk : cap,
                       partial_tail && written_end == end ? tail_blk : cap, blk);
  }
  return maybe_eio ? kWriteMaybeEio : 0;
}

// The read-modify-write reads whose success readahead decides (status 1: the block
// may still be cached clean), settled by what the target returned when it ran the
// write first: the whole count means every such block was cached; EIO, that the one
// in the first folio was not; a count ending at the tail's folio, that the tail's
// was not (status 2). Anything else leaves them unsettled.
void Machine::settle_rmw_reads(const Outcome& observed_write, int* head, int* tail, bool same_folio,
                               int64_t whole_count, int64_t short_count) {
  if (*head != 1 && *tail != 1) return;
  const bool value = observed_write.kind == Outcome::Kind::Value;
  if (value && observed_write.value == whole_count) {
    if (*head == 1) *head = 0;
    if (*tail == 1) *tail = 0;
  } else if (value && !same_folio && observed_write.value == short_count && *tail == 1) {
    if (*head == 1) *head = 0;
    *tail = 2;
  } else if (observed_write.kind == Outcome::Kind::Error && observed_write.err == EIO) {
    // Which block failed is known only when one alone could have.
    const bool head_may = *head == 1, tail_may = *tail == 1 && same_folio;
    if (head_may && !tail_may) *head = 2;
    if (tail_may && !head_may) *tail = 2;
  }
}

// A device's flush whose outcome only its unknown write cache decides (Unbound or
// Rundown: a flush request is refused when the cache is on): what the target
// returned says which it was, for the steps after this one.
void Machine::settle_write_cache(Device& dev) const {
  if (observed == nullptr) return;
  if (observed->kind == Outcome::Kind::Error && observed->err == EIO) dev.write_cache = 1;
  if (observed->kind == Outcome::Kind::Value) dev.write_cache = 0;
}

// A write to device bytes [start, stop) succeeded, having read in the blocks of
// `blk` bytes at `head` and `tail` (the capacity: none). Those blocks are up to
// date whole: a read of them later is served from the cache even where the
// backing file can no longer be read (6.18.44 with loop DIO turned on after the
// write: a 511-byte read of the page → 511, finding 04d27e6e).
void Machine::note_write_read_in(Device& dev, uint64_t start, uint64_t stop, uint64_t head,
                                 uint64_t tail, uint64_t blk) {
  const uint64_t cap = arith::device_bytes(dev.capacity);
  note_sure(dev, std::min(head, start), tail < cap ? std::min(cap, tail + blk) : stop);
  if (head < cap) note_lower_cache(dev, head, std::min(cap, head + blk), LowerFill::ReadIn);
  if (tail < cap) note_lower_cache(dev, tail, std::min(cap, tail + blk), LowerFill::ReadIn);
  if (head < cap || tail < cap) note_readahead_past_eof(dev);
}

// An upper device's backing read of its bytes [a, z) went through its stacked
// lower loop device's page cache (the upper driver reads the lower device's file,
// buffered unless in loop DIO mode). A read-in (LowerFill::ReadIn: a write's, or a
// failing read's) leaves that range surely cached there, and readahead may have
// cached more: 6.12.117 and 6.18.44, after a 1-byte write through the upper device
// and LOOP_CLR_FD of the lower one (Rundown), an 8 KiB read of the lower device
// returned 8192 bytes from its cache (finding 7502cefb). The upper device's
// readahead (LowerFill::Readahead) may have cached its range: 6.12.117, after a
// 1-byte read of the upper device and LOOP_CLR_FD of the lower one, a 4 KiB write
// at 512 of the lower device found its second page cached
// (linux-6.12/lower_cache_filled_by_upper_readahead.trace).
void Machine::note_lower_cache(const Device& dev, uint64_t a, uint64_t z, LowerFill fill) {
  if (dev.dio || dev.backing_desc == kNoDesc || s.descs[dev.backing_desc].kind != DescKind::Loop)
    return;
  Device& lower = *device(s.descs[dev.backing_desc].device);
  if (lower.state != DevState::Bound) return;
  const uint64_t la = arith::backing_byte(a, dev.offset), lz = arith::backing_byte(z, dev.offset);
  const uint64_t grain = std::max<uint64_t>(kPageSize, lower.block_size);
  // No read-in brings the folio holding a partial last block (buffered_io_end).
  const uint64_t readable = buffered_io_end(lower);
  const uint64_t from = la / grain * grain;
  if (la >= arith::device_bytes(lower.capacity) || from >= readable) return;
  if (fill == LowerFill::Readahead) return note_cached(lower, from, std::min(readable, lz));
  note_cached(lower, from, readable);
  note_sure(lower, from, std::min(readable, (lz + grain - 1) / grain * grain));
}

// The bytes of a backing file or a stacked device changed by a path other than
// `writer`'s cache: devices that may cache them can no longer be predicted.
void Machine::backing_changed(DescKind kind, uint32_t which, const Device* writer) {
  for (int i = 0; i < s.device_count; ++i) {
    Device& d = s.devices[i];
    if (&d == writer || !has_backing(d.state)) continue;
    const Desc& b = s.descs[d.backing_desc];
    const bool uses =
        b.kind == kind && (kind == DescKind::File ? b.object == which : b.device == which);
    if (!uses) continue;
    mark_all_stale(d);
    backing_changed(DescKind::Loop, d.index, nullptr);  // devices stacked on d read through it
  }
}

void Machine::backing_file_write(uint32_t object, uint64_t a, uint64_t z, const Device* writer) {
  for (int i = 0; i < s.device_count; ++i) {
    Device& d = s.devices[i];
    if (&d == writer || !has_backing(d.state)) continue;
    const Desc& b = s.descs[d.backing_desc];
    if (b.kind != DescKind::File || b.object != object) continue;
    // Device positions, cut to what the cache may hold.
    const uint64_t da = std::max(d.cache_lo, a > d.offset ? a - d.offset : 0);
    const uint64_t dz = std::min(d.cache_hi, z > d.offset ? z - d.offset : 0);
    if (d.cache_populated && da < dz) {
      // Pages the trace read or wrote through keep their old bytes until the
      // cache is dropped (6.18.44, 6.1.192, 6.12.117:
      // pagecache_stale_after_backing_write.trace): record them. Pages only
      // readahead may have cached hold the old bytes or not: unpredictable.
      const uint64_t sa = std::max(da, d.sure_lo), sz = std::min(dz, d.sure_hi);
      if (sa < sz) {
        const ExtentList older = d.held;  // bytes already stale keep their older value
        snapshot_object(s.objects[object], sa + d.offset, sz + d.offset, d.offset, d.held);
        for (int k = 0; k < older.count; ++k) extents_write_run(d.held, older.e[k]);
        // Past the old EOF a page read in across an unaligned EOF holds its repeated
        // tail, not zeros (note_readahead_past_eof): unknown while cached (6.18.44 and
        // all 19 Debian kernels: a page read in over a file cut to 768 bytes, the file
        // grown to 4 KiB, a read of the page; fuzz smoke,
        // linux-6.18/cached_tail_past_unaligned_eof_outlives_growth.trace).
        const uint64_t old_eof = arith::bytes_past_offset(s.objects[object].size, d.offset);
        if (d.cached_past_eof == kPastEofUnknown && sz > std::max(sa, old_eof)) {
          extents_erase(d.held, std::max(sa, old_eof), sz);
          Machine::widen_stale(d, std::max(sa, old_eof), sz);
        }
        d.cache_stale = 1;
        if (d.held.unknown) mark_all_stale(d);
        Machine::widen_stale(d, da, std::min(dz, sa));
        Machine::widen_stale(d, std::max(da, sz), dz);
      } else {
        Machine::widen_stale(d, da, dz);
      }
    }
    backing_changed(DescKind::Loop, d.index, nullptr);  // devices stacked on d read through it
  }
}

// The port switches' checks before a device read or write (Profile::
// unbound_io_errno, read_only_write_errno, io_past_capacity_errno), in
// DragonOS's order: the state, then read-only, then the range. Linux: none.
int Machine::port_io_refusal(const Device& dev, uint64_t start, uint64_t len, bool write) const {
  if (len == 0) return 0;
  if (p.unbound_io_errno && dev.state != DevState::Bound) return p.unbound_io_errno;
  if (!p.io_past_capacity_errno) return 0;
  if (write && bdev_read_only(dev)) return p.read_only_write_errno;
  const uint64_t cap = arith::device_bytes(dev.capacity);
  return start > cap || len > cap - start ? p.io_past_capacity_errno : 0;
}

Outcome Machine::pread(const Op& op) {
  const int64_t off = op.offset.as_signed();
  if (off < 0) return Outcome::error(EINVAL);
  Desc* d = desc_by_fd(op.subject.lit);
  if (!d) return Outcome::error(EBADF);
  if (d->kind == DescKind::LoopControl) return Outcome::error(ESPIPE);  // nonseekable_open
  if (d->access == Access::Wo) return Outcome::error(EBADF);
  const uint64_t start = static_cast<uint64_t>(off);
  const uint64_t len = std::min(op.length, kMaxIoLength);
  // rw_verify_area() runs before the file's read method (a directory's says EISDIR).
  if (overflows(start, len)) return Outcome::error(EINVAL);
  if (d->kind == DescKind::Dir) return Outcome::error(EISDIR);
  const bool direct = (d->open_flags & kOpenDirect) != 0;
  DataBuilder out;
  if (d->kind == DescKind::File) {
    const Object& obj = s.objects[d->object];
    // An unaligned O_DIRECT read fails only where it meets allocated blocks (a
    // hole reads as zeros without a bio, ext4 on 6.18): the model does not track
    // the filesystem's allocation, so it answers with an envelope.
    const bool unaligned_direct =
        direct && len > 0 && start < obj.size && (start % env.dio_align || len % env.dio_align);
    const uint64_t count = start >= obj.size ? 0 : std::min(len, obj.size - start);
    // Dirty device pages over this range are not in the file: within a trace
    // only fsync, BLKFLSBUF, the last close and the other flush points write them
    // back (docs/semantics.md §11.1: the flusher writes back an inode only once
    // its pages are dirty_expire_centisecs old, 30 s, longer than any trace).
    const bool known = emit_object(obj, start, start + count, out);
    Outcome o = data_outcome(count, out, known, EnvelopeRule::BackingBytesUnknown);
    if (unaligned_direct) o.also_err = EINVAL;
    if (unaligned_direct) o.err_rule = EnvelopeRule::UnalignedOdirectFileRead;
    return o;
  }
  Device& dev = *device(d->device);
  const uint64_t cap = arith::device_bytes(dev.capacity);
  if (const int e = port_io_refusal(dev, start, len, false)) return Outcome::error(e);
  ReadResult r = read_device(dev, start, len, direct, out, readahead_pages(*d));
  if (!direct && start < cap && len > 0)
    note_read_end(*d, dev, start, std::min(len, cap - start), r, observed);
  if (r.err) return Outcome::error(r.err);
  if (!direct) settle_read(dev, start, r);
  Outcome o = data_outcome(r.count, out, r.known, r.data_rule);
  o.also_err = r.also_err;
  if (r.min_count > 0 && r.min_count < r.count) o.min_value = static_cast<int64_t>(r.min_count);
  if (o.also_err) o.err_rule = r.err_rule;
  if (o.min_value) o.count_rule = r.count_rule;
  return o;
}

// A buffered read whose count the model could not tell (an envelope): the folios
// holding the bytes the target that ran it first returned came in and are up to
// date, so later reads and writes of them need no request.
// - Blocks larger than the folios (BlocksLargerThanPage; 6.18.44: after
//   LOOP_SET_STATUS dropped the cache, a read of 8 KiB at 8192 with 8 KiB blocks
//   worked, and a read at 12288, off a block boundary, was served from the cache;
//   gen-7701-1425).
// - A read past an unaligned backing EOF that may end at the EOF folio (6.12.117,
//   6.18.44: 8192 of 8192 at 0 over a 768-byte file with 1 KiB blocks; once
//   LOOP_SET_CAPACITY left a partial last block, a 512-byte write at 0 took the
//   cached page, 512; fuzz smoke, common/cached_partial_block_write_after_eof_read).
void Machine::settle_read(Device& dev, uint64_t start, const ReadResult& r) {
  if (observed == nullptr || observed->kind != Outcome::Kind::Data || observed->value <= 0) return;
  const uint64_t count = std::min(static_cast<uint64_t>(observed->value), r.count);
  const uint64_t grain =
      blocks_outgrow_cache(dev) ? kPageSize : std::max<uint64_t>(kPageSize, dev.block_size);
  const uint64_t cap = arith::device_bytes(dev.capacity);
  note_sure(dev, start / grain * grain, std::min(cap, (start + count + grain - 1) / grain * grain));
}

// A write to a backing (or other) file through its own fd.
Outcome Machine::pwrite_file(Desc& d, uint64_t start, uint64_t len, bool direct, uint32_t seed) {
  // generic_write_checks() returns 0 for an empty write before any O_DIRECT
  // alignment check (ext4 on 6.18).
  if (len == 0) return Outcome::ok(0);
  // generic_write_check_limits(): before any O_DIRECT alignment check.
  if (start >= kBackingMaxFileBytes) return Outcome::error(EFBIG);
  const uint64_t n = std::min(len, kBackingMaxFileBytes - start);
  Object& obj = s.objects[d.object];
  if (direct && (start % env.dio_align || n % env.dio_align)) {
    // The mappings submitted before the refusal change the file under the
    // devices' caches: they keep the old bytes (backing_file_write first).
    if (start % env.dio_align == 0 && p.odirect_file_write_partial) {
      backing_file_write(d.object, start, start + n, nullptr);
      direct_write_before_einval(obj, start, start + n, seed);
    }
    // ext4_iomap_begin allocates (unwritten) the extent of a mapping before
    // iomap_dio_bio_iter checks its alignment, so even a write refused at its
    // first mapping leaves a block over a hole, in every release: 6.18.44,
    // `pwrite f 999 1` with O_DIRECT on a fresh file, then 4096 bytes allocated
    // (libFuzzer smoke, fuzz_inproc seed 1); 6.1.0-56 and 6.12.117 in QEMU
    // likewise (the stored finding b0071fc1d72666d5 this replaces). Which
    // blocks: not modelled (an envelope).
    obj.alloc_unknown = 1;
    return Outcome::error(EINVAL);
  }
  backing_file_write(d.object, start, start + n, nullptr);
  extents_write(obj.data, start, start + n, start, seed);
  allocate_blocks(obj, start, start + n);
  obj.size = std::max(obj.size, start + n);
  return Outcome::ok(static_cast<int64_t>(n));
}

// generic_write_sync() after an O_SYNC write of [start, end): the written folios go
// to the driver, then a flush. Either failing fails the write (its bytes stay in
// the cache or are lost): EIO. O_DSYNC is the same for a block device
// (iocb_is_dsync() either way, and blkdev_fsync ignores datasync). `maybe_eio`:
// the flush of an unbound device whose write cache the model does not know.
// blkdev_write_iter syncs an O_DIRECT write the same way: its flush goes down a
// stack, and a lower device's refused writeback fails it (6.18.44: an
// O_DIRECT|O_DSYNC write through an upper device whose lower device's blocks
// outgrew its folios → EIO; gen-7706-0211).
int Machine::sync_written(Desc& d, Device& dev, uint64_t start, uint64_t end,
                          bool dirty_unknown_before, bool* maybe_eio) {
  const uint64_t grain = std::max<uint64_t>(kPageSize, dev.block_size);
  const bool written =
      flush_dirty_range(dev, start / grain * grain, (end + grain - 1) / grain * grain);
  // Whether or not this write dirtied its pages, none are dirty now: the
  // writeback took them (or the write never made them). A later flush has
  // nothing of this write's to fail on (6.18.44: gen-7701-0234, an O_DSYNC write
  // with 16 KiB blocks → EIO, then a first open's rescan and fsync → 0).
  if (!dirty_unknown_before) dev.dirty.unknown = 0;
  if (wb_error_reported(d, dev) || !written) return EIO;
  if (dev.state != DevState::Bound && write_cache(dev) == 1) return EIO;
  *maybe_eio = dev.state != DevState::Bound && write_cache(dev) == kWriteCacheUnknown;
  // The flush after the writeback goes down a stack as fsync's does (6.18.44: an
  // O_DSYNC write through an upper device whose lower device is in Rundown → EIO,
  // its pages written into the lower cache, whose writeback fails; gen-7701-0671).
  return flush_down_the_stack(dev, maybe_eio);
}

// What settles an O_SYNC buffered write's read-modify-write reads. Its EIO can
// come from those reads or from the writeback after them; only when the written
// branch's writeback cannot fail does the target's EIO say that a read failed
// (6.18.44, 6.12.117: an O_SYNC 1-byte write at 4096 after the backing file was
// cut to 0 → EIO, nothing written, so a 512-byte write at 0, whose 4 KiB block
// must be read past the backing EOF, → EIO too; the written branch would have
// grown the file and let it succeed). A dry run of that branch decides.
// `other_eio_source`: an O_DIRECT write (no read-modify-write), or a large folio
// at the EOF that may fail the write too: nothing is settled.
const Outcome* Machine::sync_write_settler(Desc& d, Device& dev, uint64_t start, uint64_t end,
                                           uint32_t seed, bool other_eio_source) {
  if (observed == nullptr || other_eio_source) return nullptr;
  const State before = s;
  const bool dirty_unknown_before = dev.dirty.unknown;
  uint64_t done_end = end, min_end = 0;
  const int e = write_device(dev, start, end, start, seed, /*direct=*/false, &done_end, &min_end);
  bool sync_maybe_eio = false;
  const bool written_branch_syncs =
      e == kWriteMaybeEio && done_end == end &&
      sync_written(d, dev, start, end, dirty_unknown_before, &sync_maybe_eio) == 0 &&
      !sync_maybe_eio;
  s = before;
  return written_branch_syncs ? observed : nullptr;
}

Outcome Machine::pwrite(const Op& op) {
  const int64_t off = op.offset.as_signed();
  if (off < 0) return Outcome::error(EINVAL);
  Desc* d = desc_by_fd(op.subject.lit);
  if (!d) return Outcome::error(EBADF);
  if (d->kind == DescKind::LoopControl) return Outcome::error(ESPIPE);
  if (d->access == Access::Ro) return Outcome::error(EBADF);
  const uint64_t start = static_cast<uint64_t>(off);
  const uint64_t len = std::min(op.length, kMaxIoLength);
  if (overflows(start, len)) return Outcome::error(EINVAL);
  const bool direct = (d->open_flags & kOpenDirect) != 0;
  if (d->kind == DescKind::File) return pwrite_file(*d, start, len, direct, op.seed);
  assert(d->kind == DescKind::Loop);
  Device& dev = *device(d->device);
  if (const int e = port_io_refusal(dev, start, len, true)) return Outcome::error(e);
  if (bdev_read_only(dev)) return Outcome::error(p.read_only_write_errno);
  if (len == 0) return Outcome::ok(0);
  const uint64_t cap = arith::device_bytes(dev.capacity);
  if (start >= cap) return Outcome::error(ENOSPC);
  uint64_t end = start + std::min(len, cap - start);
  if (direct && (start % dev.block_size || (end - start) % dev.block_size)) {
    // blkdev_direct_write writes the range back (kiocb_invalidate_pages) before
    // blkdev_direct_IO checks the alignment, as reads do (DeviceRead::direct).
    if (dev.state == DevState::Bound)
      if (const int e = write_back_for_direct(dev, start, end)) return Outcome::error(e);
    return Outcome::error(EINVAL);
  }
  LargeFolioStop large;
  if (!direct)
    if (auto early = stop_write_at_partial_block(dev, start, &end, &large)) return *early;
  uint64_t min_end = 0;
  // An O_SYNC write can also fail in its writeback: then EIO does not say which
  // way the reads went (linux-6.12/stacked_read_after_lower_clr_fd_8db6765c).
  // O_DIRECT writes are synced too (sync_written).
  const bool sync = (d->open_flags & (kOpenSync | kOpenDsync)) != 0;
  const bool dirty_unknown_before = dev.dirty.unknown;
  const Outcome* settled_by =
      sync ? sync_write_settler(*d, dev, start, end, op.seed, direct || large.may_fail) : observed;
  const int e = write_device(dev, start, end, start, op.seed, direct, &end, &min_end, settled_by);
  if (e > 0) return Outcome::error(e);
  if (e == kWriteSettledEio) {  // the envelope's EIO branch: nothing changed
    Outcome o = Outcome::ok(static_cast<int64_t>(end - start));
    o.also_err = EIO;
    o.err_rule = EnvelopeRule::RmwBlockMaybeCached;
    return o;
  }
  backing_changed(DescKind::Loop, dev.index, nullptr);
  bool sync_maybe_eio = false;
  if (sync) {
    const int sync_err = sync_written(*d, dev, start, end, dirty_unknown_before, &sync_maybe_eio);
    if (sync_err) return Outcome::error(sync_err);
    if (sync_maybe_eio && e == 0) settle_write_cache(dev);  // the flush alone decides
  }
  Outcome o = Outcome::ok(static_cast<int64_t>(end - start));
  if (sync_maybe_eio) o.also_err = EIO;
  if (sync_maybe_eio) o.err_rule = EnvelopeRule::OsyncWriteUnbound;
  if (min_end > start && min_end < end) o.min_value = static_cast<int64_t>(min_end - start);
  if (o.min_value) o.count_rule = EnvelopeRule::RmwBlockMaybeCached;
  if (e == kWriteMaybeEio) o.also_err = EIO;
  if (e == kWriteMaybeEio) o.err_rule = EnvelopeRule::RmwBlockMaybeCached;
  if (large.may_fail && !o.also_err) o.also_err = EIO;
  if (large.may_fail && o.err_rule == EnvelopeRule::None)
    o.err_rule = EnvelopeRule::LargeFolioAtEof;
  if (large.may_end_at > start && large.may_end_at < end &&
      (!o.min_value || large.may_end_at - start < static_cast<uint64_t>(o.min_value))) {
    o.min_value = static_cast<int64_t>(large.may_end_at - start);
    o.count_rule = EnvelopeRule::LargeFolioAtEof;
  }
  return o;
}

// A buffered write ends short at the folio holding a partial last block, which
// cannot be read in (buffered_io_stop), and fails when it starts there. On 6.18
// (large_folios), once readahead ramped up, that folio may be a large one starting
// lower, down to the kMaxReadaheadFolio boundary: a write reaching the partial
// block may fail from there, or end short at the large folio's start (6.18.44:
// after an upper device's read made the lower's readahead go on asynchronously, an
// 8-byte write at 20474 of a 21504-byte device with 2 KiB blocks → EIO; 6.12.117 →
// 6; gen-7704-0378). What the target returned settles which.
std::optional<Outcome> Machine::stop_write_at_partial_block(const Device& dev, uint64_t start,
                                                            uint64_t* end, LargeFolioStop* large) {
  const uint64_t usable = buffered_io_stop(dev);
  if (usable >= arith::device_bytes(dev.capacity)) return std::nullopt;
  if (start >= usable) return Outcome::error(EIO);
  const bool reaches = *end > usable;
  *end = std::min(*end, usable);
  const std::optional<uint64_t> floor = large_folio_floor(p, dev, usable);
  if (!floor || !reaches) return std::nullopt;
  const uint64_t big_start = *floor;
  if (start >= big_start) large->may_fail = true;
  if (start < big_start) large->may_end_at = big_start;
  if (observed == nullptr) return std::nullopt;
  if (large->may_fail && observed->kind == Outcome::Kind::Error && observed->err == EIO) {
    Outcome o = Outcome::ok(static_cast<int64_t>(*end - start));  // nothing written
    o.also_err = EIO;
    o.err_rule = EnvelopeRule::LargeFolioAtEof;
    return o;
  }
  const bool value =
      observed->kind == Outcome::Kind::Value || observed->kind == Outcome::Kind::Data;
  if (!value || observed->value <= 0) return std::nullopt;
  const uint64_t observed_end = start + static_cast<uint64_t>(observed->value);
  if (observed_end >= big_start && observed_end < *end) *end = observed_end;
  return std::nullopt;
}

// The flush request reaches the driver, whose vfs_fsync of a lower loop device is
// that device's fsync: its dirty pages and its own flush, down the stack (6.12.117
// in QEMU: EIO when the lower device is in Rundown). EIO or 0; `maybe_eio`: a
// lower device's write cache the model does not know.
int Machine::flush_down_the_stack(Device& dev, bool* maybe_eio) {
  for (Device* upper = &dev; upper->state == DevState::Bound && write_cache(*upper) == 1;) {
    Desc& b = s.descs[upper->backing_desc];
    if (b.kind != DescKind::Loop) break;
    Device& lower = *device(b.device);
    const bool lower_written = flush_dirty(lower);  // vfs_fsync of the lower file
    if (wb_error_reported(b, lower) || !lower_written) return EIO;
    if (lower.state != DevState::Bound && write_cache(lower) == 1) return EIO;
    if (lower.state != DevState::Bound && write_cache(lower) == kWriteCacheUnknown)
      *maybe_eio = true;
    upper = &lower;
  }
  return 0;
}

Outcome Machine::fsync(const Op& op) {
  Desc* d = desc_by_fd(op.subject.lit);
  if (!d) return Outcome::error(EBADF);
  if (d->kind == DescKind::LoopControl) return Outcome::error(EINVAL);  // no ->fsync
  if (d->kind != DescKind::Loop) return Outcome::ok(0);
  Device& dev = *device(d->device);
  if (p.unbound_io_errno && dev.state != DevState::Bound) return Outcome::error(p.unbound_io_errno);
  const bool written = flush_dirty(dev);
  if (wb_error_reported(*d, dev) || !written) return Outcome::error(EIO);
  if (dev.state != DevState::Bound && write_cache(dev) == kWriteCacheUnknown) {
    Outcome o = Outcome::ok(0);  // never bound, or bound before the trace began
    o.also_err = EIO;
    o.err_rule = EnvelopeRule::FsyncWriteCacheUnknown;
    settle_write_cache(dev);
    return o;
  }
  if (dev.state != DevState::Bound && write_cache(dev))
    return Outcome::error(EIO);  // flush request refused
  bool maybe_eio = false;
  if (flush_down_the_stack(dev, &maybe_eio)) return Outcome::error(EIO);
  Outcome o = Outcome::ok(0);
  if (maybe_eio) o.also_err = EIO;
  if (maybe_eio) o.err_rule = EnvelopeRule::FsyncLowerWriteCacheUnknown;
  return o;
}

Outcome Machine::truncate(const Op& op) {
  if (op.object >= s.object_count) return Outcome::error(ENOENT);
  Object& obj = s.objects[op.object];
  if (obj.kind == ObjKind::Dir) return Outcome::error(EISDIR);
  const int64_t size = op.offset.as_signed();
  if (size < 0) return Outcome::error(EINVAL);
  const uint64_t n = static_cast<uint64_t>(size);
  if (n > kBackingMaxFileBytes) return Outcome::error(EFBIG);  // inode_newsize_ok()
  // A cut inside a filesystem block keeps that block allocated when it held
  // data: an O_DIRECT read over the new EOF then meets a written block, not a
  // hole (6.18.44: EIO after a writeback then a cut to 768 bytes).
  const uint64_t block = n / kPageSize * kPageSize;
  if (obj.kept_block && n <= (obj.kept_block - 1) * kPageSize) obj.kept_block = 0;
  if (n % kPageSize != 0 && n < obj.size) {
    ExtentList in_block = obj.data;
    extents_cut_from(in_block, std::min(obj.size, block + kPageSize));
    extents_erase(in_block, 0, block);
    if (in_block.count > 0 || in_block.unknown || (obj.fill != 0 && obj.fill_end > block))
      obj.kept_block = block / kPageSize + 1;
  }
  // Only the bytes between the old and the new EOF change: cached pages over
  // them keep the old bytes (backing_file_write snapshots them first).
  if (n != obj.size)
    backing_file_write(op.object, std::min(n, obj.size), std::max(n, obj.size), nullptr);
  obj.size = n;
  extents_cut_from(obj.data, n);
  obj.fill_end = std::min(obj.fill_end, n);
  free_blocks_past(obj, n);
  return Outcome::ok(0);
}

// `allocated file NAME`: the blocks the model knows hold data (model/allocation.h).
Outcome Machine::allocated(const Op& op) {
  if (op.object >= s.object_count) return Outcome::error(ENOENT);
  const Object& obj = s.objects[op.object];
  if (obj.kind == ObjKind::Dir) return Outcome::error(EISDIR);
  return allocated_outcome(obj);
}

}  // namespace loopcheck::model
