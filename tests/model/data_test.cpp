// Data path (docs/semantics.md §5) and the device page cache, per profile.
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "model/model.h"
#include "tests/model/model_sim.h"
#include "trace/ops.h"

namespace loopcheck::model {
namespace {

struct Sim : ModelSim {
  explicit Sim(const Profile& profile, Env e = Env{})
      : ModelSim(profile, {file_object("img", 64 << 10, 0xcd), dir_object("d")}, e) {}
  std::pair<uint64_t, uint64_t> bind(uint64_t offset = 0) {
    uint64_t d = ok(op_open_loop(L(0), Access::Rw));
    uint64_t f = ok(op_open_file(0, Access::Rw));
    StructFields c;
    c.set(Field::Fd, L(f));
    c.set(Field::Offset, L(offset));
    EXPECT_EQ(ok(op_ioctl_struct(L(d), Req::LoopConfigure, c)), 0);
    return {d, f};
  }
};

DataSegment pattern(uint32_t seed, uint64_t index, uint64_t len) {
  return DataSegment{DataSegment::Kind::Pattern, 0, seed, index, len};
}
DataSegment fill(uint8_t b, uint64_t len) {
  return DataSegment{DataSegment::Kind::Fill, b, 0, 0, len};
}

TEST(ModelData, BackingFileSemantics) {
  Sim m(kLinux618);
  uint64_t f = m.ok(op_open_file(0, Access::Rw));
  Outcome r = m.run(op_pread(L(f), (64 << 10) - 10, 100));
  EXPECT_EQ(r.value, 10);  // short at EOF
  ASSERT_EQ(r.data.count, 1);
  EXPECT_EQ(r.data.seg[0], fill(0xcd, 10));
  EXPECT_EQ(m.run(op_pread(L(f), 1 << 20, 10)).value, 0);
  EXPECT_EQ(m.ok(op_pwrite(L(f), (64 << 10) + 100, 10, 7)), 10);  // extends, gap is zero
  Outcome g = m.run(op_pread(L(f), (64 << 10) - 2, 120));
  EXPECT_EQ(g.value, 112);
  ASSERT_EQ(g.data.count, 3);
  EXPECT_EQ(g.data.seg[1], (DataSegment{DataSegment::Kind::Zero, 0, 0, 0, 100}));
  EXPECT_EQ(g.data.seg[2], pattern(7, 0, 10));
  EXPECT_EQ(m.err(op_pread(L(f), -1, 10)), EINVAL);
  uint64_t c = m.ok(op_open_loop_control());
  EXPECT_EQ(m.err(op_pread(L(c), 0, 10)), ESPIPE);
  EXPECT_EQ(m.err(op_fsync(L(c))), EINVAL);
  EXPECT_EQ(m.err(op_open_dir(1, Access::Rw)), EISDIR);
  uint64_t dir = m.ok(op_open_dir(1));
  EXPECT_EQ(m.err(op_pread(L(dir), 0, 10)), EISDIR);
  EXPECT_EQ(m.err(op_pwrite(L(dir), 0, 10, 1)), EBADF);
  uint64_t ro = m.ok(op_open_file(0, Access::Ro));
  EXPECT_EQ(m.err(op_pwrite(L(ro), 0, 10, 1)), EBADF);
  m.ok(op_truncate(0, 5));
  EXPECT_EQ(m.run(op_pread(L(f), 0, 100)).value, 5);
}

TEST(ModelData, DeviceWritesAreCachedUntilFsync) {
  Sim m(kLinux618);
  auto [d, f] = m.bind(512);
  EXPECT_EQ(m.ok(op_pwrite(L(d), 4096, 4096, 3)), 4096);
  Outcome r = m.run(op_pread(L(d), 4096 - 16, 32));
  ASSERT_TRUE(r.data_known);
  ASSERT_EQ(r.data.count, 2);
  EXPECT_EQ(r.data.seg[0], fill(0xcd, 16));
  EXPECT_EQ(r.data.seg[1], pattern(3, 0, 16));
  // Not written back before fsync: the file still holds its old bytes.
  Outcome before = m.run(op_pread(L(f), 4096 + 512, 16));
  ASSERT_TRUE(before.data_known);
  EXPECT_EQ(before.data.seg[0], fill(0xcd, 16));
  EXPECT_EQ(m.ok(op_fsync(L(d))), 0);
  Outcome fr = m.run(op_pread(L(f), 4096 + 512, 16));
  ASSERT_TRUE(fr.data_known);
  EXPECT_EQ(fr.data.seg[0], pattern(3, 0, 16));
}

TEST(ModelData, EndOfDeviceRules) {
  Sim m(kLinux618);
  auto [d, f] = m.bind();
  const int64_t end = 64 << 10;
  EXPECT_EQ(m.run(op_pread(L(d), end, 512)).value, 0);
  EXPECT_EQ(m.err(op_pwrite(L(d), end, 512, 1)), ENOSPC);
  EXPECT_EQ(m.ok(op_pwrite(L(d), end - 512, 1024, 1)), 512);
  EXPECT_EQ(m.run(op_pread(L(d), end - 512, 1024)).value, 512);
  EXPECT_EQ(m.err(op_pread(L(d), -5, 1)), EINVAL);
  (void)f;
}

TEST(ModelData, DirectIoOnDeviceNeedsLogicalBlockAlignment) {
  Sim m(kLinux618);
  auto [d, f] = m.bind();
  uint64_t dd = m.ok(op_open_loop(L(0), Access::Rw, kOpenDirect));
  EXPECT_EQ(m.err(op_pread(L(dd), 100, 512)), EINVAL);
  EXPECT_EQ(m.err(op_pwrite(L(dd), 0, 100, 1)), EINVAL);
  // A buffered write is dirty; an O_DIRECT read of its range writes it back first.
  m.ok(op_pwrite(L(d), 0, 512, 9));
  Outcome r = m.run(op_pread(L(dd), 0, 512));
  ASSERT_EQ(r.value, 512);
  EXPECT_EQ(r.data.seg[0], pattern(9, 0, 512));
  Outcome fr = m.run(op_pread(L(f), 0, 512));
  ASSERT_TRUE(fr.data_known);
  EXPECT_EQ(fr.data.seg[0], pattern(9, 0, 512));
}

TEST(ModelData, ReadPastBackingEofPerProfile) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    auto [d, f] = m.bind();
    m.ok(op_truncate(0, 4096));  // capacity stays 64 KiB
    Outcome past = m.run(op_pread(L(d), 8192, 4096));
    Outcome straddle = m.run(op_pread(L(d), 0, 8192));
    if (p->read_past_backing_eof_is_eio) {
      EXPECT_EQ(past.err, EIO) << p->name;
      EXPECT_EQ(straddle.value, 4096) << p->name;
    } else {
      ASSERT_EQ(past.kind, Outcome::Kind::Data) << p->name;
      EXPECT_EQ(past.value, 4096);
      EXPECT_EQ(past.data.seg[0].kind, DataSegment::Kind::Zero);
      EXPECT_EQ(straddle.value, 8192);
    }
  }
}

