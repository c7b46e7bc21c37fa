// The page cache's index: page number -> cached page, as a two-level table.
// Pages are grouped in chunks of kPagesPerChunk slots (256 KiB of device); the
// chunks sit in an ordered map, so a lookup costs one map search per chunk
// rather than per page (sequential I/O stays in one chunk, remembered between
// calls), and range walks (writeback, invalidation) go in page order. A chunk
// is 1 KiB, so even a cache of scattered single pages costs at most 1 KiB per
// page. Chunks emptied by erasure are kept for reuse, up to kMaxSpareChunks.
#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace loopcheck::inproc {

// Per-sector state of a cached page, bit i for bytes [512 i, 512 i + 512): the
// kernel's buffer heads, which have the soft block size (at least a sector).
// A page whose buffers are not all up to date is in the cache but not up to date
// (block_write_begin reads only the buffers a write covers in part).
using SectorMask = uint8_t;
inline constexpr SectorMask kWholePage = 0xFF;  // 8 sectors of 512 in a 4 KiB page

struct CachedPage {
  uint8_t* data = nullptr;  // kPageSize bytes; nullptr: the slot is empty
  SectorMask uptodate = kWholePage;
  SectorMask dirty = 0;
};

class PageIndex {
 public:
  static constexpr uint64_t kPagesPerChunk = 64;
  static constexpr size_t kMaxSpareChunks = 1024;

  // The page, or nullptr when it is not cached.
  CachedPage* find(uint64_t index) {
    Chunk* c = chunk_of(index, false);
    if (c == nullptr) return nullptr;
    CachedPage& p = c->slots[index % kPagesPerChunk];
    return p.data != nullptr ? &p : nullptr;
  }
  bool contains(uint64_t index) { return find(index) != nullptr; }

  // The slot for `index`, created empty (data == nullptr) if it was not there;
  // the caller must store non-null data in an empty slot before the next call.
  CachedPage& slot(uint64_t index) {
    Chunk* c = chunk_of(index, true);
    CachedPage& p = c->slots[index % kPagesPerChunk];
    if (p.data == nullptr) {
      ++c->used;
      ++size_;
    }
    return p;
  }

  uint64_t size() const { return size_; }

  // Calls f(index, page) for every cached page in [first, last], in order.
  template <typename F>
  void for_each(uint64_t first, uint64_t last, F f) {
    walk(*this, first, last, f);
  }
  template <typename F>
  void for_each(uint64_t first, uint64_t last, F f) const {
    walk(*this, first, last, f);
  }

  // Removes every cached page in [first, last], handing each one's data to
  // `release` first.
  template <typename F>
  void erase(uint64_t first, uint64_t last, F release) {
    auto it = chunks_.lower_bound(first / kPagesPerChunk);
    while (it != chunks_.end() && it->first <= last / kPagesPerChunk) {
      const uint64_t base = it->first * kPagesPerChunk;
      const uint64_t lo = first > base ? first - base : 0;
      const uint64_t hi = last - base < kPagesPerChunk - 1 ? last - base : kPagesPerChunk - 1;
      Chunk& c = *it->second;
      for (uint64_t i = lo; i <= hi && c.used > 0; ++i) {
        CachedPage& p = c.slots[i];
        if (p.data == nullptr) continue;
        release(p.data);
        p = CachedPage{};
        --c.used;
        --size_;
      }
      if (c.used == 0) {
        if (last_chunk_ == &c) last_chunk_ = nullptr;
        if (spare_.size() < kMaxSpareChunks) spare_.push_back(std::move(it->second));
        it = chunks_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  struct Chunk {
    std::array<CachedPage, kPagesPerChunk> slots{};
    uint64_t used = 0;
  };

  template <typename Self, typename F>
  static void walk(Self& self, uint64_t first, uint64_t last, F& f) {
    for (auto it = self.chunks_.lower_bound(first / kPagesPerChunk);
         it != self.chunks_.end() && it->first <= last / kPagesPerChunk; ++it) {
      const uint64_t base = it->first * kPagesPerChunk;
      const uint64_t lo = first > base ? first - base : 0;
      const uint64_t hi = last - base < kPagesPerChunk - 1 ? last - base : kPagesPerChunk - 1;
      for (uint64_t i = lo; i <= hi; ++i) {
        auto& p = it->second->slots[i];
        if (p.data != nullptr) f(base + i, p);
      }
    }
  }

  Chunk* chunk_of(uint64_t index, bool create) {
    const uint64_t key = index / kPagesPerChunk;
    if (last_chunk_ != nullptr && last_key_ == key) return last_chunk_;
    auto it = chunks_.find(key);
    if (it == chunks_.end()) {
      if (!create) return nullptr;
      std::unique_ptr<Chunk> c;
      if (!spare_.empty()) {
        c = std::move(spare_.back());
        spare_.pop_back();
        assert(c->used == 0);
      } else {
        c = std::make_unique<Chunk>();
      }
      it = chunks_.emplace(key, std::move(c)).first;
    }
    last_key_ = key;
    last_chunk_ = it->second.get();
    return last_chunk_;
  }

  std::map<uint64_t, std::unique_ptr<Chunk>> chunks_;
  std::vector<std::unique_ptr<Chunk>> spare_;  // emptied chunks, all slots empty
  Chunk* last_chunk_ = nullptr;
  uint64_t last_key_ = 0;
  uint64_t size_ = 0;
};

}  // namespace loopcheck::inproc
