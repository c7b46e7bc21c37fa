// The value types the arithmetic templates (model/arith.h, inproc/arith.h)
// are instantiated with for proof: 64-bit Z3 bit-vectors that behave like uint64_t
// (UBv) or int64_t (SBv), and the conditions their comparisons give (BvBool).
//
// Each value also carries `wrapped`: a Z3 condition saying "some operation that
// produced this value wrapped, overflowed, divided by zero or changed its value in
// a signed/unsigned conversion". It is propagated eagerly — both arms of a select,
// both sides of && and || — because the running code computes both arms of a
// select too, and for int64_t an overflow is undefined behaviour even when its
// result is thrown away. So "wrapped is false" means "this computation, as it runs
// on 64-bit integers, never left the integers".
//
// Only the operations the templates need exist; a template that uses another one
// does not compile for proof, which is the point.
#pragma once

#include <z3++.h>

#include <cstdint>
#include <type_traits>

namespace loopcheck::proofs {

inline constexpr unsigned kBits = 64;

class BvBool {
 public:
  BvBool(z3::expr holds, z3::expr wrapped)
      : holds_(std::move(holds)), wrapped_(std::move(wrapped)) {}
  const z3::expr& holds() const { return holds_; }
  const z3::expr& wrapped() const { return wrapped_; }

  friend BvBool operator&&(const BvBool& a, const BvBool& b) {
    return {a.holds_ && b.holds_, a.wrapped_ || b.wrapped_};
  }
  friend BvBool operator||(const BvBool& a, const BvBool& b) {
    return {a.holds_ || b.holds_, a.wrapped_ || b.wrapped_};
  }
  friend BvBool operator!(const BvBool& a) { return {!a.holds_, a.wrapped_}; }

 private:
  z3::expr holds_;
  z3::expr wrapped_;
};

template <bool Signed>
class Bv {
 public:
  using Native = std::conditional_t<Signed, int64_t, uint64_t>;

  Bv(z3::expr value, z3::expr wrapped) : value_(std::move(value)), wrapped_(std::move(wrapped)) {}
  static Bv variable(z3::context& ctx, const char* name) {
    return {ctx.bv_const(name, kBits), ctx.bool_val(false)};
  }
  static Bv constant(z3::context& ctx, Native v) {
    return {ctx.bv_val(static_cast<uint64_t>(v), kBits), ctx.bool_val(false)};
  }

  const z3::expr& value() const { return value_; }
  const z3::expr& wrapped() const { return wrapped_; }
  z3::context& ctx() const { return value_.ctx(); }

  // ---- arithmetic: the result is exact iff its extension equals the operation done wide
  friend Bv operator+(const Bv& a, const Bv& b) {
    return exact(a, b, widen(a.value_, 1) + widen(b.value_, 1), 1);
  }
  friend Bv operator-(const Bv& a, const Bv& b) {
    return exact(a, b, widen(a.value_, 1) - widen(b.value_, 1), 1);
  }
  friend Bv operator*(const Bv& a, const Bv& b) {
    return exact(a, b, widen(a.value_, kBits) * widen(b.value_, kBits), kBits);
  }
  friend Bv operator/(const Bv& a, const Bv& b) {
    return {Signed ? a.value_ / b.value_ : z3::udiv(a.value_, b.value_),
            a.wrapped_ || b.wrapped_ || undefined_division(a, b)};
  }
  friend Bv operator%(const Bv& a, const Bv& b) {
    return {Signed ? z3::srem(a.value_, b.value_) : z3::urem(a.value_, b.value_),
            a.wrapped_ || b.wrapped_ || undefined_division(a, b)};
  }
  friend Bv operator&(const Bv& a, const Bv& b) {
    return {a.value_ & b.value_, a.wrapped_ || b.wrapped_};
  }

  // Shifts by a constant, as the templates use them. << is unsigned only (a signed
  // left shift of a negative value is undefined); it wraps when it drops a set bit.
  friend Bv operator<<(const Bv& a, unsigned n) {
    static_assert(!Signed, "left shifts of signed values are not used by the templates");
    check_shift(n);
    const z3::expr dropped = z3::lshr(a.value_, a.ctx().bv_val(kBits - n, kBits));
    return {z3::shl(a.value_, a.ctx().bv_val(n, kBits)),
            a.wrapped_ || (n > 0 ? dropped != 0 : a.ctx().bool_val(false))};
  }
  friend Bv operator>>(const Bv& a, unsigned n) {
    check_shift(n);
    const z3::expr count = a.ctx().bv_val(n, kBits);
    return {Signed ? z3::ashr(a.value_, count) : z3::lshr(a.value_, count), a.wrapped_};
  }

