// The linalg op family's CPU kernels: mm, bmm, addmm, baddbmm and dot, their out= and in-place
// forms, and the registration of the whole family. Every product lands in gemm_into.
#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/linalg_blas.h"
#include "ops/linalg_gemm.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {

void check_out(const char* op, const Tensor& out, IntArrayRef shape, ScalarType dtype) {
  VT_CHECK(out.dtype() == dtype, "Expected out tensor to have dtype ", dtype_name(dtype),
           ", but got ", dtype_name(out.dtype()), " instead");
  if (!same_shape(out.sizes(), shape))
    fail(VT_ERROR_NOT_IMPLEMENTED, op, "(): out has shape ", shape_string(out.sizes()),
         " but the result has shape ", shape_string(shape),
         "; resizing out= tensors is not implemented");
  for (int64_t d = 0; d < out.dim(); ++d)
    VT_CHECK(out.strides()[d] != 0 || out.sizes()[d] <= 1, op,
             "(): unsupported operation: more than one element of the written-to tensor refers "
             "to a single memory location. Please clone() the tensor before performing the "
             "operation.");
}

namespace {

const Scalar kZero(int64_t(0)), kOne(int64_t(1));

bool shares_storage(const Tensor& a, const Tensor& b) {
  return a.impl()->storage().get() == b.impl()->storage().get();
}

void check_not_bool(const char* op, const Tensor& t) {
  if (t.dtype() == ScalarType::Bool)
    fail(VT_ERROR_NOT_IMPLEMENTED, "\"", op, "\" not implemented for 'Bool'");
}

// A matrix as a batch of one: [M, K] -> [1, M, K], a view.
Tensor as_batch(const Tensor& t) {
  return t.view_as_strided(DimVector{1, t.size(0), t.size(1)},
                           DimVector{0, t.stride(0), t.stride(1)},
                           t.storage_offset());
}

void check_in_place(const Tensor& self, IntArrayRef shape) {
  VT_CHECK(same_shape(self.sizes(), shape), "Bad in-place call: input tensor size ",
           shape_string(self.sizes()), " and output tensor size ", shape_string(shape),
           " should match");
}

// result (3-D) = beta * input + alpha * (a @ b); input (broadcast to result) may be undefined,
// or already be result's contents (in-place forms). Outputs aliasing an operand get a temporary.
void product_into(const Tensor& result, const Tensor& input, bool input_in_result,
                  const Tensor& a, const Tensor& b, const Scalar& beta, const Scalar& alpha) {
  const bool use_input = input.defined() && beta.to_double() != 0.0;
  const bool alias = shares_storage(result, a) || shares_storage(result, b) ||
                     (use_input && !input_in_result && shares_storage(result, input));
  Tensor target = alias ? Tensor::empty(result.sizes(), result.dtype(), result.device()) : result;
  if (use_input && (alias || !input_in_result))
    vt::copy_(target, input_in_result ? result : vt::expand(input, result.sizes()));
  gemm_into(target, a, b, use_input ? beta : Scalar(int64_t(0)), alpha);
  if (alias) vt::copy_(result, target);
}

// ---- mm / addmm ---------------------------------------------------------------------------

void check_mm(const char* op, const char* n1, const Tensor& m1, const Tensor& m2) {
  VT_CHECK(m1.dim() == 2, n1, " must be a matrix");
  VT_CHECK(m2.dim() == 2, "mat2 must be a matrix");
  VT_CHECK(m1.size(1) == m2.size(0), "mat1 and mat2 shapes cannot be multiplied (", m1.size(0),
           "x", m1.size(1), " and ", m2.size(0), "x", m2.size(1), ")");
  VT_CHECK(m1.dtype() == m2.dtype(), "expected m1 and m2 to have the same dtype, but got: ",
           dtype_name(m1.dtype()), " != ", dtype_name(m2.dtype()));
  check_not_bool(op, m1);
}

void check_addmm_self(const Tensor& self, const Tensor& m1) {
  VT_CHECK(self.dtype() == m1.dtype(), "self and mat2 must have the same dtype, but got ",
           dtype_name(self.dtype()), " and ", dtype_name(m1.dtype()));
}

Tensor addmm_common(const char* op, const Tensor& self, const Tensor& m1, const Tensor& m2,
                    const Scalar& beta, const Scalar& alpha, const Tensor& out, bool in_place) {
  check_mm(op, "mat1", m1, m2);
  if (self.defined()) check_addmm_self(self, m1);
  DimVector shape{m1.size(0), m2.size(1)};
  if (in_place) check_in_place(self, shape);
  Tensor result = out;
  if (result.defined()) check_out(op, result, shape, m1.dtype());
  else result = Tensor::empty(shape, m1.dtype(), m1.device());
  product_into(as_batch(result), self.defined() ? as_batch(vt::expand(self, shape)) : Tensor(),
               in_place, as_batch(m1), as_batch(m2), beta, alpha);
  return result;
}

Tensor mm_kernel(const Tensor& self, const Tensor& mat2) {
  VT_CHECK(self.dim() == 2, "self must be a matrix");
  return addmm_common("mm", Tensor(), self, mat2, kZero, kOne, Tensor(), false);
}
Tensor mm_out_kernel(const Tensor& self, const Tensor& mat2, const Tensor& out) {
  VT_CHECK(self.dim() == 2, "self must be a matrix");
  return addmm_common("mm", Tensor(), self, mat2, kZero, kOne, out, false);
}
Tensor addmm_kernel(const Tensor& self, const Tensor& m1, const Tensor& m2, const Scalar& beta,
                    const Scalar& alpha) {
  return addmm_common("addmm", self, m1, m2, beta, alpha, Tensor(), false);
}
Tensor addmm_out_kernel(const Tensor& self, const Tensor& m1, const Tensor& m2,
                        const Scalar& beta, const Scalar& alpha, const Tensor& out) {
  return addmm_common("addmm", self, m1, m2, beta, alpha, out, false);
}
Tensor addmm__kernel(const Tensor& self, const Tensor& m1, const Tensor& m2, const Scalar& beta,
                     const Scalar& alpha) {
  return addmm_common("addmm_", self, m1, m2, beta, alpha, self, true);
}

// ---- bmm / baddbmm ------------------------------------------------------------------------

void check_bmm(const char* op, const Tensor& b1, const Tensor& b2) {
  VT_CHECK(b1.dim() == 3, "batch1 must be a 3D tensor");
  VT_CHECK(b2.dim() == 3, "batch2 must be a 3D tensor");
  VT_CHECK(b2.size(0) == b1.size(0) && b2.size(1) == b1.size(2),
           "Expected size for first two dimensions of batch2 tensor to be: [", b1.size(0), ", ",
           b1.size(2), "] but got: [", b2.size(0), ", ", b2.size(1), "].");
  VT_CHECK(b1.dtype() == b2.dtype(), op, ": expected batch1 and batch2 to have the same dtype, ",
           "but got ", dtype_name(b1.dtype()), " and ", dtype_name(b2.dtype()));
  check_not_bool(op, b1);
}

Tensor baddbmm_common(const char* op, const Tensor& self, const Tensor& b1, const Tensor& b2,
                      const Scalar& beta, const Scalar& alpha, const Tensor& out, bool in_place) {
  check_bmm(op, b1, b2);
  if (self.defined())
    VT_CHECK(self.dtype() == b1.dtype(), "Input dtypes must be the same, got: input ",
             dtype_name(self.dtype()), ", batch1: ", dtype_name(b1.dtype()), ", batch2: ",
             dtype_name(b2.dtype()));
  DimVector shape{b1.size(0), b1.size(1), b2.size(2)};
  if (in_place) check_in_place(self, shape);
  Tensor result = out;
  if (result.defined()) check_out(op, result, shape, b1.dtype());
  else result = Tensor::empty(shape, b1.dtype(), b1.device());
  product_into(result, self.defined() ? vt::expand(self, shape) : Tensor(), in_place, b1, b2,
               beta, alpha);
  return result;
}

Tensor bmm_kernel(const Tensor& self, const Tensor& mat2) {
  return baddbmm_common("bmm", Tensor(), self, mat2, kZero, kOne, Tensor(), false);
}
Tensor bmm_out_kernel(const Tensor& self, const Tensor& mat2, const Tensor& out) {
  return baddbmm_common("bmm", Tensor(), self, mat2, kZero, kOne, out, false);
}
Tensor baddbmm_kernel(const Tensor& self, const Tensor& b1, const Tensor& b2, const Scalar& beta,
                      const Scalar& alpha) {
  return baddbmm_common("baddbmm", self, b1, b2, beta, alpha, Tensor(), false);
}
Tensor baddbmm_out_kernel(const Tensor& self, const Tensor& b1, const Tensor& b2,
                          const Scalar& beta, const Scalar& alpha, const Tensor& out) {
  return baddbmm_common("baddbmm", self, b1, b2, beta, alpha, out, false);
}
Tensor baddbmm__kernel(const Tensor& self, const Tensor& b1, const Tensor& b2, const Scalar& beta,
                       const Scalar& alpha) {
  return baddbmm_common("baddbmm_", self, b1, b2, beta, alpha, self, true);
}

// ---- dot ----------------------------------------------------------------------------------

template <typename T>
T blas_dot(const Tensor& a, const Tensor& b) {
  auto strided = [](const Tensor& t) { return t.stride(0) > 0 ? t : vt::contiguous(t); };
  const Tensor x = strided(a), y = strided(b);
  return blas::dot<T>(x.numel(), x.data_as<T>(), x.stride(0), y.data_as<T>(), y.stride(0));
}

Tensor dot_common(const Tensor& self, const Tensor& other, const Tensor& out) {
  VT_CHECK(self.dim() == 1 && other.dim() == 1, "1D tensors expected, but got ", self.dim(),
           "D and ", other.dim(), "D tensors");
  VT_CHECK(self.numel() == other.numel(), "inconsistent tensor size, expected tensor [",
           self.numel(), "] and src [", other.numel(),
           "] to have the same number of elements, but got ", self.numel(), " and ",
           other.numel(), " elements respectively");
  VT_CHECK(self.dtype() == other.dtype(), "dot : expected both vectors to have same dtype, ",
           "but found ", dtype_name(self.dtype()), " and ", dtype_name(other.dtype()));
  check_not_bool("dot", self);
  Tensor result = out;
  if (result.defined()) check_out("dot", result, {}, self.dtype());
  else result = Tensor::empty({}, self.dtype(), self.device());
  const ScalarType dt = self.dtype();
  const bool strides_fit = blas::fits_int32(self.stride(0)) && blas::fits_int32(other.stride(0));
  const bool blas_dtype = dt == ScalarType::Float32 || dt == ScalarType::Float64;
  if (blas::available() && strides_fit && blas_dtype) {
    if (dt == ScalarType::Float32) *result.data_as<float>() = blas_dot<float>(self, other);
    else *result.data_as<double>() = blas_dot<double>(self, other);
    result.bump_version();
    return result;
  }
  // [1, n] @ [n, 1] through the general kernel: 16-bit floats in float32, integers wrapping.
  const int64_t n = self.numel();
  Tensor row = self.view_as_strided(DimVector{1, 1, n}, DimVector{0, 0, self.stride(0)},
                                    self.storage_offset());
  Tensor col = other.view_as_strided(DimVector{1, n, 1}, DimVector{0, other.stride(0), 0},
                                     other.storage_offset());
  Tensor target = result.view_as_strided(DimVector{1, 1, 1}, DimVector{0, 0, 0},
                                         result.storage_offset());
  product_into(target, Tensor(), false, row, col, kZero, kOne);
  return result;
}

Tensor dot_kernel(const Tensor& self, const Tensor& other) {
  return dot_common(self, other, Tensor());
}
Tensor dot_out_kernel(const Tensor& self, const Tensor& other, const Tensor& out) {
  return dot_common(self, other, out);
}

}  // namespace

