// The properties. Each builder makes fresh symbolic inputs, runs the arithmetic
// under proof on them (only through `Subjects`), and states the violation in plain
// Z3 terms taken from docs/semantics.md §3.8, §3.9, §4, §5.1.
// Spec-side arithmetic is done kSpecBits wide so the statement itself cannot wrap.
#include "proofs/properties.h"

#include <array>
#include <cassert>

namespace loopcheck::proofs {
namespace {

constexpr unsigned kSpecBits = 80;  // > 64 + log2(65536) + 1: sums and sector products fit
constexpr uint64_t kLoffMax = 0x7fffffffffffffffull;
constexpr uint64_t kU32Max = 0xffffffffull;
constexpr uint64_t kSector = 512;

z3::expr wide(const UBv& v) {
  return z3::zext(v.value(), kSpecBits - kBits);
}
z3::expr wide(z3::context& c, uint64_t v) {
  return c.bv_val(v, kSpecBits);
}
z3::expr u64(z3::context& c, uint64_t v) {
  return c.bv_val(v, kBits);
}

// `x` is a multiple of the power of two `p` (p > 0).
z3::expr multiple_of_pow2(const z3::expr& x, const z3::expr& p) {
  return (x & (p - 1)) == 0;
}

// The logical block sizes a profile allows (docs/semantics.md §3.8): the powers of two from 512
// to 4096, or to 65536 on 6.15+ kernels with THP.
uint64_t spec_max_block_size(const model::Profile& p, bool thp) {
  return p.large_block_sizes && thp ? 65536 : 4096;
}

z3::expr allowed_block_size(const UBv& bs, uint64_t max) {
  z3::expr any = bs.ctx().bool_val(false);
  for (uint64_t v = kSector; v <= max; v *= 2) any = any || bs.value() == u64(bs.ctx(), v);
  return any;
}

// A file size: off_t, so never above LLONG_MAX. The model keeps sizes as u64; the
// driver gets them as int64 from fstat.
z3::expr is_file_size(const UBv& bytes) {
  return z3::ule(bytes.value(), u64(bytes.ctx(), kLoffMax));
}

// The symbolic inputs most properties share.
struct Geometry {
  UBv bytes, offset, sizelimit, sector;
  explicit Geometry(z3::context& c)
      : bytes(UBv::variable(c, "backing_bytes")),
        offset(UBv::variable(c, "offset")),
        sizelimit(UBv::variable(c, "sizelimit")),
        sector(UBv::variable(c, "sector")) {}
  std::vector<std::pair<std::string, z3::expr>> inputs(bool with_sector = true) const {
    std::vector<std::pair<std::string, z3::expr>> v{{"backing_bytes", bytes.value()},
                                                    {"offset", offset.value()},
                                                    {"sizelimit", sizelimit.value()}};
    if (with_sector) v.emplace_back("sector", sector.value());
    return v;
  }
};

// docs/semantics.md §4, wide: the bytes past the offset, and the window a nonzero sizelimit cuts.
z3::expr spec_past_offset(const Geometry& g) {
  return z3::ite(z3::ult(g.offset.value(), g.bytes.value()), wide(g.bytes) - wide(g.offset),
                 wide(g.bytes.ctx(), 0));
}
z3::expr spec_window(const Geometry& g) {
  const z3::expr past = spec_past_offset(g);
  return z3::ite(g.sizelimit.value() != 0 && z3::ult(wide(g.sizelimit), past), wide(g.sizelimit),
                 past);
}

Result always_proved(const model::Profile&) {
  return Result::Proved;
}
Result always_counterexample(const model::Profile&) {
  return Result::Counterexample;
}
Result proved_if_whole_argument(const model::Profile& p) {
  return p.block_size_arg_bits >= 64 ? Result::Proved : Result::Counterexample;
}

// ---- no wrap ------------------------------------------------------------------------------

Query model_no_wrap(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  const ModelArith& m = s.model;
  const Geometry g(c);
  const BvBool fit = m.offsets_fit_loff_t(g.offset, g.sizelimit);
  const UBv cap = m.capacity_sectors(g.bytes, g.offset, g.sizelimit);
  const UBv cap_bytes = m.device_bytes(cap);
  const BvBool inside = g.sector < cap;
  const UBv pos = m.backing_byte(m.device_bytes(g.sector), g.offset);
  const z3::expr geometry_wraps =
      fit.holds() && (fit.wrapped() || cap_bytes.wrapped() || inside.wrapped() ||
                      (inside.holds() && pos.wrapped()));

  const UBv arg = UBv::variable(c, "block_size_arg"), dflt = UBv::variable(c, "default_block_size");
  const auto choice =
      m.choose_block_size(arg, model::arith::block_size_rule(*pp.model, true), dflt);
  const z3::expr block_size_wraps =
      choice.accepted.holds() && (choice.accepted.wrapped() || choice.value.wrapped());

  const UBv align = UBv::variable(c, "dio_align");
  const BvBool dio = m.dio_alignment_ok(choice.value, g.offset, align);
  const z3::expr dio_wraps = fit.holds() && choice.accepted.holds() && dio.wrapped();

  auto inputs = g.inputs();
  inputs.insert(inputs.end(), {{"block_size_arg", arg.value()},
                               {"default_block_size", dflt.value()},
                               {"dio_align", align.value()}});
  return {
      z3::ule(dflt.value(), u64(c, kU32Max)) && (geometry_wraps || block_size_wraps || dio_wraps),
      inputs};
}

Query driver_no_overflow(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  const DriverArith& d = s.driver;
  const Geometry g(c);
  const BvBool fit = d.fits_loff_t(g.offset, g.sizelimit);
  // loop_device.cpp stores the validated u64 fields as loff_t and gets the size as off_t.
  const SBv size = as_signed(g.bytes), offset = as_signed(g.offset),
            sizelimit = as_signed(g.sizelimit);
  const UBv cap = d.capacity_in_sectors(size, offset, sizelimit);
  const UBv cap_bytes = d.bytes_of_sectors(cap);
  const BvBool inside = g.sector < cap;
  const SBv pos = d.backing_position(g.sector, offset);
  const z3::expr geometry_overflows =
      fit.holds() && (fit.wrapped() || offset.wrapped() || sizelimit.wrapped() ||
                      cap_bytes.wrapped() || inside.wrapped() || (inside.holds() && pos.wrapped()));

  const UBv arg = UBv::variable(c, "block_size_arg"), dflt = UBv::variable(c, "default_block_size");
  const auto verdict =
      d.set_block_size_verdict(arg, inproc::arith::whole_block_size_argument(*pp.driver),
                               inproc::arith::max_block_size(*pp.driver, true), dflt);
  const z3::expr block_size_overflows =
      verdict.ok.holds() && (verdict.ok.wrapped() || verdict.size.wrapped());

  const UBv align = UBv::variable(c, "dio_align");
  const BvBool dio = d.dio_aligned(verdict.size, as_unsigned(offset), align);
  const z3::expr dio_overflows = fit.holds() && verdict.ok.holds() && dio.wrapped();

  auto inputs = g.inputs();
  inputs.insert(inputs.end(), {{"block_size_arg", arg.value()},
                               {"default_block_size", dflt.value()},
                               {"dio_align", align.value()}});
  return {is_file_size(g.bytes) && z3::ule(dflt.value(), u64(c, kU32Max)) &&
              (geometry_overflows || block_size_overflows || dio_overflows),
          inputs};
}

// ---- capacity and mapping -------------------------------------------------------------------

Query capacity_within_backing(z3::context& c, const Subjects& s, const ProfilePair&) {
  const Geometry g(c);
  const BvBool fit = s.model.offsets_fit_loff_t(g.offset, g.sizelimit);
  const UBv cap = s.model.capacity_sectors(g.bytes, g.offset, g.sizelimit);
  return {fit.holds() && z3::ugt(wide(cap) * wide(c, kSector), spec_past_offset(g)),
          g.inputs(false)};
}

Query capacity_within_sizelimit(z3::context& c, const Subjects& s, const ProfilePair&) {
  const Geometry g(c);
  const BvBool fit = s.model.offsets_fit_loff_t(g.offset, g.sizelimit);
  const UBv cap = s.model.capacity_sectors(g.bytes, g.offset, g.sizelimit);
  return {fit.holds() && g.sizelimit.value() != 0 &&
              z3::ugt(wide(cap) * wide(c, kSector), wide(g.sizelimit)),
          g.inputs(false)};
}

Query mapping_inside_window(z3::context& c, const Subjects& s, const ProfilePair&) {
  const Geometry g(c);
  const ModelArith& m = s.model;
  const BvBool fit = m.offsets_fit_loff_t(g.offset, g.sizelimit);
  const UBv cap = m.capacity_sectors(g.bytes, g.offset, g.sizelimit);
  const UBv device_byte = m.device_bytes(g.sector);
  const UBv pos = m.backing_byte(device_byte, g.offset);
  // Device byte d of the window lives at offset + d of the file; the sector's 512
  // bytes fit the window when d + 512 <= window.
  const z3::expr inside_window =
      wide(pos) == wide(g.offset) + wide(g.sector) * wide(c, kSector) &&
      z3::ule(wide(g.sector) * wide(c, kSector) + wide(c, kSector), spec_window(g));
  return {fit.holds() && (g.sector < cap).holds() && !inside_window, g.inputs()};
}

// ---- model and driver agree -------------------------------------------------------------------

Query capacity_agrees(z3::context& c, const Subjects& s, const ProfilePair&) {
  const Geometry g(c);
  const BvBool fit_m = s.model.offsets_fit_loff_t(g.offset, g.sizelimit);
  const BvBool fit_d = s.driver.fits_loff_t(g.offset, g.sizelimit);
  const UBv cap_m = s.model.capacity_sectors(g.bytes, g.offset, g.sizelimit);
  const UBv cap_d =
      s.driver.capacity_in_sectors(as_signed(g.bytes), as_signed(g.offset), as_signed(g.sizelimit));
  const z3::expr differ =
      cap_m.value() != cap_d.value() ||
      s.model.device_bytes(cap_m).value() != s.driver.bytes_of_sectors(cap_d).value();
  return {is_file_size(g.bytes) && (fit_m.holds() != fit_d.holds() || (fit_m.holds() && differ)),
          g.inputs(false)};
}

Query mapping_agrees(z3::context& c, const Subjects& s, const ProfilePair&) {
  const Geometry g(c);
  const BvBool fit = s.model.offsets_fit_loff_t(g.offset, g.sizelimit);
  const UBv cap = s.model.capacity_sectors(g.bytes, g.offset, g.sizelimit);
  const UBv pos_m = s.model.backing_byte(s.model.device_bytes(g.sector), g.offset);
  const SBv pos_d = s.driver.backing_position(g.sector, as_signed(g.offset));
  return {is_file_size(g.bytes) && fit.holds() && (g.sector < cap).holds() &&
              pos_m.value() != pos_d.value(),
          g.inputs()};
}

// ---- block sizes ---------------------------------------------------------------------------

struct BlockSizeInputs {
  UBv arg, dflt;
  z3::expr thp;
  explicit BlockSizeInputs(z3::context& c)
      : arg(UBv::variable(c, "arg")),
        dflt(UBv::variable(c, "default_block_size")),
        thp(c.bool_const("thp")) {}
  // The default comes from a u32 (a block device's or statx's alignment).
  z3::expr domain() const { return z3::ule(dflt.value(), u64(arg.ctx(), kU32Max)); }
  std::vector<std::pair<std::string, z3::expr>> inputs() const {
    return {{"arg", arg.value()}, {"default_block_size", dflt.value()}, {"thp", thp}};
  }
};

// `violation(thp)` for both THP configurations, THP shown in the counterexample.
template <class F>
z3::expr either_thp(const BlockSizeInputs& in, F violation) {
  return z3::ite(in.thp, violation(true), violation(false));
}

Query model_block_size_set(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  const BlockSizeInputs in(c);
  const z3::expr violation = either_thp(in, [&](bool thp) {
    const auto choice =
        s.model.choose_block_size(in.arg, model::arith::block_size_rule(*pp.model, thp), in.dflt);
    return choice.accepted.holds() !=
           allowed_block_size(choice.value, spec_max_block_size(*pp.model, thp));
  });
  return {in.domain() && violation, in.inputs()};
}

Query driver_block_size_set(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  const BlockSizeInputs in(c);
  const z3::expr violation = either_thp(in, [&](bool thp) {
    const auto verdict = s.driver.set_block_size_verdict(
        in.arg, inproc::arith::whole_block_size_argument(*pp.driver),
        inproc::arith::max_block_size(*pp.driver, thp), in.dflt);
    return verdict.ok.holds() !=
           allowed_block_size(verdict.size, spec_max_block_size(*pp.model, thp));
  });
  return {in.domain() && violation, in.inputs()};
}

Query block_size_argument_kept(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  const BlockSizeInputs in(c);
  const z3::expr violation = either_thp(in, [&](bool thp) {
    const auto choice =
        s.model.choose_block_size(in.arg, model::arith::block_size_rule(*pp.model, thp), in.dflt);
    return choice.accepted.holds() && in.arg.value() != 0 && choice.value.value() != in.arg.value();
  });
  return {in.domain() && violation, in.inputs()};
}

Query block_size_agrees(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  const BlockSizeInputs in(c);
  const z3::expr violation = either_thp(in, [&](bool thp) {
    const auto choice =
        s.model.choose_block_size(in.arg, model::arith::block_size_rule(*pp.model, thp), in.dflt);
    const auto verdict = s.driver.set_block_size_verdict(
        in.arg, inproc::arith::whole_block_size_argument(*pp.driver),
        inproc::arith::max_block_size(*pp.driver, thp), in.dflt);
    return choice.accepted.holds() != verdict.ok.holds() ||
           (choice.accepted.holds() && choice.value.value() != verdict.size.value());
  });
  return {in.domain() && violation, in.inputs()};
}

// ---- direct I/O alignment ------------------------------------------------------------------

struct DioInputs {
  UBv block_size, offset, align;
  explicit DioInputs(z3::context& c)
      : block_size(UBv::variable(c, "block_size")),
        offset(UBv::variable(c, "offset")),
        align(UBv::variable(c, "dio_align")) {}
  // What reaches the check: a valid block size, an offset that passed EOVERFLOW, a u32 alignment.
  z3::expr domain(const model::Profile& p) const {
    z3::context& c = offset.ctx();
    return allowed_block_size(block_size, spec_max_block_size(p, true)) &&
           z3::ule(offset.value(), u64(c, kLoffMax)) && z3::ule(align.value(), u64(c, kU32Max));
  }
  std::vector<std::pair<std::string, z3::expr>> inputs() const {
    return {{"block_size", block_size.value()},
            {"offset", offset.value()},
            {"dio_align", align.value()}};
  }
};

Query dio_agrees(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  const DioInputs in(c);
  const BvBool m = s.model.dio_alignment_ok(in.block_size, in.offset, in.align);
  const BvBool d = s.driver.dio_aligned(in.block_size, in.offset, in.align);
  return {in.domain(*pp.model) && m.holds() != d.holds(), in.inputs()};
}

// With DIO allowed, every request aligned to the logical block size reaches the
// backing file at a position aligned to the DIO alignment. Alignments are powers of
// two (logical block sizes and statx dio_offset_align always are).
Query dio_backing_aligned(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  const DioInputs in(c);
  const UBv device_byte = UBv::variable(c, "device_byte");
  const z3::expr a = in.align.value();
  const z3::expr power_of_two = a != 0 && (a & (a - 1)) == 0;
  const BvBool ok = s.model.dio_alignment_ok(in.block_size, in.offset, in.align);
  const UBv pos = s.model.backing_byte(device_byte, in.offset);
  const z3::expr request_aligned = multiple_of_pow2(device_byte.value(), in.block_size.value()) &&
                                   z3::ule(device_byte.value(), u64(c, kLoffMax));
  auto inputs = in.inputs();
  inputs.emplace_back("device_byte", device_byte.value());
  return {in.domain(*pp.model) && power_of_two && ok.holds() && request_aligned &&
              !multiple_of_pow2(pos.value(), a),
          inputs};
}

// ---- whole logical blocks ----------------------------------------------------------------------

struct BlockGeometry {
  Geometry g;
  UBv block_size, device_byte;
  explicit BlockGeometry(z3::context& c)
      : g(c),
        block_size(UBv::variable(c, "block_size")),
        device_byte(UBv::variable(c, "device_byte")) {}
};

// Capacity in bytes is a whole number of logical blocks, and no logical block that
// starts inside the device runs past its end or past the window's end in the file.
Query whole_blocks(z3::context& c, const Subjects& s, const ProfilePair& pp,
                   bool offset_sizelimit_aligned, bool backing_aligned,
                   bool check_straddle = true) {
  const BlockGeometry b(c);
  const Geometry& g = b.g;
  const ModelArith& m = s.model;
  const z3::expr bs = b.block_size.value();
  const BvBool fit = m.offsets_fit_loff_t(g.offset, g.sizelimit);
  const UBv cap_bytes = m.device_bytes(m.capacity_sectors(g.bytes, g.offset, g.sizelimit));
  const UBv pos = m.backing_byte(b.device_byte, g.offset);
  const z3::expr block_end = wide(b.device_byte) + wide(b.block_size);
  const z3::expr straddles =
      multiple_of_pow2(b.device_byte.value(), bs) &&
      z3::ult(b.device_byte.value(), cap_bytes.value()) &&
      (z3::ugt(block_end, wide(cap_bytes)) || z3::ugt(block_end, spec_window(g)));
  z3::expr premise =
      fit.holds() && allowed_block_size(b.block_size, spec_max_block_size(*pp.model, true));
  if (offset_sizelimit_aligned)
    premise = premise && multiple_of_pow2(g.offset.value(), bs) &&
              multiple_of_pow2(g.sizelimit.value(), bs);
  if (backing_aligned) premise = premise && multiple_of_pow2(g.bytes.value(), bs);
  auto inputs = g.inputs(false);
  inputs.emplace_back("block_size", bs);
  inputs.emplace_back("device_byte", b.device_byte.value());
  return {premise && (!multiple_of_pow2(cap_bytes.value(), bs) || (check_straddle && straddles)),
          inputs};
}

Query whole_blocks_any(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  return whole_blocks(c, s, pp, false, false);
}
Query whole_blocks_aligned_offset_sizelimit(z3::context& c, const Subjects& s,
                                            const ProfilePair& pp) {
  return whole_blocks(c, s, pp, true, false);
}
Query whole_blocks_aligned_geometry(z3::context& c, const Subjects& s, const ProfilePair& pp) {
  return whole_blocks(c, s, pp, true, true, true);
}

constexpr std::string_view kNotRounded =
    "Linux does not round capacity to the logical block size (spec 4): the window's partial last "
    "block stays "
    "visible and I/O touching it fails with EIO";

const std::array kProperties{
    Property{"model.no-wrap",
             "model: capacity, capacity*512, the mapping of every sector inside capacity, the "
             "block-size choice and "
             "the DIO alignment check never wrap for any input that passes validation",
             always_proved,
             {},
             model_no_wrap},
    Property{"driver.no-overflow",
             "driver: the same computations in loff_t never overflow, convert lossily or divide by "
             "zero for any "
             "input that passes validation (file sizes 0..LLONG_MAX)",
             always_proved,
             {},
             driver_no_overflow},
    Property{"model.capacity-within-backing",
             "capacity*512 <= the backing bytes past the offset (0 past EOF)",
             always_proved,
             {},
             capacity_within_backing},
    Property{"model.capacity-within-sizelimit",
             "capacity*512 <= sizelimit whenever sizelimit is set",
             always_proved,
             {},
             capacity_within_sizelimit},
    Property{"model.mapping-inside-window",
             "every sector inside capacity maps to 512 bytes inside [offset, offset + window) of "
             "the backing file",
             always_proved,
             {},
             mapping_inside_window},
    Property{"model-driver.capacity-agrees",
             "model and driver accept the same offsets and sizelimits and compute the same "
             "capacity and byte size",
             always_proved,
             {},
             capacity_agrees},
    Property{"model-driver.mapping-agrees",
             "model and driver map every sector inside capacity to the same byte",
             always_proved,
             {},
             mapping_agrees},
    Property{"model.block-size-set",
             "LOOP_SET_BLOCK_SIZE accepts exactly the block sizes that are powers of two from 512 "
             "to the profile's "
             "maximum (4096, or 65536 with THP on 6.15+)",
             always_proved,
             {},
             model_block_size_set},
    Property{"driver.block-size-set",
             "the driver's LOOP_SET_BLOCK_SIZE accepts exactly the same powers of two",
             always_proved,
             {},
             driver_block_size_set},
    Property{"model-driver.block-size-agrees",
             "model and driver accept the same LOOP_SET_BLOCK_SIZE arguments and set the same "
             "block size",
             always_proved,
             {},
             block_size_agrees},
    Property{"model.block-size-argument-kept",
             "an accepted nonzero LOOP_SET_BLOCK_SIZE argument is the block size that is set",
             proved_if_whole_argument,
             "since 6.12.2 the argument is truncated to 32 bits before validation (spec 3.8 step "
             "6: 2^32+2048 sets "
             "2048; 2^32 selects the default)",
             block_size_argument_kept},
    Property{"model-driver.dio-agrees",
             "model and driver agree on the DIO alignment check",
             always_proved,
             {},
             dio_agrees},
    Property{"model.dio-backing-aligned",
             "with DIO allowed, every logical-block-aligned request reaches the backing file "
             "aligned to the DIO "
             "alignment",
             always_proved,
             {},
             dio_backing_aligned},
    Property{"model.whole-blocks.any-geometry",
             "capacity is a whole number of logical blocks for every offset and sizelimit",
             always_counterexample, kNotRounded, whole_blocks_any},
    Property{"model.whole-blocks.aligned-offset-sizelimit",
             "with offset and sizelimit aligned to the logical block size, capacity is a whole "
             "number of logical "
             "blocks",
             always_counterexample,
             "an unset sizelimit (0), or one past the end of the file, leaves the window ending at "
             "an unaligned "
             "backing-file size; Linux does not round (spec 4)",
             whole_blocks_aligned_offset_sizelimit},
    Property{"model.whole-blocks.aligned-geometry",
             "with offset, sizelimit and backing size aligned to the logical block size, capacity "
             "is a whole number "
             "of logical blocks and no logical block straddles the window's end",
             always_proved,
             {},
             whole_blocks_aligned_geometry},
};

}  // namespace

std::string_view result_name(Result r) {
  switch (r) {
    case Result::Proved:
      return "proved";
    case Result::Counterexample:
      return "counterexample";
    case Result::Unknown:
      return "unknown";
  }
  return "?";
}

ProfilePair profile_pair(std::string_view name) {
  const model::Profile* m = model::find_profile(name);
  const inproc::DriverProfile* d = name.empty() ? nullptr : inproc::find_profile(name);
  if (!m || !d) return {nullptr, nullptr};
  return {m, d};
}

std::span<const Property> properties() {
  return kProperties;
}

const Property* find_property(std::string_view name) {
  for (const Property& p : kProperties)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace loopcheck::proofs
