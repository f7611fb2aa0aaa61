// Building blocks of the pointwise family's kernels: dtype sets (each op instantiates loops only
// for the dtypes it supports), runners that set up the TensorIterator and pick the loop for the
// compute dtype, and helpers that register an op's functional, in-place and out= forms from
// one implementation `Tensor impl(const Tensor& out, args...)` (out undefined: allocate).
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/loops.h"

namespace vt::pointwise {

enum class Dtypes { All, Numeric, Integral, IntegralNoBool, Floating };

template <typename T>
constexpr ScalarType dtype_of() {
  if constexpr (std::is_same_v<T, bool>) return ScalarType::Bool;
  else if constexpr (std::is_same_v<T, uint8_t>) return ScalarType::UInt8;
  else if constexpr (std::is_same_v<T, int8_t>) return ScalarType::Int8;
  else if constexpr (std::is_same_v<T, int16_t>) return ScalarType::Int16;
  else if constexpr (std::is_same_v<T, int32_t>) return ScalarType::Int32;
  else if constexpr (std::is_same_v<T, int64_t>) return ScalarType::Int64;
  else if constexpr (std::is_same_v<T, Half>) return ScalarType::Float16;
  else if constexpr (std::is_same_v<T, BFloat16>) return ScalarType::BFloat16;
  else if constexpr (std::is_same_v<T, float>) return ScalarType::Float32;
  else return ScalarType::Float64;
}

// torch's wording: NotImplementedError '"op" not implemented for 'dtype''.
[[noreturn]] inline void not_implemented_for(const char* op, ScalarType dt) {
  fail(VT_ERROR_NOT_IMPLEMENTED, "\"", op, "\" not implemented for '", dtype_name(dt), "'");
}

// Calls fn(T{}) for the element type T of dt when the set S holds it.
template <Dtypes S, typename Fn>
void visit(ScalarType dt, const char* op, Fn&& fn) {
  constexpr bool with_bool = S == Dtypes::All || S == Dtypes::Integral;
  constexpr bool with_ints = S != Dtypes::Floating;
  constexpr bool with_floats = S == Dtypes::All || S == Dtypes::Numeric || S == Dtypes::Floating;
  switch (dt) {
    case ScalarType::Bool: if constexpr (with_bool) return fn(bool{}); break;
    case ScalarType::UInt8: if constexpr (with_ints) return fn(uint8_t{}); break;
    case ScalarType::Int8: if constexpr (with_ints) return fn(int8_t{}); break;
    case ScalarType::Int16: if constexpr (with_ints) return fn(int16_t{}); break;
    case ScalarType::Int32: if constexpr (with_ints) return fn(int32_t{}); break;
    case ScalarType::Int64: if constexpr (with_ints) return fn(int64_t{}); break;
    case ScalarType::Float16: if constexpr (with_floats) return fn(Half{}); break;
    case ScalarType::BFloat16: if constexpr (with_floats) return fn(BFloat16{}); break;
    case ScalarType::Float32: if constexpr (with_floats) return fn(float{}); break;
    case ScalarType::Float64: if constexpr (with_floats) return fn(double{}); break;
  }
  not_implemented_for(op, dt);
}

// NaN test that also compiles (to false) for integer types.
template <typename M>
constexpr bool is_nan(M x) {
  if constexpr (std::is_floating_point_v<M>) return x != x;
  else return false;
}

struct Promote {
  bool int_to_float = false;  // integer and bool inputs compute in the default float dtype
  bool bool_out = false;      // the result is a bool tensor (comparisons, logical ops)
};

inline IterConfig config(const char* name, const Tensor& out, std::vector<Tensor> inputs,
                         std::vector<Scalar> scalars, Promote p) {
  IterConfig c;
  c.op_name = name;
  c.outputs = {out};
  c.inputs = std::move(inputs);
  c.scalars = std::move(scalars);
  c.promote_int_to_float = p.int_to_float;
  if (p.bool_out) c.output_dtype = ScalarType::Bool;
  return c;
}

// Runs make(T{}) over the iterator's inputs (all of compute dtype T). The output is bool when
// the functor returns bool, T otherwise.
template <Dtypes S, size_t N, typename Make>
Tensor run(const char* name, TensorIterator& it, const Tensor& out, Make&& make) {
  visit<S>(it.compute_dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    auto f = make(tag);
    auto call = [&]<size_t... I>(std::index_sequence<I...>) {
      using R = decltype(f(((void)I, M())...));
      using Out = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
      VT_INTERNAL_ASSERT(it.dtype(0) == dtype_of<Out>());
      map_loop<Out, std::tuple_element_t<I, std::tuple<T, T, T>>...>(it, f);
    };
    call(std::make_index_sequence<N>{});
  });
  it.finish();
  if (out.defined()) out.bump_version();
  return it.output();
}

// The functor for dtype T of an op whose expression fn is written once for scalars and vectors
// of floats (generic in its arguments): float32 runs it a vector at a time (map_loop), other
// dtypes take it element by element on opmath values.
template <typename T, typename Fn>
auto float_vectorized(Fn fn) {
  if constexpr (std::is_same_v<T, float>) {
    return vectorized(fn);
  } else {
    return [fn](auto... x) -> opmath_t<T> { return fn(opmath_t<T>(x)...); };
  }
}

