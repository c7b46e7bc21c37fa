// Frontier blocks: delta records, the memory budget, spill files (see frontier.h).
#include "explore/frontier.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace loopcheck::model {

namespace {

uint8_t* put_varint(uint8_t* out, uint64_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<uint8_t>(v);
  return out;
}

const uint8_t* get_varint(const uint8_t* in, uint64_t& v) {
  v = 0;
  for (int shift = 0;; shift += 7) {
    const uint8_t b = *in++;
    v |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) return in;
  }
}

std::string mib(uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

}  // namespace

size_t delta_max_bytes(size_t words) {
  // Per word: a gap varint (words < 2^14: two bytes), the mask, eight bytes; then the end.
  return words * 11 + 1;
}

uint8_t* encode_delta(const uint64_t* prev, const uint64_t* cur, size_t words, uint8_t* out) {
  size_t next = 0;  // one past the last changed word written
  for (size_t i = 0; i < words; ++i) {
    const uint64_t x = prev[i] ^ cur[i];
    if (x == 0) continue;
    out = put_varint(out, i + 1 - next);  // >= 1: 0 ends the record
    next = i + 1;
    uint8_t* mask = out++;
    *mask = 0;
    for (unsigned b = 0; b < 8; ++b) {
      const auto byte = static_cast<uint8_t>(x >> (8 * b));
      if (byte == 0) continue;
      *mask = static_cast<uint8_t>(*mask | (1u << b));
      *out++ = byte;
    }
  }
  *out++ = 0;
  return out;
}

const uint8_t* decode_delta(const uint8_t* in, uint64_t* layout, size_t words) {
  size_t next = 0;
  for (;;) {
    uint64_t gap = 0;
    in = get_varint(in, gap);
    if (gap == 0) return in;
    const size_t i = next + gap - 1;
    assert(i < words);
    (void)words;
    next = i + 1;
    const uint8_t mask = *in++;
    uint64_t x = 0;
    for (unsigned b = 0; b < 8; ++b)
      if (mask & (1u << b)) x |= uint64_t{*in++} << (8 * b);
    layout[i] ^= x;
  }
}

SpillFile::~SpillFile() {
  if (fd >= 0) close(fd);
}

FrontierSpace::FrontierSpace(uint64_t memory_budget_bytes, std::string dir_parent)
    : budget_(memory_budget_bytes), dir_parent_(std::move(dir_parent)) {
  if (dir_parent_.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    dir_parent_ = tmp && *tmp ? tmp : "/tmp";
  }
}

FrontierSpace::~FrontierSpace() {
  // The files in it were unlinked when made; open ones vanish with their last block.
  if (!dir_.empty()) rmdir(dir_.c_str());
}

bool FrontierSpace::take(uint64_t bytes) {
  uint64_t now = in_memory_.load(std::memory_order_relaxed);
  do {
    if (now + bytes > budget_) return false;
  } while (!in_memory_.compare_exchange_weak(now, now + bytes, std::memory_order_relaxed));
  uint64_t peak = peak_.load(std::memory_order_relaxed);
  while (now + bytes > peak &&
         !peak_.compare_exchange_weak(peak, now + bytes, std::memory_order_relaxed)) {
  }
  return true;
}

void FrontierSpace::give_back(uint64_t bytes) {
  in_memory_.fetch_sub(bytes, std::memory_order_relaxed);
}

std::shared_ptr<SpillFile> FrontierSpace::new_file() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dir_.empty()) {
    std::string templ = dir_parent_ + "/loopcheck-frontier-XXXXXX";
    if (!mkdtemp(templ.data()))
      throw FrontierError("explore: cannot make the frontier spill directory in " + dir_parent_ +
                          ": " + std::strerror(errno) +
                          " (the level no longer fits in --frontier-mem " + mib(budget_) +
                          "; set TMPDIR to a writable directory or raise --frontier-mem)");
    dir_ = templ;
  }
  std::string path = dir_ + "/level-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0)
    throw FrontierError("explore: cannot make a frontier spill file in " + dir_ + ": " +
                        std::strerror(errno));
  unlink(path.c_str());
  auto f = std::make_shared<SpillFile>();
  f->fd = fd;
  return f;
}

uint64_t FrontierSpace::write(SpillFile& f, const uint8_t* data, size_t bytes) {
  const uint64_t offset = f.size_bytes;
  for (size_t done = 0; done < bytes;) {
    const ssize_t n = pwrite(f.fd, data + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      throw FrontierError(
          "explore: writing the BFS frontier to " + dir_ + " failed: " + std::strerror(err) + " (" +
          mib(spilled_bytes()) + " spilled so far, " + mib(budget_) +
          " kept in memory by --frontier-mem). Free space there, point TMPDIR at a larger " +
          "disk, or raise --frontier-mem if there is memory to spare.");
    }
    done += static_cast<size_t>(n);
  }
  f.size_bytes += bytes;
  spilled_.fetch_add(bytes, std::memory_order_relaxed);
  return offset;
}

