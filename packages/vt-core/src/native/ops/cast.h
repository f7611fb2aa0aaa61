// Element conversion between dtypes with torch's semantics (16-bit floats go through float).
#pragma once

#include <type_traits>

#include "core/half.h"
#include "core/scalar_type.h"

namespace vt {

template <typename T>
inline constexpr bool is_reduced_float_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <typename To, typename From>
inline To cast_value(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return static_cast<opmath_t<From>>(v) != 0;
  } else if constexpr (is_reduced_float_v<To>) {
    return To(static_cast<float>(static_cast<opmath_t<From>>(v)));
  } else if constexpr (is_reduced_float_v<From>) {
    return static_cast<To>(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace vt
