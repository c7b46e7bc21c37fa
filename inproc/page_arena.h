// Where the page cache's 4 KiB pages come from: arenas carved into pages, with a
// free list. Separate allocations per page scatter the cache over the heap, so
// copying a megabyte out of it costs a TLB miss per page; pages from one 2 MiB
// arena that the kernel backs with a transparent huge page do not. Arenas grow
// geometrically from 64 KiB so a device that caches a few pages (most short
// traces) does not pay for zeroing a huge page. Memory returns to the system
// only when the arena itself is destroyed (with its device).
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace loopcheck::inproc {

class PageArena {
 public:
  static constexpr uint64_t kPageBytes = 4096;
  static constexpr uint64_t kFirstArenaBytes = 64 << 10;
  static constexpr uint64_t kHugeBytes = 2 << 20;

  PageArena() = default;
  PageArena(const PageArena&) = delete;
  PageArena& operator=(const PageArena&) = delete;
  ~PageArena() {
    for (void* a : arenas_) std::free(a);
  }

  uint8_t* alloc() {
    if (free_.empty()) grow();
    uint8_t* p = free_.back();
    free_.pop_back();
    return p;
  }
  void free(uint8_t* page) { free_.push_back(page); }

 private:
  void grow() {
    const uint64_t bytes = next_bytes_;
    if (next_bytes_ < kHugeBytes) next_bytes_ *= 2;
    const uint64_t align = bytes >= kHugeBytes ? kHugeBytes : kPageBytes;
    void* raw = std::aligned_alloc(align, bytes);
    if (raw == nullptr) std::abort();
    if (bytes >= kHugeBytes) (void)::madvise(raw, bytes, MADV_HUGEPAGE);  // advice only
    arenas_.push_back(raw);
    auto* base = static_cast<uint8_t*>(raw);
    // Pushed in reverse so pages are handed out in address order.
    for (uint64_t off = bytes; off > 0; off -= kPageBytes) free_.push_back(base + off - kPageBytes);
  }

  std::vector<void*> arenas_;
  std::vector<uint8_t*> free_;
  uint64_t next_bytes_ = kFirstArenaBytes;
};

}  // namespace loopcheck::inproc
