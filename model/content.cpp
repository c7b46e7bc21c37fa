#include "model/content.h"

#include <algorithm>
#include <cassert>

namespace loopcheck::model {

namespace {

// Insert at position `at`, shifting the tail. Returns false if the list is full.
bool insert_at(ExtentList& list, int at, const Extent& x) {
  if (list.count >= kMaxExtents) return false;
  for (int i = list.count; i > at; --i) list.e[i] = list.e[i - 1];
  list.e[at] = x;
  ++list.count;
  return true;
}

void remove_at(ExtentList& list, int at) {
  for (int i = at; i + 1 < list.count; ++i) list.e[i] = list.e[i + 1];
  --list.count;
  list.e[list.count] = Extent{};
}

bool continues(const Extent& a, const Extent& b) {
  return a.end == b.start && a.seed == b.seed && a.origin == b.origin && a.reserved == b.reserved;
}

}  // namespace

void extents_erase(ExtentList& list, uint64_t start, uint64_t end) {
  if (start >= end) return;
  for (int i = 0; i < list.count;) {
    Extent& x = list.e[i];
    if (x.end <= start || x.start >= end) {
      ++i;
      continue;
    }
    if (x.start < start && x.end > end) {  // split in two
      Extent tail = x;
      tail.start = end;
      x.end = start;
      if (!insert_at(list, i + 1, tail)) list.unknown = 1;
      return;
    }
    if (x.start < start) {
      x.end = start;
      ++i;
    } else if (x.end > end) {
      x.start = end;
      ++i;
    } else {
      remove_at(list, i);
    }
  }
}

void extents_write(ExtentList& list, uint64_t start, uint64_t end, uint64_t origin, uint32_t seed) {
  extents_write_run(list, Extent{start, end, origin, seed, 0});
}

void extents_write_fill(ExtentList& list, uint64_t start, uint64_t end, uint8_t fill) {
  extents_write_run(list, Extent{start, end, 0, 0, 1u + fill});
}

void extents_write_unknown(ExtentList& list, uint64_t start, uint64_t end) {
  extents_write_run(list, Extent{start, end, 0, 0, kUnknownRun});
}

void extents_write_run(ExtentList& list, const Extent& x) {
  const uint64_t start = x.start, end = x.end;
  if (start >= end) return;
  extents_erase(list, start, end);
  int at = 0;
  while (at < list.count && list.e[at].start < start) ++at;
  // Merge with neighbours that the same write pattern continues.
  if (at > 0 && continues(list.e[at - 1], x)) {
    list.e[at - 1].end = end;
    if (at < list.count && continues(list.e[at - 1], list.e[at])) {
      list.e[at - 1].end = list.e[at].end;
      remove_at(list, at);
    }
    return;
  }
  if (at < list.count && continues(x, list.e[at])) {
    list.e[at].start = start;
    return;
  }
  if (!insert_at(list, at, x)) list.unknown = 1;
}

bool extents_overlap(const ExtentList& list, uint64_t start, uint64_t end) {
  for (int i = 0; i < list.count; ++i)
    if (list.e[i].start < end && list.e[i].end > start) return true;
  return false;
}

void extents_cut_from(ExtentList& list, uint64_t size) {
  extents_erase(list, size, ~uint64_t{0});
}

bool extents_cover(const ExtentList& list, uint64_t start, uint64_t end) {
  uint64_t pos = start;
  for (int i = 0; i < list.count && pos < end; ++i) {
    const Extent& x = list.e[i];
    if (x.end <= pos) continue;
    if (x.start > pos) return false;
    pos = x.end;
  }
  return pos >= end;
}

bool extents_cover_either(const ExtentList& a, const ExtentList& b, uint64_t start, uint64_t end) {
  uint64_t pos = start;
  while (pos < end) {
    uint64_t next = pos;
    for (const ExtentList* list : {&a, &b})
      for (int i = 0; i < list->count; ++i)
        if (list->e[i].start <= pos && pos < list->e[i].end) next = std::max(next, list->e[i].end);
    if (next == pos) return false;
    pos = next;
  }
  return true;
}

void DataBuilder::add_range(const DataBuilder& from, uint64_t skip, uint64_t len) {
  if (from.overflow) overflow = true;
  for (uint8_t i = 0; i < from.desc.count && len > 0; ++i) {
    DataSegment s = from.desc.seg[i];
    if (skip >= s.length) {
      skip -= s.length;
      continue;
    }
    assert(s.kind != DataSegment::Kind::Bytes);  // the model builds no digests
    if (s.kind == DataSegment::Kind::Pattern) s.index += skip;
    s.length = std::min(s.length - skip, len);
    skip = 0;
    len -= s.length;
    push(s);
  }
}

void DataBuilder::push(const DataSegment& s) {
  if (s.length == 0) return;
  if (desc.count > 0) {
    DataSegment& last = desc.seg[desc.count - 1];
    bool same_run =
        last.kind == s.kind && (s.kind == DataSegment::Kind::Zero ||
                                (s.kind == DataSegment::Kind::Fill && last.fill == s.fill) ||
                                (s.kind == DataSegment::Kind::Pattern && last.seed == s.seed &&
                                 last.index + last.length == s.index));
    if (same_run) {
      last.length += s.length;
      return;
    }
  }
  if (desc.count >= kMaxDataSegments) {
    overflow = true;
    return;
  }
  desc.seg[desc.count++] = s;
}

void DataBuilder::add_zero(uint64_t len) {
  push(DataSegment{DataSegment::Kind::Zero, 0, 0, 0, len});
}

void DataBuilder::add_fill(uint8_t fill, uint64_t len) {
  if (fill == 0) return add_zero(len);
  push(DataSegment{DataSegment::Kind::Fill, fill, 0, 0, len});
}

void DataBuilder::add_pattern(uint32_t seed, uint64_t index, uint64_t len) {
  push(DataSegment{DataSegment::Kind::Pattern, 0, seed, index, len});
}

namespace {
void emit_background(const Object& obj, uint64_t start, uint64_t end, DataBuilder& out) {
  if (start >= end) return;
  uint64_t fill_stop = std::clamp(obj.fill_end, start, end);
  out.add_fill(obj.fill, fill_stop - start);
  out.add_zero(end - fill_stop);
}
}  // namespace

void emit_extent(const Extent& x, uint64_t from, uint64_t to, DataBuilder& out) {
  if (x.reserved) return out.add_fill(static_cast<uint8_t>(x.reserved - 1), to - from);
  out.add_pattern(x.seed, from - x.origin, to - from);
}

void snapshot_object(const Object& obj, uint64_t start, uint64_t end, uint64_t shift,
                     ExtentList& into) {
  auto background = [&](uint64_t a, uint64_t z) {
    const uint64_t fill_stop = std::clamp(obj.fill_end, a, z);
    extents_write_fill(into, a - shift, fill_stop - shift, obj.fill);
    extents_write_fill(into, fill_stop - shift, z - shift, 0);
  };
  uint64_t pos = start;
  for (int i = 0; i < obj.data.count && pos < end; ++i) {
    const Extent& x = obj.data.e[i];
    if (x.end <= pos) continue;
    if (x.start >= end) break;
    background(pos, std::max(pos, x.start));
    const uint64_t from = std::max(pos, x.start), to = std::min(end, x.end);
    if (unknown_bytes(x)) into.unknown = 1;  // a held list names no such run
    Extent moved = x;                        // a pattern run, or a fill run (BLKDISCARD's zeros)
    moved.start = from - shift;
    moved.end = to - shift;
    moved.origin = x.origin - shift;
    if (unknown_bytes(x)) moved.reserved = 0;
    extents_write_run(into, moved);
    pos = to;
  }
  background(pos, end);
  if (obj.data.unknown) into.unknown = 1;
}

bool emit_object(const Object& obj, uint64_t start, uint64_t end, DataBuilder& out) {
  if (obj.data.unknown) return false;
  bool known = true;
  uint64_t pos = start;
  for (int i = 0; i < obj.data.count && pos < end; ++i) {
    const Extent& x = obj.data.e[i];
    if (x.end <= pos) continue;
    if (x.start >= end) break;
    emit_background(obj, pos, x.start > pos ? x.start : pos, out);
    uint64_t from = std::max(pos, x.start);
    uint64_t to = std::min(end, x.end);
    if (unknown_bytes(x)) known = false;
    if (unknown_bytes(x))
      out.add_zero(to - from);  // a placeholder, not a claim
    else
      emit_extent(x, from, to, out);
    pos = to;
  }
  emit_background(obj, pos, end, out);
  return known && !out.overflow;
}

}  // namespace loopcheck::model