void register_linalg_ops() {
  define_kernel("vt::mm(Tensor self, Tensor mat2) -> Tensor", VT_DEVICE_CPU, &mm_kernel);
  define_kernel("vt::mm.out(Tensor self, Tensor mat2, *, Tensor(a!) out) -> Tensor(a!)",
                VT_DEVICE_CPU, &mm_out_kernel);
  define_kernel("vt::addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor",
                VT_DEVICE_CPU, &addmm_kernel);
  define_kernel("vt::addmm.out(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1, Tensor(a!) out) -> Tensor(a!)",
                VT_DEVICE_CPU, &addmm_out_kernel);
  define_kernel("vt::addmm_(Tensor(a!) self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor(a!)",
                VT_DEVICE_CPU, &addmm__kernel);
  define_kernel("vt::bmm(Tensor self, Tensor mat2) -> Tensor", VT_DEVICE_CPU, &bmm_kernel);
  define_kernel("vt::bmm.out(Tensor self, Tensor mat2, *, Tensor(a!) out) -> Tensor(a!)",
                VT_DEVICE_CPU, &bmm_out_kernel);
  define_kernel("vt::baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor",
                VT_DEVICE_CPU, &baddbmm_kernel);
  define_kernel("vt::baddbmm.out(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1, Tensor(a!) out) -> Tensor(a!)",
                VT_DEVICE_CPU, &baddbmm_out_kernel);
  define_kernel("vt::baddbmm_(Tensor(a!) self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor(a!)",
                VT_DEVICE_CPU, &baddbmm__kernel);
  define_kernel("vt::dot(Tensor self, Tensor tensor) -> Tensor", VT_DEVICE_CPU, &dot_kernel);
  define_kernel("vt::dot.out(Tensor self, Tensor tensor, *, Tensor(a!) out) -> Tensor(a!)",
                VT_DEVICE_CPU, &dot_out_kernel);
  register_linalg_matmul_ops();
  register_linalg_einsum_ops();
}

}  // namespace vt
