// Loop templates shared by the elementwise CPU kernels: contiguous runs are plain indexed
// loops the compiler vectorizes; anything else walks byte strides.
#pragma once

#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/scalar_type.h"
#include "core/thread_pool.h"
#include "iterator/tensor_iterator.h"
#include "ops/vec_math.h"

namespace vt {

namespace detail {

template <typename T>
inline const T& at(const char* p, int64_t i, int64_t stride) {
  return *reinterpret_cast<const T*>(p + i * stride);
}

}  // namespace detail

// A functor that also takes vecmath vectors (floatv, doublev) of its scalar type: map_loop runs
// the contiguous runs of a float32 or float64 op through it a vector at a time. For math whose
// branch-free form the compiler would not vectorize on its own (it keeps possibly-trapping
// floating-point work out of selects).
template <typename F>
struct VecFn {
  F f;
  template <typename... X>
  auto operator()(X... x) const { return f(x...); }
};
template <typename F> VecFn<F> vectorized(F f) { return {f}; }

namespace detail {
template <typename F> inline constexpr bool is_vec_fn = false;
template <typename F> inline constexpr bool is_vec_fn<VecFn<F>> = true;
template <typename T> struct VecType { using type = void; };
template <> struct VecType<float> { using type = vecmath::floatv; };
template <> struct VecType<double> { using type = vecmath::doublev; };

template <typename V, typename T>
inline V vload(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// out[k, k + W) = vec_at(k) for whole vectors of [0, n); returns where the scalar tail starts.
template <typename V, typename T, typename VecAt>
inline int64_t vec_run(int64_t n, T* out, VecAt vec_at) {
  constexpr int64_t W = int64_t(sizeof(V) / sizeof(T));
  int64_t k = 0;
  for (; k + W <= n; k += W) {
    const V r = vec_at(k);
    std::memcpy(out + k, &r, sizeof r);
  }
  return k;
}
}  // namespace detail

// out = f(in...) with operand 0 of type Out and input k of type In_k; f takes opmath values
// and its result is converted to Out. Contiguous runs (and, for two inputs, one broadcast
// input) get loops without stride arithmetic.
template <typename Out, typename... In, typename F>
void map_loop(const TensorIterator& it, F f, int64_t grain = kGrainSize) {
  constexpr size_t N = sizeof...(In);
  it.for_each([&f](char** data, const int64_t* s, int64_t n) {
    Out* out = reinterpret_cast<Out*>(data[0]);
    bool contiguous = s[0] == int64_t(sizeof(Out));
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((contiguous = contiguous && s[I + 1] == int64_t(sizeof(In))), ...);
      if (contiguous) {
        auto run = [&](const In*... in) {
          int64_t i = 0;
          using V = typename detail::VecType<Out>::type;
          if constexpr (detail::is_vec_fn<F> && !std::is_void_v<V> && (std::is_same_v<In, Out> && ...))
            i = detail::vec_run<V>(n, out, [&](int64_t k) { return f(detail::vload<V>(in + k)...); });
          for (; i < n; ++i) out[i] = static_cast<Out>(f(opmath_t<In>(in[i])...));
        };
        return run(reinterpret_cast<const In*>(data[I + 1])...);
      }
      if constexpr (N == 2) {
        using A = std::tuple_element_t<0, std::tuple<In...>>;
        using B = std::tuple_element_t<1, std::tuple<In...>>;
        const A* a = reinterpret_cast<const A*>(data[1]);
        const B* b = reinterpret_cast<const B*>(data[2]);
        // A vectorized functor also takes its broadcast operand as a vector (a gradient of ones
        // from sum() arrives with stride 0).
        using V = typename detail::VecType<Out>::type;
        constexpr bool kVec = detail::is_vec_fn<F> && !std::is_void_v<V> && std::is_same_v<A, Out> &&
                              std::is_same_v<B, Out>;
        if (s[0] == int64_t(sizeof(Out)) && s[1] == int64_t(sizeof(A)) && s[2] == 0) {
          const opmath_t<B> bv(*b);
          int64_t i = 0;
          if constexpr (kVec) i = detail::vec_run<V>(n, out, [&](int64_t k) { return f(detail::vload<V>(a + k), V{} + bv); });
          for (; i < n; ++i) out[i] = static_cast<Out>(f(opmath_t<A>(a[i]), bv));
          return;
        }
        if (s[0] == int64_t(sizeof(Out)) && s[1] == 0 && s[2] == int64_t(sizeof(B))) {
          const opmath_t<A> av(*a);
          int64_t i = 0;
          if constexpr (kVec) i = detail::vec_run<V>(n, out, [&](int64_t k) { return f(V{} + av, detail::vload<V>(b + k)); });
          for (; i < n; ++i) out[i] = static_cast<Out>(f(av, opmath_t<B>(b[i])));
          return;
        }
      }
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(data[0] + i * s[0]) =
            static_cast<Out>(f(opmath_t<In>(detail::at<In>(data[I + 1], i, s[I + 1]))...));
    }(std::index_sequence_for<In...>{});
  }, grain);
}

// out = f(a) with a of the same dtype T; f works on opmath values.
template <typename T, typename F>
void unary_loop(const TensorIterator& it, F f) {
  map_loop<T, T>(it, f);
}

// out = f(a, b), all of dtype T.
template <typename T, typename F>
void binary_loop(const TensorIterator& it, F f) {
  map_loop<T, T, T>(it, f);
}

// out = f(a, b, c), all of dtype T.
template <typename T, typename F>
void ternary_loop(const TensorIterator& it, F f) {
  map_loop<T, T, T, T>(it, f);
}

}  // namespace vt