TEST(ModelData, DirtyPagesAtDetach) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    auto [d, f] = m.bind();
    m.ok(op_pwrite(L(d), 0, 4096, 5));
    m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd));  // sole opener
    m.ok(op_close(L(d)));
    // 6.1: torn down without writeback; 6.11+: Rundown refuses the last-close
    // writeback with EIO. Either way the file keeps its old bytes.
    Outcome fr = m.run(op_pread(L(f), 0, 16));
    ASSERT_TRUE(fr.data_known) << p->name;
    EXPECT_EQ(fr.data.seg[0], fill(0xcd, 16)) << p->name;
  }
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    auto [d, f] = m.bind();
    uint64_t other = m.ok(op_open_loop(L(0), Access::Ro));
    m.ok(op_pwrite(L(d), 0, 4096, 5));
    m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd));  // autoclear only: stays Bound
    m.ok(op_close(L(d)));
    m.ok(op_close(L(other)));  // last close writes back, then tears down
    Outcome fr = m.run(op_pread(L(f), 0, 16));
    ASSERT_TRUE(fr.data_known) << p->name;
    EXPECT_EQ(fr.data.seg[0], pattern(5, 0, 16)) << p->name;
  }
}

TEST(ModelData, BackingChangedBehindCacheIsUnpredictable) {
  Sim m(kLinux618);
  auto [d, f] = m.bind();
  ASSERT_TRUE(m.run(op_pread(L(d), 0, 512)).data_known);
  m.ok(op_pwrite(L(f), 8192, 512, 4));
  EXPECT_FALSE(m.run(op_pread(L(d), 8192, 512)).data_known);
  m.ok(op_ioctl_noarg(L(d), Req::BlkFlsBuf));
  Outcome r = m.run(op_pread(L(d), 8192, 512));
  ASSERT_TRUE(r.data_known);
  EXPECT_EQ(r.data.seg[0], pattern(4, 0, 512));
}

