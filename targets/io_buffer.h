// One page-aligned buffer a target reuses for every read and write, so that
// O_DIRECT fds work without the target knowing which fds are O_DIRECT, and so
// that I/O allocates only when a request is larger than any before it. Shared by
// the host executor (and through it the VM agent) and the in-process adapter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace loopcheck {

class IoBuffer {
 public:
  static constexpr size_t kAlignment = 4096;  // covers every logical block size O_DIRECT may need

  IoBuffer() = default;
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;
  ~IoBuffer() { std::free(data_); }

  // Grows to at least `len` bytes; false (and unchanged) when memory runs out.
  bool reserve(size_t len) {
    if (len <= capacity_) return true;
    const size_t rounded = (len + kAlignment - 1) / kAlignment * kAlignment;
    void* p = nullptr;
    if (::posix_memalign(&p, kAlignment, rounded) != 0) return false;
    std::free(data_);
    data_ = static_cast<uint8_t*>(p);
    capacity_ = rounded;
    return true;
  }

  uint8_t* data() const { return data_; }

  // Before a read: bytes the kernel reports as read but never wrote keep this
  // value instead of whatever an earlier read or write left, so they show up as a
  // data mismatch (a 6.1 mutant of lo_read_simple that completes a read at the
  // backing EOF without zero-filling it). Patterns vary byte by byte; only a
  // file filled with this very byte could hide such a read.
  static constexpr uint8_t kReadPoison = 0x5a;
  void poison(size_t len) { std::memset(data_, kReadPoison, len); }

 private:
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace loopcheck