Frontier& Frontier::operator=(Frontier&& o) noexcept {
  if (this == &o) return *this;
  clear();
  space_ = o.space_;
  blocks_ = std::move(o.blocks_);
  size_ = o.size_;
  o.blocks_.clear();
  o.size_ = 0;
  return *this;
}

void Frontier::append(Frontier&& tail) {
  if (!space_) space_ = tail.space_;
  for (FrontierBlock& b : tail.blocks_) {
    b.first += size_;
    blocks_.push_back(std::move(b));
  }
  size_ += tail.size_;
  tail.blocks_.clear();
  tail.size_ = 0;
}

void Frontier::clear() {
  for (const FrontierBlock& b : blocks_)
    if (!b.file) space_->give_back(b.bytes);
  blocks_.clear();
  size_ = 0;
}

uint64_t Frontier::bytes() const {
  uint64_t n = 0;
  for (const FrontierBlock& b : blocks_) n += b.bytes;
  return n;
}

FrontierWriter::FrontierWriter(FrontierSpace& space, size_t layout_words)
    : space_(space),
      words_(layout_words),
      max_record_bytes_(delta_max_bytes(layout_words)),
      frontier_(&space),
      buffer_(new uint8_t[kFrontierBlockBytes]),
      prev_(layout_words, 0) {
  assert(max_record_bytes_ * 2 <= kFrontierBlockBytes);
}

void FrontierWriter::push(const uint64_t* layout) {
  if (open_.bytes + max_record_bytes_ > kFrontierBlockBytes) seal();
  uint8_t* at = buffer_.get() + open_.bytes;
  uint8_t* end = encode_delta(prev_.data(), layout, words_, at);
  open_.bytes += static_cast<uint32_t>(end - at);
  ++open_.records;
  std::copy(layout, layout + words_, prev_.begin());
}

// Closes the open block: kept in memory while the budget allows, else spilled.
void FrontierWriter::seal() {
  if (open_.records == 0) return;
  open_.first = frontier_.size_;
  if (space_.take(open_.bytes)) {
    open_.data.assign(buffer_.get(), buffer_.get() + open_.bytes);
  } else {
    if (!file_) file_ = space_.new_file();
    open_.offset = space_.write(*file_, buffer_.get(), open_.bytes);
    open_.file = file_;
  }
  frontier_.size_ += open_.records;
  frontier_.blocks_.push_back(std::move(open_));
  open_ = FrontierBlock{};
  std::fill(prev_.begin(), prev_.end(), 0);
}

Frontier FrontierWriter::finish() {
  seal();
  Frontier out = std::move(frontier_);
  frontier_ = Frontier(&space_);
  file_.reset();
  return out;
}

FrontierReader::FrontierReader(const Frontier& f, size_t layout_words)
    : f_(f), words_(layout_words), layout_(layout_words) {}

void FrontierReader::load(size_t block) {
  block_ = block;
  const FrontierBlock& b = f_.blocks_[block];
  if (b.file) {
    buffer_.resize(b.bytes);
    for (size_t done = 0; done < b.bytes;) {
      const ssize_t n = pread(b.file->fd, buffer_.data() + done, b.bytes - done,
                              static_cast<off_t>(b.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw FrontierError(std::string("explore: reading the spilled BFS frontier back failed: ") +
                            (n < 0 ? std::strerror(errno) : "the file is short"));
      done += static_cast<size_t>(n);
    }
    at_ = buffer_.data();
  } else {
    at_ = b.data.data();
  }
  left_ = b.records;
  index_ = b.first;
  std::fill(layout_.begin(), layout_.end(), 0);
}

void FrontierReader::seek(uint64_t index) {
  if (left_ > 0 && index >= index_ && index - index_ < left_) {
    while (index_ < index) next();
    return;
  }
  left_ = 0;
  block_ = f_.blocks_.size();
  if (index >= f_.size_) return;
  const auto it = std::upper_bound(f_.blocks_.begin(), f_.blocks_.end(), index,
                                   [](uint64_t i, const FrontierBlock& b) { return i < b.first; });
  load(static_cast<size_t>(it - f_.blocks_.begin()) - 1);
  // Records are deltas of their predecessors: decode up to the one asked for.
  while (index_ < index) next();
}

const uint64_t* FrontierReader::next() {
  while (left_ == 0) load(block_ + 1);
  at_ = decode_delta(at_, layout_.data(), words_);
  --left_;
  ++index_;
  return layout_.data();
}

}  // namespace loopcheck::model