// pagecache_stale_bytes_exact.trace: the folios a read went through serve their
// old bytes exactly; pages only readahead may have cached are not predicted.
TEST(ModelData, CachedPagesKeepTheirOldBytesExactly) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    auto [d, f] = m.bind();
    ASSERT_EQ(m.run(op_pread(L(d), 0, 8192)).value, 8192) << p->name;
    m.ok(op_pwrite(L(f), 1024, 2048, 2));
    m.ok(op_pwrite(L(f), 6144, 4096, 3));  // reaches past the range read
    Outcome r = m.run(op_pread(L(d), 0, 8192));
    ASSERT_TRUE(r.data_known) << p->name;
    ASSERT_EQ(r.data.count, 1) << p->name;
    EXPECT_EQ(r.data.seg[0], fill(0xcd, 8192)) << p->name;
    EXPECT_FALSE(m.run(op_pread(L(d), 8192, 512)).data_known) << p->name;
    // Written back by fsync, a page stays cached with the device's bytes.
    m.ok(op_pwrite(L(d), 0, 4096, 4));
    m.ok(op_fsync(L(d)));
    m.ok(op_pwrite(L(f), 0, 4096, 5));
    Outcome w = m.run(op_pread(L(d), 0, 4096));
    ASSERT_TRUE(w.data_known) << p->name;
    EXPECT_EQ(w.data.seg[0], pattern(4, 0, 4096)) << p->name;
  }
}

// A device that existed before the trace: 6.1 has no write cache on an Unbound
// device whatever its history; 6.12+ may have kept one from an earlier bind.
TEST(ModelData, FsyncOfPrecreatedUnboundDevicePerProfile) {
  for (const Profile* p : kProfiles) {
    Sim m(*p);
    uint64_t d = m.ok(op_open_loop(L(0), Access::Rw));
    Outcome o = m.run(op_fsync(L(d)));
    EXPECT_EQ(o.value, 0) << p->name;
    EXPECT_EQ(o.also_err, p->write_cache_cleared_on_teardown ? 0 : EIO) << p->name;
  }
}

// Rundown: reads end at the first uncached folio, writes at the first folio whose
// read-modify-write read fails; nothing past what buffered I/O touched is cached.
TEST(ModelData, RundownCountsFollowTheCachedHull) {
  Sim m(kLinux618);
  auto [d, f] = m.bind();
  EXPECT_EQ(m.ok(op_pwrite(L(d), 512, 4096, 1)), 4096);  // reads pages 0 and 1 in
  m.ok(op_ioctl_noarg(L(d), Req::LoopClrFd));            // sole opener: Rundown
  Outcome w = m.run(op_pwrite(L(d), 512, 8192, 2));
  EXPECT_EQ(w.value, 7680);    // page 2 cannot be cached: the write stops before it
  EXPECT_EQ(w.also_err, EIO);  // page 0 may have been evicted
  EXPECT_EQ(w.min_value, 0);
  Outcome r = m.run(op_pread(L(d), 0, 65536));
  EXPECT_EQ(r.value, 8192);      // the failed page 2 was never cached
  EXPECT_EQ(r.min_value, 4096);  // at least the first folio, if cached at all
  EXPECT_EQ(r.also_err, EIO);
  EXPECT_EQ(m.err(op_pread(L(d), 16384, 4096)), EIO);  // certainly uncached
  (void)f;
}

