// A host scalar (Python number) as it travels into ops: never a device tensor.
#pragma once

#include <cstdint>

#include "core/scalar_type.h"

namespace vt {

class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Int, Double };

  Scalar() : kind_(Kind::Int), i_(0) {}
  Scalar(double v) : kind_(Kind::Double), d_(v) {}         // NOLINT
  Scalar(int64_t v) : kind_(Kind::Int), i_(v) {}           // NOLINT
  Scalar(int v) : kind_(Kind::Int), i_(v) {}               // NOLINT
  static Scalar from_bool(bool v) { Scalar s; s.kind_ = Kind::Bool; s.i_ = v; return s; }

  Kind kind() const { return kind_; }
  bool is_floating() const { return kind_ == Kind::Double; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  double to_double() const { return kind_ == Kind::Double ? d_ : double(i_); }
  int64_t to_int() const { return kind_ == Kind::Double ? int64_t(d_) : i_; }
  bool to_bool() const { return kind_ == Kind::Double ? d_ != 0.0 : i_ != 0; }

  // The dtype a Python number of this kind contributes to promotion (its category's default).
  ScalarType natural_dtype() const {
    switch (kind_) {
      case Kind::Bool: return ScalarType::Bool;
      case Kind::Int: return ScalarType::Int64;
      case Kind::Double: return ScalarType::Float64;
    }
    return ScalarType::Int64;
  }

  template <typename T>
  T to() const {
    if constexpr (std::is_same_v<T, bool>) return to_bool();
    else if constexpr (std::is_integral_v<T>) return static_cast<T>(to_int());
    else return static_cast<T>(static_cast<opmath_t<T>>(to_double()));
  }

 private:
  Kind kind_;
  union {
    int64_t i_;
    double d_;
  };
};

}  // namespace vt
