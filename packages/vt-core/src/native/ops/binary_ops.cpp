// add, sub, mul, div (true division) and their in-place and reversed-scalar forms.
#include <cmath>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/loops.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {
namespace {

// make(tag) returns the opmath functor for dtype decltype(tag).
template <typename Make>
Tensor run_binary(const char* name, const Tensor& out, const Tensor& a, const Tensor& b,
                  bool int_to_float, Make make) {
  IterConfig c;
  c.op_name = name;
  c.outputs = {out};
  c.inputs = {a, b};
  c.promote_int_to_float = int_to_float;
  TensorIterator it(std::move(c));
  visit_dtype(it.compute_dtype(), [&](auto tag) { binary_loop<decltype(tag)>(it, make(tag)); });
  it.finish();
  if (out.defined()) out.bump_version();
  return it.output();
}

template <typename Make>
Tensor run_scalar(const char* name, const Tensor& out, const Tensor& a, const Scalar& b,
                  bool int_to_float, Make make) {
  IterConfig c;
  c.op_name = name;
  c.outputs = {out};
  c.inputs = {a};
  c.scalars = {b};
  c.promote_int_to_float = int_to_float;
  TensorIterator it(std::move(c));
  visit_dtype(it.compute_dtype(), [&](auto tag) { unary_loop<decltype(tag)>(it, make(tag)); });
  it.finish();
  if (out.defined()) out.bump_version();
  return it.output();
}

ScalarType scalar_result_type(const Tensor& a, const Scalar& b) { return result_type({a}, {b}); }

void check_alpha(const char* op, ScalarType result, const Scalar& alpha) {
  VT_CHECK(!alpha.is_bool() || result == ScalarType::Bool, op,
           ": Boolean alpha only supported for Boolean results.");
  VT_CHECK(is_floating(result) || !alpha.is_floating(), op,
           ": For integral input tensors, argument alpha must not be a floating point number.");
}

void check_sub(ScalarType a, ScalarType b) {
  VT_CHECK(a != ScalarType::Bool || b != ScalarType::Bool,
           "Subtraction, the `-` operator, with two bool tensors is not supported. If you are "
           "trying to invert a mask, use the `~` or `logical_not()` operator instead.");
  VT_CHECK(a != ScalarType::Bool && b != ScalarType::Bool,
           "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
           "trying to invert a mask, use the `~` or `logical_not()` operator instead.");
}

// a + alpha * b (alpha 1 skips the multiply so results match torch bit for bit).
auto add_fn(const Scalar& alpha, bool negate) {
  return [alpha, negate](auto tag) {
    using M = opmath_t<decltype(tag)>;
    M al = alpha.to<M>();
    bool one = alpha.to_double() == 1.0;
    if constexpr (std::is_same_v<M, bool>) {
      return [al](M x, M y) -> M { return x || (al && y); };
    } else {
      if (negate) al = M(-al);
      // A fused multiply-add, as torch's vectorized kernels do, so results agree bit for bit.
      return [al, one, negate](M x, M y) -> M {
        if (one) return negate ? M(x - y) : M(x + y);
        if constexpr (std::is_floating_point_v<M>) return std::fma(al, y, x);
        else return M(x + al * y);
      };
    }
  };
}

Tensor add_tensor(const Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha,
                  bool negate, const char* name) {
  ScalarType rt = result_type({a, b}, {});
  check_alpha(name, rt, alpha);
  if (negate) check_sub(a.dtype(), b.dtype());
  return run_binary(name, out, a, b, false, add_fn(alpha, negate));
}

Tensor add_scalar(const Tensor& out, const Tensor& a, const Scalar& b, const Scalar& alpha,
                  bool negate, const char* name) {
  ScalarType rt = scalar_result_type(a, b);
  check_alpha(name, rt, alpha);
  if (negate) check_sub(a.dtype(), b.is_bool() ? ScalarType::Bool : ScalarType::Int64);
  return run_scalar(name, out, a, b, false, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    auto f = add_fn(alpha, negate)(tag);
    const M bv = b.to<M>();
    return [f, bv](M x) -> M { return f(x, bv); };
  });
}

Tensor add_kernel(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  return add_tensor(Tensor(), a, b, alpha, false, "add");
}
Tensor add_scalar_kernel(const Tensor& a, const Scalar& b, const Scalar& alpha) {
  return add_scalar(Tensor(), a, b, alpha, false, "add");
}
Tensor add__kernel(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  return add_tensor(a, a, b, alpha, false, "add_");
}
Tensor add__scalar_kernel(const Tensor& a, const Scalar& b, const Scalar& alpha) {
  return add_scalar(a, a, b, alpha, false, "add_");
}
Tensor sub_kernel(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  return add_tensor(Tensor(), a, b, alpha, true, "sub");
}
Tensor sub_scalar_kernel(const Tensor& a, const Scalar& b, const Scalar& alpha) {
  return add_scalar(Tensor(), a, b, alpha, true, "sub");
}
Tensor sub__kernel(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  return add_tensor(a, a, b, alpha, true, "sub_");
}
Tensor sub__scalar_kernel(const Tensor& a, const Scalar& b, const Scalar& alpha) {
  return add_scalar(a, a, b, alpha, true, "sub_");
}

