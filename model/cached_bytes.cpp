// The bytes clean folios of a device's page cache hold, computed without a
// request. A folio surely up to date needs no bio: filemap_read copies it out
// whatever the device below would now do with a request (6.18.44: an upper
// device in loop DIO mode kept serving its cached page after its lower device's
// LOOP_SET_BLOCK_SIZE 8192 made every page-sized request to it fail;
// linux-6.18/cached_upper_page_outlives_lower_block_size.trace). Nothing the
// model lets change under a surely cached folio goes unrecorded: backing_changed
// keeps the old bytes in `held` or marks them stale, so the backing's bytes now
// are the cached ones wherever neither applies.
#include <algorithm>

#include "model/machine.h"

namespace loopcheck::model {
namespace {

const Extent* extent_at(const ExtentList& list, uint64_t pos) {
  for (int i = 0; i < list.count; ++i)
    if (list.e[i].start <= pos && pos < list.e[i].end) return &list.e[i];
  return nullptr;
}

// Where the first run of `list` starting past `pos` starts; `limit` when none does first.
uint64_t next_extent_start(const ExtentList& list, uint64_t pos, uint64_t limit) {
  uint64_t next = limit;
  for (int i = 0; i < list.count; ++i)
    if (list.e[i].start > pos) next = std::min(next, list.e[i].start);
  return next;
}

}  // namespace

bool Machine::pages_surely_cached(const Device& dev, uint64_t a, uint64_t z) {
  const uint64_t cap = arith::device_bytes(dev.capacity);
  return surely_cached(dev, a / kPageSize * kPageSize,
                       std::min(cap, (z + kPageSize - 1) / kPageSize * kPageSize));
}

ReadResult Machine::read_cached(const Device& dev, uint64_t a, uint64_t z, DataBuilder& out) const {
  ReadResult r;
  r.count = z - a;
  r.known = emit_cached_backing(dev, a, z, out);
  if (!r.known) r.data_rule = EnvelopeRule::BackingBytesUnknown;
  return r;
}

bool Machine::emit_cached_backing(const Device& dev, uint64_t a, uint64_t z,
                                  DataBuilder& out) const {
  assert(a <= z && dev.backing_desc != kNoDesc);
  const Desc& b = s.descs[dev.backing_desc];
  const uint64_t pos = arith::backing_byte(a, dev.offset), len = z - a;
  if (b.kind == DescKind::File) {
    const Object& obj = s.objects[b.object];
    const uint64_t in_file = pos >= obj.size ? 0 : std::min(len, obj.size - pos);
    const bool known = emit_object(obj, pos, pos + in_file, out);
    out.add_zero(len - in_file);  // a folio past the EOF was cached zero-filled...
    // ... unless a request over an unaligned EOF filled it with the file's repeated
    // tail (note_readahead_past_eof). An upper device's read-in of such a lower
    // folio keeps it (6.18.44, 6.12.117: a 4 KiB read of an upper device served
    // from its cache, filled over a lower file cut to 1 byte, repeated that byte;
    // gen-7706-0117).
    return known && (in_file == len || dev.cached_past_eof != kPastEofUnknown);
  }
  for (int i = 0; i < s.device_count; ++i)
    if (s.devices[i].index == b.device) return emit_device_bytes(s.devices[i], pos, pos + len, out);
  return false;
}

// Device bytes [a, z) as its cache would serve them: dirty over held over the
// backing's bytes. False where the model does not know them.
bool Machine::emit_device_bytes(const Device& dev, uint64_t a, uint64_t z, DataBuilder& out) const {
  if (dev.state == DevState::Unbound || dev.backing_desc == kNoDesc || dev.dirty.unknown ||
      dev.held.unknown || stale_bytes_unpinned(dev, a, z) || z > arith::device_bytes(dev.capacity))
    return false;
  bool known = true;
  uint64_t pos = a;
  while (pos < z) {
    // A dirty run wins over a held one, which may go on under it.
    const Extent* cover = extent_at(dev.dirty, pos);
    const uint64_t next_dirty = next_extent_start(dev.dirty, pos, z);
    if (cover == nullptr) cover = extent_at(dev.held, pos);
    if (cover) {
      const uint64_t to = std::min({z, cover->end, next_dirty});
      emit_extent(*cover, pos, to, out);
      pos = to;
      continue;
    }
    const uint64_t next = std::min(next_dirty, next_extent_start(dev.held, pos, z));
    known = emit_cached_backing(dev, pos, next, out) && known;
    pos = next;
  }
  return known && !out.overflow;
}

// LOOP_SET_CAPACITY keeps the cache. A folio cached across the old end was
// zero-filled past it (block_read_full_folio zeroes buffers past i_size), and once
// the device grows it serves those zeros, not the backing's bytes (6.1.0-56,
// 6.12.117, 6.18.44: common/cached_folio_past_old_end_serves_zeros.trace). A folio
// read in while the device was larger keeps what it read there (hold_past_new_end).
void Machine::resize_keeping_cache(Device& dev, uint64_t new_capacity_sectors) {
  const uint64_t old_end = arith::device_bytes(dev.capacity);
  dev.capacity = new_capacity_sectors;
  // The cache's folio: a page once the logical blocks outgrew it (§11.9).
  const uint64_t grain =
      blocks_outgrow_cache(dev) ? kPageSize : std::max<uint64_t>(kPageSize, dev.block_size);
  if (arith::device_bytes(dev.capacity) < old_end) return hold_past_new_end(dev, old_end, grain);
  const uint64_t folio = old_end / grain * grain;
  const uint64_t zeros_end = std::min(arith::device_bytes(dev.capacity), folio + grain);
  if (old_end % grain == 0 || zeros_end <= old_end || !may_be_cached(dev, folio, folio + grain))
    return;
  // That folio is cached whole, its zeros past the old end included: the cache's
  // hull reaches its end now (6.18.44, 6.12.117: a read at 7820 after the capacity
  // grew from 7680 and the file was cut to 0 returned the folio's 372 zeros, then
  // ended; gen-7705-1661).
  if (dev.cache_hi < zeros_end) note_cached(dev, folio, zeros_end);
  // Only a read fills a folio's buffers past the end: a write smaller than the
  // folio reads in just the blocks it touches, and its other buffers are read from
  // the backing once the device grows (6.18.44, 6.12.117: a 1-byte write to a
  // 512-byte device with 512-byte buffer heads, the file and the device grown to
  // 4 KiB, a read of [512, 4096) returned the file's bytes; fuzz_inproc seed 1,
  // common/written_folio_past_old_end_reads_the_backing.trace). The model does not
  // record which of the two filled the folio: with smaller buffers, unknown.
  const uint64_t buffer = dev.soft_block_size ? dev.soft_block_size : dev.block_size;
  if (surely_cached(dev, folio, old_end) && !dev.held.unknown && buffer >= grain) {
    Extent zeros;
    zeros.start = old_end;
    zeros.end = zeros_end;
    zeros.reserved = 1;                 // a fill run of byte 0
    const ExtentList older = dev.held;  // bytes the folio held before keep their value
    extents_write_run(dev.held, zeros);
    for (int k = 0; k < older.count; ++k) extents_write_run(dev.held, older.e[k]);
    dev.cache_stale = 1;
    if (dev.held.unknown) mark_all_stale(dev);
    return;
  }
  dev.cache_stale = 1;
  widen_stale(dev, old_end, zeros_end);
}

// The capacity shrank: the folio holding the new end keeps the bytes it holds past
// it (the bdev's page cache is not truncated), and serves them when the device
// grows again (6.1.0-56: a page read in at 16 KiB, the device cut to 5 KiB and
// grown to 8 KiB over a file cut and regrown with zeros, read 0x2c at 8191;
// gen-7708-0224, common/cached_folio_keeps_bytes_past_shrunk_end.trace).
void Machine::hold_past_new_end(Device& dev, uint64_t old_end, uint64_t grain) {
  const uint64_t new_end = arith::device_bytes(dev.capacity);
  const uint64_t folio = new_end / grain * grain;
  const uint64_t tail_end = std::min(old_end, folio + grain);
  if (new_end % grain == 0 || !may_be_cached(dev, folio, tail_end)) return;
  const Desc& b = s.descs[dev.backing_desc];
  // The folio's bytes are the backing's now: held, not stale, until it changes.
  if (b.kind != DescKind::File || dev.held.unknown || !surely_cached(dev, folio, tail_end) ||
      stale_bytes_unpinned(dev, new_end, tail_end))
    return widen_stale(dev, new_end, tail_end);
  const ExtentList older = dev.held;  // bytes already stale keep their older value
  snapshot_object(s.objects[b.object], new_end + dev.offset, tail_end + dev.offset, dev.offset,
                  dev.held);
  for (int k = 0; k < older.count; ++k) extents_write_run(dev.held, older.e[k]);
  if (dev.held.unknown) mark_all_stale(dev);
}

}  // namespace loopcheck::model
