// matmul, mv, outer and linear: device-independent composites of mm, bmm, addmm, dot and views.
#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/linalg_gemm.h"
#include "ops/ops.h"

namespace vt {
namespace {

DimVector with(IntArrayRef prefix, std::initializer_list<int64_t> tail) {
  DimVector out(prefix);
  for (int64_t v : tail) out.push_back(v);
  return out;
}

DimVector leading(const Tensor& t, int64_t drop) {
  return DimVector(IntArrayRef(t.sizes().data(), size_t(t.dim() - drop)));
}

void check_mv(const Tensor& self, const Tensor& vec) {
  VT_CHECK(self.dim() == 2 && vec.dim() == 1, "vector + matrix @ vector expected, got 1, ",
           self.dim(), ", ", vec.dim());
  VT_CHECK(self.size(1) == vec.size(0), "size mismatch, got input (", self.size(0), "), mat (",
           self.size(0), "x", self.size(1), "), vec (", vec.size(0), ")");
}

Tensor mv_kernel(const Tensor& self, const Tensor& vec) {
  check_mv(self, vec);
  return vt::squeeze(vt::mm(self, vt::unsqueeze(vec, 1)), DimVector{1});
}

// The product lands in a one-column view of out: no copy.
Tensor mv_out_kernel(const Tensor& self, const Tensor& vec, const Tensor& out) {
  check_mv(self, vec);
  check_out("mv", out, DimVector{self.size(0)}, self.dtype());
  vt::mm_out(vt::unsqueeze(out, 1), self, vt::unsqueeze(vec, 1));
  return out;
}

// torch.matmul's cases, by the operands' dims.
Tensor matmul_kernel(const Tensor& a, const Tensor& b) {
  const int64_t da = a.dim(), db = b.dim();
  VT_CHECK(da >= 1 && db >= 1, "both arguments to matmul need to be at least 1D, but they are ",
           da, "D and ", db, "D");
  if (da == 1 && db == 1) return vt::dot(a, b);
  if (da == 2 && db == 1) return mv_kernel(a, b);
  if (da == 1 && db == 2) return vt::squeeze(vt::mm(vt::unsqueeze(a, 0), b), DimVector{0});
  if (da == 2 && db == 2) return vt::mm(a, b);
  if (da >= 3 && db <= 2) {
    // A batch times one matrix or vector is one tall mm: [..., n, k] -> [(... n), k].
    const int64_t k = a.size(-1), rows = a.numel() / std::max<int64_t>(k, 1);
    Tensor rhs = db == 1 ? vt::unsqueeze(b, 1) : b;
    VT_CHECK(rhs.size(0) == k, "mat1 and mat2 shapes cannot be multiplied (", rows, "x", k,
             " and ", rhs.size(0), "x", rhs.size(1), ")");
    Tensor r = vt::mm(vt::reshape(a, DimVector{rows, k}), rhs);
    DimVector shape = leading(a, 1);
    if (db == 2) shape.push_back(b.size(1));
    if (a.numel() == 0) return vt::reshape(r, shape);
    return vt::view(r, shape);
  }
  // Batched with broadcast batch dims; a vector operand is a one-row (one-column) matrix.
  Tensor a2 = da == 1 ? vt::unsqueeze(a, 0) : a;
  Tensor b2 = db == 1 ? vt::unsqueeze(b, 1) : b;
  const int64_t n = a2.size(-2), k = a2.size(-1), k2 = b2.size(-2), p = b2.size(-1);
  VT_CHECK(k == k2, "mat1 and mat2 shapes cannot be multiplied (", n, "x", k, " and ", k2, "x", p,
           ") in matmul of ", shape_string(a.sizes()), " and ", shape_string(b.sizes()));
  DimVector batch = broadcast_shapes(leading(a2, 2), leading(b2, 2), "matmul");
  const int64_t count = compute_numel(batch);
  Tensor lhs = vt::reshape(vt::expand(a2, with(batch, {n, k})), DimVector{count, n, k});
  Tensor rhs = vt::reshape(vt::expand(b2, with(batch, {k, p})), DimVector{count, k, p});
  Tensor r = vt::bmm(lhs, rhs);
  DimVector shape = batch;
  if (da > 1) shape.push_back(n);
  if (db > 1) shape.push_back(p);
  return vt::view(r, shape);
}

Tensor matmul_out_kernel(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (a.dim() == 2 && b.dim() == 2) return vt::mm_out(out, a, b);
  if (a.dim() == 1 && b.dim() == 1) return vt::dot_out(out, a, b);
  if (a.dim() == 2 && b.dim() == 1) return mv_out_kernel(a, b, out);
  Tensor r = matmul_kernel(a, b);
  check_out("matmul", out, r.sizes(), r.dtype());
  vt::copy_(out, r);
  return out;
}

Tensor outer_kernel(const Tensor& self, const Tensor& vec2) {
  VT_CHECK(self.dim() == 1, "outer: Expected 1-D argument self, but got ", self.dim(), "-D");
  VT_CHECK(vec2.dim() == 1, "outer: Expected 1-D argument vec2, but got ", vec2.dim(), "-D");
  return vt::mul(vt::unsqueeze(self, 1), vec2);
}

Tensor outer_out_kernel(const Tensor& self, const Tensor& vec2, const Tensor& out) {
  Tensor r = outer_kernel(self, vec2);
  check_out("outer", out, r.sizes(), r.dtype());
  vt::copy_(out, r);
  return out;
}

Tensor linear_kernel(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias) {
  VT_CHECK(input.dim() >= 1 && weight.dim() >= 1,
           "both arguments to linear need to be at least 1D, but they are ", input.dim(), "D and ",
           weight.dim(), "D");
  const Tensor wt = weight.dim() == 2 ? vt::transpose(weight, 0, 1) : weight;
  if (bias && input.dim() >= 2) {
    // The bias rides in the product's beta term: one pass over the output. Leading dims fold
    // into the rows of one addmm, as in torch.
    const int64_t k = input.size(-1), rows = input.numel() / std::max<int64_t>(k, 1);
    Tensor x = input.dim() == 2 ? input : vt::reshape(input, DimVector{rows, k});
    Tensor r = vt::addmm(*bias, x, wt);
    if (input.dim() == 2) return r;
    DimVector shape = leading(input, 1);
    shape.push_back(r.size(1));
    return input.numel() == 0 ? vt::reshape(r, shape) : vt::view(r, shape);
  }
  Tensor r = vt::matmul(input, wt);
  if (!bias) return r;
  VT_CHECK(bias->dtype() == r.dtype(), "self and mat2 must have the same dtype, but got ",
           dtype_name(bias->dtype()), " and ", dtype_name(r.dtype()));
  return vt::add(r, *bias);
}

}  // namespace

void register_linalg_matmul_ops() {
  define_kernel("vt::mv(Tensor self, Tensor vec) -> Tensor", VT_DEVICE_ANY, &mv_kernel);
  define_kernel("vt::mv.out(Tensor self, Tensor vec, *, Tensor(a!) out) -> Tensor(a!)",
                VT_DEVICE_ANY, &mv_out_kernel);
  define_kernel("vt::matmul(Tensor self, Tensor other) -> Tensor", VT_DEVICE_ANY, &matmul_kernel);
  define_kernel("vt::matmul.out(Tensor self, Tensor other, *, Tensor(a!) out) -> Tensor(a!)",
                VT_DEVICE_ANY, &matmul_out_kernel);
  define_kernel("vt::outer(Tensor self, Tensor vec2) -> Tensor", VT_DEVICE_ANY, &outer_kernel);
  define_kernel("vt::outer.out(Tensor self, Tensor vec2, *, Tensor(a!) out) -> Tensor(a!)",
                VT_DEVICE_ANY, &outer_out_kernel);
  define_kernel("vt::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor",
                VT_DEVICE_ANY, &linear_kernel);
}

}  // namespace vt
