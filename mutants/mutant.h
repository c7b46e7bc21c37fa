// A mutant of one C source file (drivers/block/loop.c): one or two textual
// edits at byte offsets of the original, made by one mutation operator inside
// one function. Mutants are values: the generator makes them, apply_mutant()
// turns one into a loop.c, the runner builds and runs that, the report prints it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loopcheck::mutants {

// The operators of issue #14, in report order.
enum class Operator : uint8_t {
  Relational,        // <  <=  >  >=  ==  != replaced by a neighbour
  Arithmetic,        // +  -  *  /  <<  >>  +=  -= replaced by their inverse
  ErrnoConstant,     // -EINVAL -> -EBUSY ..., another errno a caller could see
  NegatedCondition,  // if (c) -> if (!(c))
  DeletedGuard,      // if (c) return -E...; / if (c) goto out; removed
  OffByOne,          // an integer literal in size/offset arithmetic, +1 or -1
  SwappedFlag,       // LO_FLAGS_*, FMODE_* ... replaced by a sibling flag
};
inline constexpr int kOperatorCount = static_cast<int>(Operator::SwappedFlag) + 1;
std::string_view operator_name(Operator op);  // "relational", "errno", ...

struct Edit {
  uint32_t offset = 0;  // byte offset into the original source
  uint32_t length = 0;  // bytes replaced
  std::string text;     // what replaces them
};

struct Mutant {
  uint32_t id = 0;  // 1-based, in source order after selection
  Operator op = Operator::Relational;
  std::string function;     // the function the edit sits in
  uint32_t line = 0;        // 1-based line of the first edit
  uint32_t column = 0;      // 1-based column of the first edit
  std::vector<Edit> edits;  // non-overlapping, ascending offsets
  std::string original;     // the original text of the first edit's span
  std::string replacement;  // what the first edit puts there
};

// The mutated source; edits must lie inside `source` (checked: false + why).
bool apply_mutant(std::string_view source, const Mutant& mutant, std::string* out,
                  std::string* why);

// A unified diff (3 lines of context) between the original and the mutant,
// with `a/drivers/block/loop.c` style headers naming `path`.
std::string mutant_diff(std::string_view source, const Mutant& mutant, std::string_view path);

// A stable one-line description: "loop_clr_fd:1234:8 errno -ENXIO -> -EINVAL".
std::string describe(const Mutant& mutant);

}  // namespace loopcheck::mutants