// other - alpha * self
Tensor rsub_scalar_kernel(const Tensor& a, const Scalar& other, const Scalar& alpha) {
  check_alpha("rsub", scalar_result_type(a, other), alpha);
  check_sub(a.dtype(), other.is_bool() ? ScalarType::Bool : ScalarType::Int64);
  return run_scalar("rsub", Tensor(), a, other, false, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M ov = other.to<M>(), al = alpha.to<M>();
    return [ov, al](M x) -> M { return M(ov - al * x); };
  });
}

auto mul_fn = [](auto tag) {
  using M = opmath_t<decltype(tag)>;
  if constexpr (std::is_same_v<M, bool>) return [](M x, M y) -> M { return x && y; };
  else return [](M x, M y) -> M { return M(x * y); };
};

Tensor mul_kernel(const Tensor& a, const Tensor& b) {
  return run_binary("mul", Tensor(), a, b, false, mul_fn);
}
Tensor mul__kernel(const Tensor& a, const Tensor& b) {
  return run_binary("mul_", a, a, b, false, mul_fn);
}
template <bool kInPlace>
Tensor mul_scalar_impl(const Tensor& a, const Scalar& b) {
  return run_scalar(kInPlace ? "mul_" : "mul", kInPlace ? a : Tensor(), a, b, false, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M bv = b.to<M>();
    auto f = mul_fn(tag);
    return [f, bv](M x) -> M { return f(x, bv); };
  });
}
Tensor mul_scalar_kernel(const Tensor& a, const Scalar& b) { return mul_scalar_impl<false>(a, b); }
Tensor mul__scalar_kernel(const Tensor& a, const Scalar& b) { return mul_scalar_impl<true>(a, b); }

// True division always computes in a floating type.
auto div_fn = [](auto tag) {
  using M = opmath_t<decltype(tag)>;
  return [](M x, M y) -> M { return M(x / y); };
};

Tensor div_kernel(const Tensor& a, const Tensor& b) {
  return run_binary("div", Tensor(), a, b, true, div_fn);
}
Tensor div__kernel(const Tensor& a, const Tensor& b) {
  return run_binary("div_", a, a, b, true, div_fn);
}
template <bool kInPlace>
Tensor div_scalar_impl(const Tensor& a, const Scalar& b) {
  return run_scalar(kInPlace ? "div_" : "div", kInPlace ? a : Tensor(), a, b, true, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M bv = b.to<M>();
    return [bv](M x) -> M { return M(x / bv); };
  });
}
Tensor div_scalar_kernel(const Tensor& a, const Scalar& b) { return div_scalar_impl<false>(a, b); }
Tensor div__scalar_kernel(const Tensor& a, const Scalar& b) { return div_scalar_impl<true>(a, b); }

Tensor rdiv_scalar_kernel(const Tensor& a, const Scalar& other) {
  return run_scalar("rdiv", Tensor(), a, other, true, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M ov = other.to<M>();
    return [ov](M x) -> M { return M(ov / x); };
  });
}

}  // namespace

void register_binary_ops() {
  define_kernel("vt::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
                VT_DEVICE_CPU, &add_kernel);
  define_kernel("vt::add.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor",
                VT_DEVICE_CPU, &add_scalar_kernel);
  define_kernel("vt::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
                VT_DEVICE_CPU, &add__kernel);
  define_kernel("vt::add_.Scalar(Tensor(a!) self, Scalar other, Scalar alpha=1) -> Tensor(a!)",
                VT_DEVICE_CPU, &add__scalar_kernel);
  define_kernel("vt::sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
                VT_DEVICE_CPU, &sub_kernel);
  define_kernel("vt::sub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor",
                VT_DEVICE_CPU, &sub_scalar_kernel);
  define_kernel("vt::sub_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
                VT_DEVICE_CPU, &sub__kernel);
  define_kernel("vt::sub_.Scalar(Tensor(a!) self, Scalar other, Scalar alpha=1) -> Tensor(a!)",
                VT_DEVICE_CPU, &sub__scalar_kernel);
  define_kernel("vt::rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor",
                VT_DEVICE_CPU, &rsub_scalar_kernel);
  define_kernel("vt::mul.Tensor(Tensor self, Tensor other) -> Tensor",
                VT_DEVICE_CPU, &mul_kernel);
  define_kernel("vt::mul.Scalar(Tensor self, Scalar other) -> Tensor",
                VT_DEVICE_CPU, &mul_scalar_kernel);
  define_kernel("vt::mul_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
                VT_DEVICE_CPU, &mul__kernel);
  define_kernel("vt::mul_.Scalar(Tensor(a!) self, Scalar other) -> Tensor(a!)",
                VT_DEVICE_CPU, &mul__scalar_kernel);
  define_kernel("vt::div.Tensor(Tensor self, Tensor other) -> Tensor",
                VT_DEVICE_CPU, &div_kernel);
  define_kernel("vt::div.Scalar(Tensor self, Scalar other) -> Tensor",
                VT_DEVICE_CPU, &div_scalar_kernel);
  define_kernel("vt::div_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
                VT_DEVICE_CPU, &div__kernel);
  define_kernel("vt::div_.Scalar(Tensor(a!) self, Scalar other) -> Tensor(a!)",
                VT_DEVICE_CPU, &div__scalar_kernel);
  define_kernel("vt::rdiv.Scalar(Tensor self, Scalar other) -> Tensor",
                VT_DEVICE_CPU, &rdiv_scalar_kernel);
}

}  // namespace vt
