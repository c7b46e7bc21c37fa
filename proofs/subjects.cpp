#include "proofs/subjects.h"

namespace loopcheck::proofs {

Subjects real_subjects() {
  namespace m = model::arith;
  namespace d = inproc::arith;
  Subjects s;
  s.model.offsets_fit_loff_t = [](const UBv& o, const UBv& l) {
    return m::offsets_fit_loff_t(o, l);
  };
  s.model.capacity_sectors = [](const UBv& b, const UBv& o, const UBv& l) {
    return m::capacity_sectors(b, o, l);
  };
  s.model.device_bytes = [](const UBv& n) { return m::device_bytes(n); };
  s.model.backing_byte = [](const UBv& b, const UBv& o) { return m::backing_byte(b, o); };
  s.model.valid_block_size = [](const UBv& bs, uint64_t max) {
    return m::valid_block_size(bs, max);
  };
  s.model.choose_block_size = [](const UBv& arg, const m::BlockSizeRule& rule, const UBv& dflt) {
    return m::choose_block_size(arg, rule, dflt);
  };
  s.model.dio_alignment_ok = [](const UBv& bs, const UBv& o, const UBv& a) {
    return m::dio_alignment_ok(bs, o, a);
  };

  s.driver.fits_loff_t = [](const UBv& o, const UBv& l) { return d::fits_loff_t(o, l); };
  s.driver.capacity_in_sectors = [](const SBv& f, const SBv& o, const SBv& l) {
    return d::capacity_in_sectors(f, o, l);
  };
  s.driver.bytes_of_sectors = [](const UBv& n) { return d::bytes_of_sectors(n); };
  s.driver.backing_position = [](const UBv& sector, const SBv& o) {
    return d::backing_position(sector, o);
  };
  s.driver.set_block_size_verdict = [](const UBv& arg, bool whole, uint64_t max, const UBv& dflt) {
    return d::set_block_size_verdict(arg, whole, max, dflt);
  };
  s.driver.dio_aligned = [](const UBv& bs, const UBv& o, const UBv& a) {
    return d::dio_aligned(bs, o, a);
  };
  return s;
}

}  // namespace loopcheck::proofs