// 6.12+: a driver read across a backing EOF that is not sector aligned succeeds
// (lo_complete_rq requeues the sub-sector tail); an aligned EOF fails the folio.
TEST(ModelData, ReadPastUnalignedBackingEof) {
  for (const Profile* p : {&kLinux612, &kLinux618}) {
    Sim m(*p);
    auto [d, f] = m.bind();
    m.ok(op_truncate(0, 8242));
    Outcome r = m.run(op_pread(L(d), 512, 8192));
    EXPECT_EQ(r.value, 8192) << p->name;
    EXPECT_FALSE(r.data_known) << p->name;  // the tail repeats past the EOF
    m.ok(op_ioctl_noarg(L(d), Req::BlkFlsBuf));
    EXPECT_EQ(m.err(op_pread(L(d), 12288, 4096)), EIO) << p->name;
    m.ok(op_truncate(0, 8704));
    m.ok(op_ioctl_noarg(L(d), Req::BlkFlsBuf));
    EXPECT_EQ(m.run(op_pread(L(d), 0, 12288)).value, 8192) << p->name;
    (void)f;
  }
}

// How far readahead can have cached (docs/semantics.md §11.4): a one-byte read at 0
// into a cold cache reads ahead at most 4 pages, so after a cut to 1 byte a write
// needing block 15 fails for sure on 6.12 and 6.18 (6.18: the window reaches the
// EOF, past which requests fail), and LOOP_SET_STATUS sizes the device from the
// one page written back. A one-page read of an uncut file on 6.18 may start the
// asynchronous window at once (large folios): the write is an envelope there.
TEST(ModelData, ReadaheadReachBoundsRmwAfterCut) {
  for (const Profile* p : {&kLinux612, &kLinux618}) {
    Sim m(*p);
    auto [d, f] = m.bind();
    m.ok(op_truncate(0, 1));
    EXPECT_EQ(m.ok(op_pwrite(L(d), 0, 1, 3)), 1) << p->name;
    EXPECT_EQ(m.run(op_pread(L(d), 0, 1)).value, 1) << p->name;
    Outcome w = m.run(op_pwrite(L(d), 61440, 1, 1));
    EXPECT_EQ(w.kind, Outcome::Kind::Error) << p->name;
    EXPECT_EQ(w.err, EIO) << p->name;
    StructFields st;
    st.set(Field::Offset, L(1));
    EXPECT_EQ(m.ok(op_ioctl_struct(L(d), Req::LoopSetStatus, st)), 0) << p->name;
    EXPECT_EQ(m.ok(op_ioctl_noarg(L(d), Req::BlkGetSize64)), 3584) << p->name;
    (void)f;
  }
  Sim m(kLinux618);
  auto [d, f] = m.bind();
  EXPECT_EQ(m.run(op_pread(L(d), 0, 1)).value, 1);
  m.ok(op_truncate(0, 1));
  Outcome w = m.run(op_pwrite(L(d), 61440, 1, 1));
  EXPECT_EQ(w.value, 1);
  EXPECT_EQ(w.also_err, EIO);  // an async window may have cached block 15
  Sim m12(kLinux612);
  auto [d12, f12] = m12.bind();
  EXPECT_EQ(m12.run(op_pread(L(d12), 0, 1)).value, 1);
  m12.ok(op_truncate(0, 1));
  EXPECT_EQ(m12.err(op_pwrite(L(d12), 61440, 1, 1)), EIO);  // 4 KiB folios: pages 0-3
  (void)f;
  (void)f12;
}

}  // namespace
}  // namespace loopcheck::model