template <Dtypes S, typename Make>
Tensor unary(const char* name, const Tensor& out, const Tensor& a, Promote p, Make make) {
  TensorIterator it(config(name, out, {a}, {}, p));
  return run<S, 1>(name, it, out, make);
}

template <Dtypes S, typename Make>
Tensor binary(const char* name, const Tensor& out, const Tensor& a, const Tensor& b, Promote p,
              Make make) {
  TensorIterator it(config(name, out, {a, b}, {}, p));
  return run<S, 2>(name, it, out, make);
}

// b is a Python number: it takes part in promotion and is captured in the compute type.
template <Dtypes S, typename Make>
Tensor binary(const char* name, const Tensor& out, const Tensor& a, const Scalar& b, Promote p,
              Make make) {
  TensorIterator it(config(name, out, {a}, {b}, p));
  return run<S, 1>(name, it, out, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    auto f = make(tag);
    const M bv = b.to<M>();
    return [f, bv](M x) { return f(x, bv); };
  });
}

// a is a Python number on the left of the tensor b.
template <Dtypes S, typename Make>
Tensor binary(const char* name, const Tensor& out, const Scalar& a, const Tensor& b, Promote p,
              Make make) {
  TensorIterator it(config(name, out, {b}, {a}, p));
  return run<S, 1>(name, it, out, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    auto f = make(tag);
    const M av = a.to<M>();
    return [f, av](M y) { return f(av, y); };
  });
}

// Registration: an implementation Tensor impl(const Tensor& out, Args...) gives the kernels of
// its three forms.
template <auto F> struct Forms;
template <typename... Args, Tensor (*F)(const Tensor&, Args...)>
struct Forms<F> {
  static Tensor functional(Args... args) { return F(Tensor(), args...); }
  static Tensor out(Args... args, const Tensor& out) { return F(out, args...); }
};

// Kernels for an impl whose first argument (after out) is self, written in place.
template <auto F> struct InplaceForm;
template <typename... Rest, Tensor (*F)(const Tensor&, const Tensor&, Rest...)>
struct InplaceForm<F> {
  static Tensor inplace(const Tensor& self, Rest... rest) { return F(self, self, rest...); }
};

inline std::string functional_schema(std::string_view name, std::string_view overload,
                                     std::string_view args, std::string_view suffix = "") {
  std::string s = "vt::";
  s.append(name).append(suffix);
  if (!overload.empty()) s.append(".").append(overload);
  return s.append("(").append(args).append(") -> Tensor");
}
// args start with "Tensor self", which becomes the written-to Tensor(a!) self.
inline std::string inplace_schema(std::string_view name, std::string_view overload,
                                  std::string_view args) {
  std::string s = functional_schema(name, overload, args.substr(6), "_");
  s.insert(s.find('(') + 1, "Tensor(a!)");
  return s.append("(a!)");
}
inline std::string out_schema(std::string_view name, std::string_view overload,
                              std::string_view args) {
  std::string s = functional_schema(name, overload, args);
  size_t close = s.rfind(')');
  bool has_star = args.find('*') != std::string_view::npos;
  s.insert(close, has_star ? ", Tensor(a!) out" : ", *, Tensor(a!) out");
  return s.append("(a!)");
}

// Defines vt::name[.overload](args) -> Tensor and, when asked, vt::name_[.overload] (self
// written in place) and vt::name.<out_overload>(args, *, Tensor(a!) out). args is the schema's
// argument list, e.g. "Tensor self, Scalar other, *, Scalar alpha=1".
template <auto F>
void define_forms(std::string_view name, std::string_view overload, std::string_view args,
                  bool with_inplace, std::string_view out_overload = {}) {
  define_kernel(functional_schema(name, overload, args), VT_DEVICE_CPU, &Forms<F>::functional);
  if (with_inplace)
    define_kernel(inplace_schema(name, overload, args), VT_DEVICE_CPU, &InplaceForm<F>::inplace);
  if (!out_overload.empty())
    define_kernel(out_schema(name, out_overload, args), VT_DEVICE_CPU, &Forms<F>::out);
}

// name(Tensor self) with name_ and name.out.
template <auto F>
void define_unary(std::string_view name) {
  define_forms<F>(name, "", "Tensor self", true, "out");
}

// name.Tensor(Tensor self, Tensor other) with name_.Tensor and name.out.
template <auto F>
void define_binary_tensor(std::string_view name, bool with_inplace = true) {
  define_forms<F>(name, "Tensor", "Tensor self, Tensor other", with_inplace, "out");
}

// name.Scalar(Tensor self, Scalar other) with name_.Scalar.
template <auto F>
void define_binary_scalar(std::string_view name) {
  define_forms<F>(name, "Scalar", "Tensor self, Scalar other", true);
}

// True division (defined with div), shared by div's rounding_mode=None forms.
Tensor true_divide(const Tensor& out, const Tensor& a, const Tensor& b);
Tensor true_divide(const Tensor& out, const Tensor& a, const Scalar& b);

// The family's groups of ops, called from register_unary_ops() and register_binary_ops().
void register_unary_math_ops();
void register_activation_backward_ops();
void register_unary_special_ops();
void register_clamp_ops();
void register_divide_ops();
void register_pow_ops();
void register_compare_ops();
void register_bitwise_ops();
void register_ternary_ops();

}  // namespace vt::pointwise
