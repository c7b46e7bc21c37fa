// A BFS level's states, compressed, in memory up to a budget and on disk beyond it.
//
//   FrontierSpace space(budget_bytes, "");        // spill directory under $TMPDIR
//   FrontierWriter w(space, layout_words);
//   w.push(layout); ...                             // StateCodec::pack layouts, in order
//   Frontier level = w.finish();
//   FrontierReader r(level, layout_words);
//   r.seek(i); const uint64_t* layout = r.next();  // records i, i+1, ...
//
// Records are stored in blocks of up to kFrontierBlockBytes. Inside a block each
// state's layout is written as its XOR with the previous one: a BFS level comes out
// in (parent, operation) order, so neighbours mostly share a parent and differ in a
// few words. Each changed word costs a varint gap, a mask of its non-zero bytes and
// those bytes; a block's first record is XORed with zeros, so every block decodes on
// its own (a worker's slice may start anywhere: it decodes from its block's start).
// A ~1.4 KB layout (2 devices, 2 files, 4 fds) becomes ~15-30 bytes.
//
// A sealed block in memory holds (and takes from the budget) its exact size.
// Once the sealed blocks in memory would exceed the budget, further blocks are
// written to unlinked files in a directory made under $TMPDIR (TLC spills its queue
// the same way); the directory is removed when the FrontierSpace goes. A failed
// write (a full disk) throws FrontierError naming the directory and what to do.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace loopcheck::model {

inline constexpr size_t kFrontierBlockBytes = 256 * 1024;

class FrontierError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One spill file: unlinked as soon as it is made, so it goes with its last block.
struct SpillFile {
  int fd = -1;
  uint64_t size_bytes = 0;
  ~SpillFile();
};

// The memory budget shared by every frontier of a search, and the spill directory.
class FrontierSpace {
 public:
  // `dir_parent`: where the spill directory goes; empty: $TMPDIR, else /tmp.
  FrontierSpace(uint64_t memory_budget_bytes, std::string dir_parent);
  ~FrontierSpace();
  FrontierSpace(const FrontierSpace&) = delete;
  FrontierSpace& operator=(const FrontierSpace&) = delete;

  // Takes `bytes` from the budget; false (nothing taken) when it is not there.
  bool take(uint64_t bytes);
  void give_back(uint64_t bytes);
  // A new spill file (the directory is made on first use). Throws FrontierError.
  std::shared_ptr<SpillFile> new_file();
  // Appends a block; returns its offset. Throws FrontierError when the disk is full.
  uint64_t write(SpillFile& f, const uint8_t* data, size_t bytes);

  uint64_t memory_bytes() const { return in_memory_.load(std::memory_order_relaxed); }
  uint64_t peak_memory_bytes() const { return peak_.load(std::memory_order_relaxed); }
  uint64_t spilled_bytes() const { return spilled_.load(std::memory_order_relaxed); }
  const std::string& dir() const { return dir_; }

 private:
  uint64_t budget_;
  std::string dir_parent_;
  std::string dir_;  // empty until the first spill
  std::mutex mu_;
  std::atomic<uint64_t> in_memory_{0}, peak_{0}, spilled_{0};
};

struct FrontierBlock {
  uint64_t first = 0;  // index of its first record in the frontier
  uint32_t records = 0;
  uint32_t bytes = 0;
  std::vector<uint8_t> data;        // in memory, or empty when spilled
  std::shared_ptr<SpillFile> file;  // spilled: where
  uint64_t offset = 0;
};

class Frontier {
 public:
  Frontier() = default;
  explicit Frontier(FrontierSpace* space) : space_(space) {}
  ~Frontier() { clear(); }
  Frontier(Frontier&& o) noexcept { *this = std::move(o); }
  Frontier& operator=(Frontier&& o) noexcept;

  uint64_t size() const { return size_; }
  // Moves `tail`'s records behind this frontier's.
  void append(Frontier&& tail);
  // Drops every record, giving their memory back to the budget.
  void clear();
  // Encoded bytes (in memory and on disk).
  uint64_t bytes() const;

 private:
  friend class FrontierWriter;
  friend class FrontierReader;
  FrontierSpace* space_ = nullptr;
  std::vector<FrontierBlock> blocks_;
  uint64_t size_ = 0;
};

class FrontierWriter {
 public:
  FrontierWriter(FrontierSpace& space, size_t layout_words);
  // Appends one state's layout (layout_words words).
  void push(const uint64_t* layout);
  // The frontier written so far; the writer starts over, empty.
  Frontier finish();
  uint64_t size() const { return frontier_.size() + open_.records; }

 private:
  void seal();

  FrontierSpace& space_;
  size_t words_;
  size_t max_record_bytes_;
  Frontier frontier_;
  FrontierBlock open_;  // its records are in buffer_ until sealed
  // The open block, kFrontierBlockBytes, allocated once per writer and left
  // uninitialized: a sealed block is copied out at its exact size, so a writer
  // used for many small shares (one per chunk of a level) holds one buffer and
  // the shares only what they use.
  std::unique_ptr<uint8_t[]> buffer_;
  std::vector<uint64_t> prev_;
  std::shared_ptr<SpillFile> file_;
};

class FrontierReader {
 public:
  FrontierReader(const Frontier& f, size_t layout_words);
  // The next next() yields record `index`. Seeking forward inside the loaded
  // block decodes on from where the reader is instead of from the block's start.
  void seek(uint64_t index);
  // The next record's layout (valid until the next call).
  const uint64_t* next();

 private:
  void load(size_t block);

  const Frontier& f_;
  size_t words_;
  size_t block_ = 0;
  uint64_t index_ = 0;  // the record the next next() yields
  const uint8_t* at_ = nullptr;
  uint32_t left_ = 0;            // records left in the loaded block
  std::vector<uint8_t> buffer_;  // a spilled block read back
  std::vector<uint64_t> layout_;
};

// The delta codec itself (exposed for tests): writes `cur` XOR `prev` to `out`
// (at least delta_max_bytes(words)); returns the end. decode_delta XORs the
// delta into `layout` and returns the end of what it read.
size_t delta_max_bytes(size_t words);
uint8_t* encode_delta(const uint64_t* prev, const uint64_t* cur, size_t words, uint8_t* out);
const uint8_t* decode_delta(const uint8_t* in, uint64_t* layout, size_t words);

}  // namespace loopcheck::model
