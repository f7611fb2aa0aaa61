// The public C++ functions of the pointwise family's unary ops, clamp and where: each a cached
// typed handle into the dispatcher. (The functional neg and exp live in ops.cpp.)
#include "dispatch/dispatcher.h"
#include "ops/pointwise.h"

namespace vt {

#define VT_PW_HANDLE(name, sig) static const OpHandle<sig> op(name)

using Opt = std::optional<Scalar>;
using OptT = std::optional<Tensor>;
using OptD = std::optional<double>;
using SigT = Tensor(const Tensor&);
using SigTT = Tensor(const Tensor&, const Tensor&);

#define VT_UNARY_INPLACE_OUT(name)                                 \
  const Tensor& name##_(const Tensor& self) {                      \
    VT_PW_HANDLE("vt::" #name "_", SigT);                          \
    op(self);                                                      \
    return self;                                                   \
  }                                                                \
  const Tensor& name##_out(const Tensor& out, const Tensor& self) { \
    VT_PW_HANDLE("vt::" #name ".out", SigTT);                      \
    op(self, out);                                                 \
    return out;                                                    \
  }
#define VT_UNARY(name)                 \
  Tensor name(const Tensor& self) {    \
    VT_PW_HANDLE("vt::" #name, SigT);  \
    return op(self);                   \
  }                                    \
  VT_UNARY_INPLACE_OUT(name)

VT_UNARY_INPLACE_OUT(neg)
VT_UNARY_INPLACE_OUT(exp)
VT_UNARY(abs)
VT_UNARY(sign)
VT_UNARY(relu)
VT_UNARY(floor)
VT_UNARY(ceil)
VT_UNARY(trunc)
VT_UNARY(logical_not)
VT_UNARY(bitwise_not)
VT_UNARY(exp2)
VT_UNARY(expm1)
VT_UNARY(log)
VT_UNARY(log2)
VT_UNARY(log1p)
VT_UNARY(sqrt)
VT_UNARY(rsqrt)
VT_UNARY(reciprocal)
VT_UNARY(sin)
VT_UNARY(cos)
VT_UNARY(tan)
VT_UNARY(tanh)
VT_UNARY(sigmoid)
VT_UNARY(erf)
VT_UNARY(silu)

#undef VT_UNARY
#undef VT_UNARY_INPLACE_OUT

Tensor round(const Tensor& self, int64_t decimals) {
  VT_PW_HANDLE("vt::round", Tensor(const Tensor&, int64_t));
  return op(self, decimals);
}
const Tensor& round_(const Tensor& self, int64_t decimals) {
  VT_PW_HANDLE("vt::round_", Tensor(const Tensor&, int64_t));
  op(self, decimals);
  return self;
}
const Tensor& round_out(const Tensor& out, const Tensor& self, int64_t decimals) {
  VT_PW_HANDLE("vt::round.out", Tensor(const Tensor&, int64_t, const Tensor&));
  op(self, decimals, out);
  return out;
}

Tensor gelu(const Tensor& self, std::string_view approximate) {
  VT_PW_HANDLE("vt::gelu", Tensor(const Tensor&, std::string_view));
  return op(self, approximate);
}
const Tensor& gelu_(const Tensor& self, std::string_view approximate) {
  VT_PW_HANDLE("vt::gelu_", Tensor(const Tensor&, std::string_view));
  op(self, approximate);
  return self;
}
const Tensor& gelu_out(const Tensor& out, const Tensor& self, std::string_view approximate) {
  VT_PW_HANDLE("vt::gelu.out", Tensor(const Tensor&, std::string_view, const Tensor&));
  op(self, approximate, out);
  return out;
}

Tensor isnan(const Tensor& self) {
  VT_PW_HANDLE("vt::isnan", SigT);
  return op(self);
}
Tensor isinf(const Tensor& self) {
  VT_PW_HANDLE("vt::isinf", SigT);
  return op(self);
}
Tensor isfinite(const Tensor& self) {
  VT_PW_HANDLE("vt::isfinite", SigT);
  return op(self);
}

Tensor nan_to_num(const Tensor& self, OptD nan, OptD posinf, OptD neginf) {
  VT_PW_HANDLE("vt::nan_to_num", Tensor(const Tensor&, OptD, OptD, OptD));
  return op(self, nan, posinf, neginf);
}
const Tensor& nan_to_num_(const Tensor& self, OptD nan, OptD posinf, OptD neginf) {
  VT_PW_HANDLE("vt::nan_to_num_", Tensor(const Tensor&, OptD, OptD, OptD));
  op(self, nan, posinf, neginf);
  return self;
}
const Tensor& nan_to_num_out(const Tensor& out, const Tensor& self, OptD nan, OptD posinf,
                             OptD neginf) {
  VT_PW_HANDLE("vt::nan_to_num.out", Tensor(const Tensor&, OptD, OptD, OptD, const Tensor&));
  op(self, nan, posinf, neginf, out);
  return out;
}

Tensor clamp(const Tensor& self, const Opt& min, const Opt& max) {
  VT_PW_HANDLE("vt::clamp", Tensor(const Tensor&, const Opt&, const Opt&));
  return op(self, min, max);
}
Tensor clamp(const Tensor& self, const OptT& min, const OptT& max) {
  VT_PW_HANDLE("vt::clamp.Tensor", Tensor(const Tensor&, const OptT&, const OptT&));
  return op(self, min, max);
}
const Tensor& clamp_(const Tensor& self, const Opt& min, const Opt& max) {
  VT_PW_HANDLE("vt::clamp_", Tensor(const Tensor&, const Opt&, const Opt&));
  op(self, min, max);
  return self;
}
const Tensor& clamp_(const Tensor& self, const OptT& min, const OptT& max) {
  VT_PW_HANDLE("vt::clamp_.Tensor", Tensor(const Tensor&, const OptT&, const OptT&));
  op(self, min, max);
  return self;
}
const Tensor& clamp_out(const Tensor& out, const Tensor& self, const Opt& min, const Opt& max) {
  VT_PW_HANDLE("vt::clamp.out", Tensor(const Tensor&, const Opt&, const Opt&, const Tensor&));
  op(self, min, max, out);
  return out;
}
const Tensor& clamp_out(const Tensor& out, const Tensor& self, const OptT& min,
                        const OptT& max) {
  VT_PW_HANDLE("vt::clamp.Tensor_out",
               Tensor(const Tensor&, const OptT&, const OptT&, const Tensor&));
  op(self, min, max, out);
  return out;
}

Tensor where(const Tensor& condition, const Tensor& self, const Tensor& other) {
  VT_PW_HANDLE("vt::where.self", Tensor(const Tensor&, const Tensor&, const Tensor&));
  return op(condition, self, other);
}
Tensor where(const Tensor& condition, const Tensor& self, const Scalar& other) {
  VT_PW_HANDLE("vt::where.ScalarOther", Tensor(const Tensor&, const Tensor&, const Scalar&));
  return op(condition, self, other);
}
Tensor where(const Tensor& condition, const Scalar& self, const Tensor& other) {
  VT_PW_HANDLE("vt::where.ScalarSelf", Tensor(const Tensor&, const Scalar&, const Tensor&));
  return op(condition, self, other);
}
Tensor where(const Tensor& condition, const Scalar& self, const Scalar& other) {
  VT_PW_HANDLE("vt::where.Scalar", Tensor(const Tensor&, const Scalar&, const Scalar&));
  return op(condition, self, other);
}
const Tensor& where_out(const Tensor& out, const Tensor& condition, const Tensor& self,
                        const Tensor& other) {
  VT_PW_HANDLE("vt::where.self_out",
               Tensor(const Tensor&, const Tensor&, const Tensor&, const Tensor&));
  op(condition, self, other, out);
  return out;
}

}  // namespace vt
