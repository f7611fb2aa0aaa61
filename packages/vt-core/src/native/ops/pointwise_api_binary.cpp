// The public C++ functions of the pointwise family's binary and ternary ops: each a cached
// typed handle into the dispatcher. (The functional and in-place add/sub/mul/div, rsub and
// rdiv live in ops.cpp.)
#include "dispatch/dispatcher.h"
#include "ops/pointwise.h"

namespace vt {

#define VT_PW_HANDLE(name, sig) static const OpHandle<sig> op(name)

using Mode = std::optional<std::string_view>;
using SigTT = Tensor(const Tensor&, const Tensor&);
using SigTS = Tensor(const Tensor&, const Scalar&);
using SigTTT = Tensor(const Tensor&, const Tensor&, const Tensor&);

const Tensor& add_out(const Tensor& out, const Tensor& self, const Tensor& other,
                      const Scalar& alpha) {
  VT_PW_HANDLE("vt::add.out", Tensor(const Tensor&, const Tensor&, const Scalar&, const Tensor&));
  op(self, other, alpha, out);
  return out;
}
const Tensor& sub_out(const Tensor& out, const Tensor& self, const Tensor& other,
                      const Scalar& alpha) {
  VT_PW_HANDLE("vt::sub.out", Tensor(const Tensor&, const Tensor&, const Scalar&, const Tensor&));
  op(self, other, alpha, out);
  return out;
}
const Tensor& mul_out(const Tensor& out, const Tensor& self, const Tensor& other) {
  VT_PW_HANDLE("vt::mul.out", SigTTT);
  op(self, other, out);
  return out;
}
const Tensor& div_out(const Tensor& out, const Tensor& self, const Tensor& other) {
  VT_PW_HANDLE("vt::div.out", SigTTT);
  op(self, other, out);
  return out;
}

Tensor div(const Tensor& self, const Tensor& other, Mode rounding_mode) {
  VT_PW_HANDLE("vt::div.Tensor_mode", Tensor(const Tensor&, const Tensor&, Mode));
  return op(self, other, rounding_mode);
}
Tensor div(const Tensor& self, const Scalar& other, Mode rounding_mode) {
  VT_PW_HANDLE("vt::div.Scalar_mode", Tensor(const Tensor&, const Scalar&, Mode));
  return op(self, other, rounding_mode);
}
const Tensor& div_(const Tensor& self, const Tensor& other, Mode rounding_mode) {
  VT_PW_HANDLE("vt::div_.Tensor_mode", Tensor(const Tensor&, const Tensor&, Mode));
  op(self, other, rounding_mode);
  return self;
}
const Tensor& div_(const Tensor& self, const Scalar& other, Mode rounding_mode) {
  VT_PW_HANDLE("vt::div_.Scalar_mode", Tensor(const Tensor&, const Scalar&, Mode));
  op(self, other, rounding_mode);
  return self;
}
const Tensor& div_out(const Tensor& out, const Tensor& self, const Tensor& other,
                      Mode rounding_mode) {
  VT_PW_HANDLE("vt::div.out_mode", Tensor(const Tensor&, const Tensor&, Mode, const Tensor&));
  op(self, other, rounding_mode, out);
  return out;
}

// name.Tensor, name_.Tensor, name.out; with a number: name.Scalar, name_.Scalar.
#define VT_BINARY_TENSOR(name)                                                        \
  Tensor name(const Tensor& self, const Tensor& other) {                              \
    VT_PW_HANDLE("vt::" #name ".Tensor", SigTT);                                      \
    return op(self, other);                                                           \
  }                                                                                   \
  const Tensor& name##_out(const Tensor& out, const Tensor& self, const Tensor& other) { \
    VT_PW_HANDLE("vt::" #name ".out", SigTTT);                                        \
    op(self, other, out);                                                             \
    return out;                                                                       \
  }
#define VT_BINARY(name)                                                               \
  VT_BINARY_TENSOR(name)                                                              \
  const Tensor& name##_(const Tensor& self, const Tensor& other) {                    \
    VT_PW_HANDLE("vt::" #name "_.Tensor", SigTT);                                     \
    op(self, other);                                                                  \
    return self;                                                                      \
  }
#define VT_BINARY_SCALAR(name)                                                        \
  VT_BINARY(name)                                                                     \
  Tensor name(const Tensor& self, const Scalar& other) {                              \
    VT_PW_HANDLE("vt::" #name ".Scalar", SigTS);                                      \
    return op(self, other);                                                           \
  }                                                                                   \
  const Tensor& name##_(const Tensor& self, const Scalar& other) {                    \
    VT_PW_HANDLE("vt::" #name "_.Scalar", SigTS);                                     \
    op(self, other);                                                                  \
    return self;                                                                      \
  }

VT_BINARY_SCALAR(clamp_min)
VT_BINARY_SCALAR(clamp_max)
VT_BINARY_SCALAR(floor_divide)
VT_BINARY_SCALAR(remainder)
VT_BINARY_SCALAR(fmod)
VT_BINARY_SCALAR(pow)
VT_BINARY_SCALAR(eq)
VT_BINARY_SCALAR(ne)
VT_BINARY_SCALAR(lt)
VT_BINARY_SCALAR(le)
VT_BINARY_SCALAR(gt)
VT_BINARY_SCALAR(ge)
VT_BINARY_SCALAR(bitwise_and)
VT_BINARY_SCALAR(bitwise_or)
VT_BINARY_SCALAR(bitwise_xor)
VT_BINARY_SCALAR(bitwise_left_shift)
VT_BINARY_SCALAR(bitwise_right_shift)
VT_BINARY(atan2)
VT_BINARY(logical_and)
VT_BINARY(logical_or)
VT_BINARY(logical_xor)
VT_BINARY_TENSOR(maximum)
VT_BINARY_TENSOR(minimum)

#undef VT_BINARY_SCALAR
#undef VT_BINARY
#undef VT_BINARY_TENSOR

Tensor pow(const Scalar& self, const Tensor& exponent) {
  VT_PW_HANDLE("vt::pow.Scalar_Tensor", Tensor(const Scalar&, const Tensor&));
  return op(self, exponent);
}

// lerp: the weight a number (lerp.Scalar) or a tensor (lerp.Tensor).
#define VT_LERP(W, overload)                                                                \
  Tensor lerp(const Tensor& self, const Tensor& end, W weight) {                            \
    VT_PW_HANDLE("vt::lerp." overload, Tensor(const Tensor&, const Tensor&, W));            \
    return op(self, end, weight);                                                           \
  }                                                                                         \
  const Tensor& lerp_(const Tensor& self, const Tensor& end, W weight) {                    \
    VT_PW_HANDLE("vt::lerp_." overload, Tensor(const Tensor&, const Tensor&, W));           \
    op(self, end, weight);                                                                  \
    return self;                                                                            \
  }                                                                                         \
  const Tensor& lerp_out(const Tensor& out, const Tensor& self, const Tensor& end, W weight) { \
    VT_PW_HANDLE("vt::lerp." overload "_out",                                               \
                 Tensor(const Tensor&, const Tensor&, W, const Tensor&));                   \
    op(self, end, weight, out);                                                             \
    return out;                                                                             \
  }
VT_LERP(const Scalar&, "Scalar")
VT_LERP(const Tensor&, "Tensor")
#undef VT_LERP

// addcmul / addcdiv: self + value * tensor1 (op) tensor2.
#define VT_ADDC(name)                                                                        \
  Tensor name(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value) { \
    VT_PW_HANDLE("vt::" #name,                                                               \
                 Tensor(const Tensor&, const Tensor&, const Tensor&, const Scalar&));        \
    return op(self, t1, t2, value);                                                          \
  }                                                                                          \
  const Tensor& name##_(const Tensor& self, const Tensor& t1, const Tensor& t2,              \
                        const Scalar& value) {                                               \
    VT_PW_HANDLE("vt::" #name "_",                                                           \
                 Tensor(const Tensor&, const Tensor&, const Tensor&, const Scalar&));        \
    op(self, t1, t2, value);                                                                 \
    return self;                                                                             \
  }                                                                                          \
  const Tensor& name##_out(const Tensor& out, const Tensor& self, const Tensor& t1,          \
                           const Tensor& t2, const Scalar& value) {                          \
    VT_PW_HANDLE("vt::" #name ".out", Tensor(const Tensor&, const Tensor&, const Tensor&,    \
                                             const Scalar&, const Tensor&));                 \
    op(self, t1, t2, value, out);                                                            \
    return out;                                                                              \
  }
VT_ADDC(addcmul)
VT_ADDC(addcdiv)
#undef VT_ADDC

}  // namespace vt
