// The arithmetic under proof: the templates of model/arith.h and
// inproc/arith.h, instantiated with the Z3 types of bv.h. Properties reach
// them only through these tables, so a test can swap in a deliberately broken
// variant and check that some property catches it (tests/proofs/mutation_test.cpp).
#pragma once

#include <cstdint>
#include <functional>

#include "inproc/arith.h"
#include "model/arith.h"
#include "proofs/bv.h"

namespace loopcheck::proofs {

struct ModelArith {
  std::function<BvBool(const UBv& offset, const UBv& sizelimit)> offsets_fit_loff_t;
  std::function<UBv(const UBv& backing_bytes, const UBv& offset, const UBv& sizelimit)>
      capacity_sectors;
  std::function<UBv(const UBv& sectors)> device_bytes;
  std::function<UBv(const UBv& device_byte, const UBv& offset)> backing_byte;
  std::function<BvBool(const UBv& bs, uint64_t max)> valid_block_size;
  std::function<model::arith::BlockSizeChoice<UBv, BvBool>(
      const UBv& arg, const model::arith::BlockSizeRule& rule, const UBv& default_bs)>
      choose_block_size;
  std::function<BvBool(const UBv& block_size, const UBv& offset, const UBv& align)>
      dio_alignment_ok;
};

struct DriverArith {
  std::function<BvBool(const UBv& offset, const UBv& sizelimit)> fits_loff_t;
  std::function<UBv(const SBv& file_size, const SBv& offset, const SBv& sizelimit)>
      capacity_in_sectors;
  std::function<UBv(const UBv& sectors)> bytes_of_sectors;
  std::function<SBv(const UBv& sector, const SBv& offset)> backing_position;
  std::function<inproc::arith::BlockSizeVerdict<UBv, BvBool>(const UBv& arg, bool whole_argument,
                                                             uint64_t max, const UBv& default_bs)>
      set_block_size_verdict;
  std::function<BvBool(const UBv& block_size, const UBv& offset, const UBv& align)> dio_aligned;
};

struct Subjects {
  ModelArith model;
  DriverArith driver;
};

// The code that runs: every entry is the real template.
Subjects real_subjects();

}  // namespace loopcheck::proofs
