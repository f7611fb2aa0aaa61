// dtypes: the ABI's DLPack-aligned codes, C++ types per dtype, and torch's promotion lattice.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "core/error.h"
#include "core/half.h"
#include "vt/c/dtype.h"

namespace vt {

enum class ScalarType : int32_t {
  Bool = VT_DTYPE_BOOL,
  UInt8 = VT_DTYPE_UINT8,
  Int8 = VT_DTYPE_INT8,
  Int16 = VT_DTYPE_INT16,
  Int32 = VT_DTYPE_INT32,
  Int64 = VT_DTYPE_INT64,
  Float16 = VT_DTYPE_FLOAT16,
  BFloat16 = VT_DTYPE_BFLOAT16,
  Float32 = VT_DTYPE_FLOAT32,
  Float64 = VT_DTYPE_FLOAT64,
};

inline constexpr int kNumScalarTypes = 10;

// Dense 0..9 index for tables; -1 for a code that is not a dtype.
constexpr int dtype_index(ScalarType t) {
  switch (t) {
    case ScalarType::Bool: return 0;
    case ScalarType::UInt8: return 1;
    case ScalarType::Int8: return 2;
    case ScalarType::Int16: return 3;
    case ScalarType::Int32: return 4;
    case ScalarType::Int64: return 5;
    case ScalarType::Float16: return 6;
    case ScalarType::BFloat16: return 7;
    case ScalarType::Float32: return 8;
    case ScalarType::Float64: return 9;
  }
  return -1;
}

inline bool is_valid_dtype(int32_t code) { return dtype_index(static_cast<ScalarType>(code)) >= 0; }
inline int64_t itemsize(ScalarType t) { return (static_cast<int32_t>(t) & 0xff) / 8; }
inline bool is_floating(ScalarType t) {
  return t == ScalarType::Float16 || t == ScalarType::BFloat16 || t == ScalarType::Float32 ||
         t == ScalarType::Float64;
}
inline bool is_integral(ScalarType t, bool include_bool) {
  return (t == ScalarType::Bool) ? include_bool : !is_floating(t);
}
inline bool is_reduced_float(ScalarType t) {
  return t == ScalarType::Float16 || t == ScalarType::BFloat16;
}

const char* dtype_name(ScalarType t);  // "float32"
ScalarType promote_types(ScalarType a, ScalarType b);
ScalarType checked_dtype(int32_t code);  // throws TypeError for an unknown code

// The C++ element type of each dtype, and back.
template <ScalarType T> struct cpp_type;
template <> struct cpp_type<ScalarType::Bool> { using type = bool; };
template <> struct cpp_type<ScalarType::UInt8> { using type = uint8_t; };
template <> struct cpp_type<ScalarType::Int8> { using type = int8_t; };
template <> struct cpp_type<ScalarType::Int16> { using type = int16_t; };
template <> struct cpp_type<ScalarType::Int32> { using type = int32_t; };
template <> struct cpp_type<ScalarType::Int64> { using type = int64_t; };
template <> struct cpp_type<ScalarType::Float16> { using type = Half; };
template <> struct cpp_type<ScalarType::BFloat16> { using type = BFloat16; };
template <> struct cpp_type<ScalarType::Float32> { using type = float; };
template <> struct cpp_type<ScalarType::Float64> { using type = double; };

// The type arithmetic runs in: float for 16-bit floats, the type itself otherwise.
template <typename T> struct opmath { using type = T; };
template <> struct opmath<Half> { using type = float; };
template <> struct opmath<BFloat16> { using type = float; };
template <typename T> using opmath_t = typename opmath<T>::type;

// Calls fn(T{}) with T the element type of dtype.
template <typename Fn>
decltype(auto) visit_dtype(ScalarType dtype, Fn&& fn) {
  switch (dtype) {
    case ScalarType::Bool: return fn(bool{});
    case ScalarType::UInt8: return fn(uint8_t{});
    case ScalarType::Int8: return fn(int8_t{});
    case ScalarType::Int16: return fn(int16_t{});
    case ScalarType::Int32: return fn(int32_t{});
    case ScalarType::Int64: return fn(int64_t{});
    case ScalarType::Float16: return fn(Half{});
    case ScalarType::BFloat16: return fn(BFloat16{});
    case ScalarType::Float32: return fn(float{});
    case ScalarType::Float64: return fn(double{});
  }
  fail(VT_ERROR_TYPE, "unknown dtype code ", static_cast<int32_t>(dtype));
}

}  // namespace vt
