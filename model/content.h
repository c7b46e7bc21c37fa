// Byte content without bytes: extent lists (what pwrite patterns landed where) and
// a builder that turns a composed read into a DataDesc of at most kMaxDataSegments
// runs. Allocation-free.
#pragma once

#include <cstdint>

#include "model/state.h"
#include "trace/trace.h"

namespace loopcheck::model {

// Record that [start, end) now holds pattern `seed` with pattern index p - origin.
// Overlapped parts of older extents are cut away. Sets `unknown` when the result
// would need more than kMaxExtents extents.
void extents_write(ExtentList& list, uint64_t start, uint64_t end, uint64_t origin, uint32_t seed);

// The same for a run of `fill` bytes (kept with Extent::reserved = 1 + fill), and
// for any run as given.
void extents_write_fill(ExtentList& list, uint64_t start, uint64_t end, uint8_t fill);
void extents_write_run(ExtentList& list, const Extent& x);
// Bytes [start, end) of an object the model does not know (an Extent marked kUnknownRun).
void extents_write_unknown(ExtentList& list, uint64_t start, uint64_t end);

// Forget everything at or past `size` (truncate) / inside [start, end) (overwrite
// by a path the list does not describe).
void extents_cut_from(ExtentList& list, uint64_t size);
void extents_erase(ExtentList& list, uint64_t start, uint64_t end);

// True when some extent has a byte in [start, end).
bool extents_overlap(const ExtentList& list, uint64_t start, uint64_t end);
// True when [start, end) is entirely covered by extents.
bool extents_cover(const ExtentList& list, uint64_t start, uint64_t end);
// Every byte of [start, end) lies in a run of `a` or of `b`.
bool extents_cover_either(const ExtentList& a, const ExtentList& b, uint64_t start, uint64_t end);

// Accumulates runs for a read, merging a run into the previous one when it
// continues it. `overflow` once more than kMaxDataSegments runs would be needed.
struct DataBuilder {
  DataDesc desc{};
  bool overflow = false;
  void add_zero(uint64_t len);
  void add_fill(uint8_t fill, uint64_t len);
  void add_pattern(uint32_t seed, uint64_t index, uint64_t len);
  // Bytes [skip, skip + len) of what `from` built (a part of a larger request).
  void add_range(const DataBuilder& from, uint64_t skip, uint64_t len);

 private:
  void push(const DataSegment& s);
};

// Emit x's bytes at positions [from, to) (a pattern or fill run).
void emit_extent(const Extent& x, uint64_t from, uint64_t to, DataBuilder& out);

// Record in `into` the bytes `obj` holds at [start, end), at positions moved down
// by `shift` (a device's offset into its backing file): zero past the object's end.
void snapshot_object(const Object& obj, uint64_t start, uint64_t end, uint64_t shift,
                     ExtentList& into);

// Emit the bytes of `obj` in [start, end) (positions past the object's size read as
// zero, as the 6.1 zero-fill does; callers clip when the kernel would not).
// Returns false when the object's content is unknown.
bool emit_object(const Object& obj, uint64_t start, uint64_t end, DataBuilder& out);

}  // namespace loopcheck::model
