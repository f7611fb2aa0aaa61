// The public C++ functions of the linalg family: each a cached typed handle into the dispatcher.
#include "dispatch/dispatcher.h"
#include "ops/linalg.h"

namespace vt {

#define VT_LINALG_HANDLE(var, name, sig) static const OpHandle<sig> var(name)

using SigTT = Tensor(const Tensor&, const Tensor&);
using SigTTT = Tensor(const Tensor&, const Tensor&, const Tensor&);
using SigAdd = Tensor(const Tensor&, const Tensor&, const Tensor&, const Scalar&, const Scalar&);
using SigAddOut = Tensor(const Tensor&, const Tensor&, const Tensor&, const Scalar&,
                         const Scalar&, const Tensor&);

Tensor mm(const Tensor& self, const Tensor& mat2) {
  VT_LINALG_HANDLE(op, "vt::mm", SigTT);
  return op(self, mat2);
}
const Tensor& mm_out(const Tensor& out, const Tensor& self, const Tensor& mat2) {
  VT_LINALG_HANDLE(op, "vt::mm.out", SigTTT);
  op(self, mat2, out);
  return out;
}
Tensor bmm(const Tensor& self, const Tensor& mat2) {
  VT_LINALG_HANDLE(op, "vt::bmm", SigTT);
  return op(self, mat2);
}
const Tensor& bmm_out(const Tensor& out, const Tensor& self, const Tensor& mat2) {
  VT_LINALG_HANDLE(op, "vt::bmm.out", SigTTT);
  op(self, mat2, out);
  return out;
}
Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2, const Scalar& beta,
             const Scalar& alpha) {
  VT_LINALG_HANDLE(op, "vt::addmm", SigAdd);
  return op(self, mat1, mat2, beta, alpha);
}
const Tensor& addmm_(const Tensor& self, const Tensor& mat1, const Tensor& mat2,
                     const Scalar& beta, const Scalar& alpha) {
  VT_LINALG_HANDLE(op, "vt::addmm_", SigAdd);
  op(self, mat1, mat2, beta, alpha);
  return self;
}
const Tensor& addmm_out(const Tensor& out, const Tensor& self, const Tensor& mat1,
                        const Tensor& mat2, const Scalar& beta, const Scalar& alpha) {
  VT_LINALG_HANDLE(op, "vt::addmm.out", SigAddOut);
  op(self, mat1, mat2, beta, alpha, out);
  return out;
}
Tensor baddbmm(const Tensor& self, const Tensor& batch1, const Tensor& batch2,
               const Scalar& beta, const Scalar& alpha) {
  VT_LINALG_HANDLE(op, "vt::baddbmm", SigAdd);
  return op(self, batch1, batch2, beta, alpha);
}
const Tensor& baddbmm_(const Tensor& self, const Tensor& batch1, const Tensor& batch2,
                       const Scalar& beta, const Scalar& alpha) {
  VT_LINALG_HANDLE(op, "vt::baddbmm_", SigAdd);
  op(self, batch1, batch2, beta, alpha);
  return self;
}
const Tensor& baddbmm_out(const Tensor& out, const Tensor& self, const Tensor& batch1,
                          const Tensor& batch2, const Scalar& beta, const Scalar& alpha) {
  VT_LINALG_HANDLE(op, "vt::baddbmm.out", SigAddOut);
  op(self, batch1, batch2, beta, alpha, out);
  return out;
}
Tensor dot(const Tensor& self, const Tensor& other) {
  VT_LINALG_HANDLE(op, "vt::dot", SigTT);
  return op(self, other);
}
const Tensor& dot_out(const Tensor& out, const Tensor& self, const Tensor& other) {
  VT_LINALG_HANDLE(op, "vt::dot.out", SigTTT);
  op(self, other, out);
  return out;
}
Tensor mv(const Tensor& self, const Tensor& vec) {
  VT_LINALG_HANDLE(op, "vt::mv", SigTT);
  return op(self, vec);
}
const Tensor& mv_out(const Tensor& out, const Tensor& self, const Tensor& vec) {
  VT_LINALG_HANDLE(op, "vt::mv.out", SigTTT);
  op(self, vec, out);
  return out;
}
Tensor outer(const Tensor& self, const Tensor& vec2) {
  VT_LINALG_HANDLE(op, "vt::outer", SigTT);
  return op(self, vec2);
}
const Tensor& outer_out(const Tensor& out, const Tensor& self, const Tensor& vec2) {
  VT_LINALG_HANDLE(op, "vt::outer.out", SigTTT);
  op(self, vec2, out);
  return out;
}
Tensor matmul(const Tensor& self, const Tensor& other) {
  VT_LINALG_HANDLE(op, "vt::matmul", SigTT);
  return op(self, other);
}
const Tensor& matmul_out(const Tensor& out, const Tensor& self, const Tensor& other) {
  VT_LINALG_HANDLE(op, "vt::matmul.out", SigTTT);
  op(self, other, out);
  return out;
}
Tensor linear(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias) {
  using Sig = Tensor(const Tensor&, const Tensor&, const std::optional<Tensor>&);
  VT_LINALG_HANDLE(op, "vt::linear", Sig);
  return op(input, weight, bias);
}
Tensor einsum(std::string_view equation, std::span<const Tensor> operands) {
  VT_LINALG_HANDLE(op, "vt::einsum", Tensor(std::string_view, std::span<const Tensor>));
  return op(equation, operands);
}

}  // namespace vt
