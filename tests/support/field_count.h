// How many fields an aggregate has: the longest brace list of "anything" it
// accepts. Tests use it to fail when a struct gains a field that a list beside it
// (profile switches, their listing) does not name.
#pragma once

#include <cstddef>

namespace loopcheck::testing_support {

struct AnyField {
  template <class T>
  constexpr operator T() const {
    return T{};
  }
};

template <class T, class... Fields>
constexpr size_t field_count() {
  if constexpr (requires { T{Fields{}..., AnyField{}}; })
    return field_count<T, Fields..., AnyField>();
  else
    return sizeof...(Fields);
}

}  // namespace loopcheck::testing_support
