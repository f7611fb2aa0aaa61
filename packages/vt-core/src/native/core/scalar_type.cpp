#include "core/scalar_type.h"

namespace vt {

const char* dtype_name(ScalarType t) {
  switch (t) {
    case ScalarType::Bool: return "bool";
    case ScalarType::UInt8: return "uint8";
    case ScalarType::Int8: return "int8";
    case ScalarType::Int16: return "int16";
    case ScalarType::Int32: return "int32";
    case ScalarType::Int64: return "int64";
    case ScalarType::Float16: return "float16";
    case ScalarType::BFloat16: return "bfloat16";
    case ScalarType::Float32: return "float32";
    case ScalarType::Float64: return "float64";
  }
  return "unknown";
}

ScalarType checked_dtype(int32_t code) {
  if (!is_valid_dtype(code)) fail(VT_ERROR_TYPE, "unknown dtype code ", code);
  return static_cast<ScalarType>(code);
}

ScalarType promote_types(ScalarType a, ScalarType b) {
  using S = ScalarType;
  // torch's lattice in dense-index order: b1 u1 i1 i2 i4 i8 f2 bf f4 f8.
  static constexpr S table[kNumScalarTypes][kNumScalarTypes] = {
      /* b1 */ {S::Bool, S::UInt8, S::Int8, S::Int16, S::Int32, S::Int64, S::Float16, S::BFloat16, S::Float32, S::Float64},
      /* u1 */ {S::UInt8, S::UInt8, S::Int16, S::Int16, S::Int32, S::Int64, S::Float16, S::BFloat16, S::Float32, S::Float64},
      /* i1 */ {S::Int8, S::Int16, S::Int8, S::Int16, S::Int32, S::Int64, S::Float16, S::BFloat16, S::Float32, S::Float64},
      /* i2 */ {S::Int16, S::Int16, S::Int16, S::Int16, S::Int32, S::Int64, S::Float16, S::BFloat16, S::Float32, S::Float64},
      /* i4 */ {S::Int32, S::Int32, S::Int32, S::Int32, S::Int32, S::Int64, S::Float16, S::BFloat16, S::Float32, S::Float64},
      /* i8 */ {S::Int64, S::Int64, S::Int64, S::Int64, S::Int64, S::Int64, S::Float16, S::BFloat16, S::Float32, S::Float64},
      /* f2 */ {S::Float16, S::Float16, S::Float16, S::Float16, S::Float16, S::Float16, S::Float16, S::Float32, S::Float32, S::Float64},
      /* bf */ {S::BFloat16, S::BFloat16, S::BFloat16, S::BFloat16, S::BFloat16, S::BFloat16, S::Float32, S::BFloat16, S::Float32, S::Float64},
      /* f4 */ {S::Float32, S::Float32, S::Float32, S::Float32, S::Float32, S::Float32, S::Float32, S::Float32, S::Float32, S::Float64},
      /* f8 */ {S::Float64, S::Float64, S::Float64, S::Float64, S::Float64, S::Float64, S::Float64, S::Float64, S::Float64, S::Float64},
  };
  return table[dtype_index(a)][dtype_index(b)];
}

}  // namespace vt