  // ---- comparisons
  friend BvBool operator<(const Bv& a, const Bv& b) {
    return cmp(a, b, Signed ? a.value_ < b.value_ : z3::ult(a.value_, b.value_));
  }
  friend BvBool operator<=(const Bv& a, const Bv& b) {
    return cmp(a, b, Signed ? a.value_ <= b.value_ : z3::ule(a.value_, b.value_));
  }
  friend BvBool operator>(const Bv& a, const Bv& b) { return b < a; }
  friend BvBool operator>=(const Bv& a, const Bv& b) { return b <= a; }
  friend BvBool operator==(const Bv& a, const Bv& b) { return cmp(a, b, a.value_ == b.value_); }
  friend BvBool operator!=(const Bv& a, const Bv& b) { return cmp(a, b, a.value_ != b.value_); }

  // ---- a plain integer on either side, as the templates write constants
#define LOOPCHECK_BV_MIXED(op, R)               \
  friend R operator op(const Bv& a, Native b) { \
    return a op constant(a.ctx(), b);           \
  }                                             \
  friend R operator op(Native a, const Bv& b) { \
    return constant(b.ctx(), a) op b;           \
  }
  LOOPCHECK_BV_MIXED(+, Bv)
  LOOPCHECK_BV_MIXED(-, Bv)
  LOOPCHECK_BV_MIXED(*, Bv)
  LOOPCHECK_BV_MIXED(/, Bv)
  LOOPCHECK_BV_MIXED(%, Bv)
  LOOPCHECK_BV_MIXED(&, Bv)
  LOOPCHECK_BV_MIXED(<, BvBool)
  LOOPCHECK_BV_MIXED(<=, BvBool)
  LOOPCHECK_BV_MIXED(>, BvBool)
  LOOPCHECK_BV_MIXED(>=, BvBool)
  LOOPCHECK_BV_MIXED(==, BvBool)
  LOOPCHECK_BV_MIXED(!=, BvBool)
#undef LOOPCHECK_BV_MIXED

  // ---- the branch the templates write instead of if / ?: (both arms count)
  friend Bv select(const BvBool& c, const Bv& a, const Bv& b) {
    return {z3::ite(c.holds(), a.value_, b.value_), c.wrapped() || a.wrapped_ || b.wrapped_};
  }
  friend Bv select(const BvBool& c, Native a, const Bv& b) {
    return select(c, constant(b.ctx(), a), b);
  }
  friend Bv select(const BvBool& c, const Bv& a, Native b) {
    return select(c, a, constant(a.ctx(), b));
  }

 private:
  // `extra` bits more: 1 holds any sum or difference of two 64-bit values, 64 any
  // product, so the wide operation is exact and the 64-bit result wrapped iff it
  // differs from it. (Narrower is cheaper for the solver than one width for all.)
  static z3::expr widen(const z3::expr& v, unsigned extra) {
    return Signed ? z3::sext(v, extra) : z3::zext(v, extra);
  }

  static Bv exact(const Bv& a, const Bv& b, const z3::expr& wide, unsigned extra) {
    const z3::expr narrow = wide.extract(kBits - 1, 0);
    return {narrow, a.wrapped_ || b.wrapped_ || widen(narrow, extra) != wide};
  }
  static z3::expr undefined_division(const Bv& a, const Bv& b) {
    z3::expr by_zero = b.value_ == 0;
    if constexpr (Signed) {
      // INT64_MIN / -1 does not fit either.
      by_zero = by_zero || (a.value_ == a.ctx().bv_val(uint64_t{1} << 63, kBits) &&
                            b.value_ == a.ctx().bv_val(~uint64_t{0}, kBits));
    }
    return by_zero;
  }
  static BvBool cmp(const Bv& a, const Bv& b, z3::expr holds) {
    return {std::move(holds), a.wrapped_ || b.wrapped_};
  }
  static void check_shift(unsigned n) {
    if (n >= kBits) throw z3::exception("shift count out of range in a proof template");
  }

  z3::expr value_;
  z3::expr wrapped_;
};

using UBv = Bv<false>;
using SBv = Bv<true>;

// The conversions the driver makes between u64 ioctl fields and loff_t. C++20
// defines them modulo 2^64, but a value that does not survive is counted as a wrap:
// a negative offset or a capacity above LLONG_MAX would be a bug all the same.
inline SBv as_signed(const UBv& a) {
  return {a.value(), a.wrapped() || z3::ugt(a.value(), a.ctx().bv_val(uint64_t{INT64_MAX}, kBits))};
}
inline UBv as_unsigned(const SBv& a) {
  return {a.value(), a.wrapped() || a.value() < 0};
}

}  // namespace loopcheck::proofs
