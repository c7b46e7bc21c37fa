// The random trace generator: valid, deterministic, seed-sensitive, and every
// trace it writes runs on the model under every profile without breaking an
// invariant.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "fuzz/generator.h"
#include "oracle/lockstep.h"
#include "trace/parse.h"
#include "trace/print.h"

namespace loopcheck {
namespace {

TEST(Generator, TracesParseBackToThemselves) {
  for (const model::Profile* profile : model::kProfiles) {
    for (uint64_t i = 0; i < 300; ++i) {
      Trace t = generate_trace(GenOptions{7, 24, profile}, i);
      std::string text = print_trace(t);
      ParseResult parsed = parse_trace(text, "gen");
      ASSERT_TRUE(parsed.ok()) << parsed.errors.front().format() << "\n" << text;
      EXPECT_EQ(print_trace(parsed.trace), text);
    }
  }
}

TEST(Generator, SameSeedSameBytesOtherSeedOtherBytes) {
  GenOptions a{42, 24, &model::kLinux618};
  EXPECT_EQ(print_trace(generate_trace(a, 3)), print_trace(generate_trace(a, 3)));
  GenOptions b{43, 24, &model::kLinux618};
  EXPECT_NE(print_trace(generate_trace(a, 3)), print_trace(generate_trace(b, 3)));
  EXPECT_NE(print_trace(generate_trace(a, 3)), print_trace(generate_trace(a, 4)));
}

TEST(Generator, TracesKeepModelInvariantsAndEndClean) {
  for (const model::Profile* profile : model::kProfiles) {
    for (uint64_t i = 0; i < 200; ++i) {
      Trace t = generate_trace(GenOptions{11, 24, profile}, i);
      Lockstep lockstep(*profile, t.env, t.objects, nullptr);
      for (const Statement& stmt : t.stmts) {
        lockstep.step(stmt, false);
        std::string why;
        ASSERT_TRUE(model::check_invariants(lockstep.model_state(), *profile, t.env, &why))
            << why << "\n"
            << print_trace(t);
      }
      // The cleanup tail leaves no device bound and no file description open.
      const model::State& end = lockstep.model_state();
      for (uint8_t d = 0; d < end.device_count; ++d) {
        EXPECT_EQ(end.devices[d].state, model::DevState::Unbound) << print_trace(t);
      }
      for (const model::Desc& desc : end.descs)
        EXPECT_EQ(desc.kind, model::DescKind::None) << print_trace(t);
    }
  }
}

// What the data-path half of a series does on the model: how many device writes
// it makes and how many the model lets through, and which kinds it reaches.
struct DataPathMix {
  size_t device_writes = 0, device_writes_ok = 0;
  size_t device_reads_ok = 0, unaligned_device_reads_ok = 0;
  size_t file_writes_ok = 0, truncates = 0, fsyncs = 0, stacked_binds_ok = 0;
  size_t truncates_of_bound_files = 0, ragged_truncates_of_bound_files = 0;
  size_t direct_loop_opens = 0, direct_file_opens = 0, sync_opens = 0, dsync_opens = 0;
  std::set<uint64_t> block_sizes_ok;
  std::set<SysAttr> sysfs_attrs;
};

bool is_device_fd(const Trace& t, const Value& v) {
  return !v.is_literal() && t.vars[v.var].starts_with("dev");
}

void count_step(const Trace& t, const Statement& s, const Outcome& o, DataPathMix& mix) {
  const Op& op = s.op;
  const bool ok = o.kind == Outcome::Kind::Value || o.kind == Outcome::Kind::Data;
  const bool dev = is_device_fd(t, op.subject);
  if (op.kind == OpKind::Pwrite && dev) {
    ++mix.device_writes;
    if (ok && o.value > 0) ++mix.device_writes_ok;
  }
  if (op.kind == OpKind::Pwrite && !dev && ok && o.value > 0) ++mix.file_writes_ok;
  if (op.kind == OpKind::Pread && dev && ok && o.value > 0) {
    ++mix.device_reads_ok;
    if (op.offset.lit % 512 != 0) ++mix.unaligned_device_reads_ok;
  }
  if (op.kind == OpKind::Truncate) ++mix.truncates;
  if (op.kind == OpKind::Fsync) ++mix.fsyncs;
  if (op.kind == OpKind::Sysfs) mix.sysfs_attrs.insert(op.attr);
  if (op.kind == OpKind::Open && (op.open_flags & kOpenDirect))
    ++(op.node == Node::Loop ? mix.direct_loop_opens : mix.direct_file_opens);
  if (op.kind == OpKind::Open && (op.open_flags & kOpenSync)) ++mix.sync_opens;
  if (op.kind == OpKind::Open && (op.open_flags & kOpenDsync)) ++mix.dsync_opens;
  if (op.kind == OpKind::Ioctl && ok) {
    const bool configure = op.req == Req::LoopConfigure;
    const Value& backing = configure ? op.fields.value[static_cast<int>(Field::Fd)] : op.arg;
    if ((configure || op.req == Req::LoopSetFd) && is_device_fd(t, backing)) ++mix.stacked_binds_ok;
    if (op.req == Req::LoopSetBlockSize) mix.block_sizes_ok.insert(op.arg.lit);
  }
}

// Whether a device is bound to the file `object` in `s` (before the step runs).
bool backs_a_bound_device(const model::State& s, uint8_t object) {
  for (uint8_t d = 0; d < s.device_count; ++d) {
    const model::Device& dev = s.devices[d];
    if (dev.state != model::DevState::Bound || dev.backing_desc == model::kNoDesc) continue;
    const model::Desc& desc = s.descs[dev.backing_desc];
    if (desc.kind == model::DescKind::File && desc.object == object) return true;
  }
  return false;
}

void count_truncate_of_bound(const model::State& s, const Op& op, DataPathMix& mix) {
  if (op.kind != OpKind::Truncate || !backs_a_bound_device(s, op.object)) return;
  ++mix.truncates_of_bound_files;
  if (op.offset.lit % 512 != 0) ++mix.ragged_truncates_of_bound_files;
}

DataPathMix data_path_mix(const model::Profile& profile, uint64_t seed, uint64_t traces) {
  DataPathMix mix;
  for (uint64_t i = 0; i < traces; ++i) {
    Trace t = generate_trace(GenOptions{seed, 24, &profile}, i);
    Lockstep lockstep(profile, t.env, t.objects, nullptr);
    for (const Statement& stmt : t.stmts) {
      count_truncate_of_bound(lockstep.model_state(), stmt.op, mix);
      count_step(t, stmt, lockstep.step(stmt, false).model, mix);
    }
  }
  return mix;
}

// Issue 13: the generated traces reach the data path, and most of their device
// writes land (inside the capacity, on a writable device) rather than failing
// at the first check.
TEST(Generator, MostDeviceWritesSucceedOnTheModel) {
  for (const model::Profile* profile : model::kProfiles) {
    DataPathMix mix = data_path_mix(*profile, 13, 300);
    ASSERT_GT(mix.device_writes, 300u) << profile->name;
    EXPECT_GE(mix.device_writes_ok * 2, mix.device_writes)
        << profile->name << ": " << mix.device_writes_ok << " of " << mix.device_writes;
    EXPECT_GT(mix.device_reads_ok, 300u) << profile->name;
    EXPECT_GT(mix.unaligned_device_reads_ok, 20u) << profile->name;
    EXPECT_GT(mix.file_writes_ok, 150u) << profile->name;
  }
}

TEST(Generator, ReachesEveryDataPathStatementKind) {
  DataPathMix mix = data_path_mix(model::kLinux618, 17, 300);
  EXPECT_GT(mix.truncates, 100u);
  // Resizing under a bound device, to sizes that are not whole sectors too.
  EXPECT_GT(mix.truncates_of_bound_files, 50u);
  EXPECT_GT(mix.ragged_truncates_of_bound_files, 10u);
  EXPECT_GT(mix.fsyncs, 100u);
  EXPECT_GT(mix.stacked_binds_ok, 20u);
  EXPECT_GT(mix.direct_loop_opens, 50u);
  EXPECT_GT(mix.direct_file_opens, 50u);
  EXPECT_GT(mix.dsync_opens, 20u);  // O_DSYNC opens of devices
  EXPECT_GT(mix.sync_opens, 50u);
  EXPECT_EQ(mix.sysfs_attrs.size(), static_cast<size_t>(kSysAttrCount));
  // 6.18 with THP takes every power of two from 512 to 64 KiB.
  for (uint64_t bs = 512; bs <= 65536; bs *= 2) EXPECT_TRUE(mix.block_sizes_ok.contains(bs)) << bs;
}

}  // namespace
}  // namespace loopcheck
