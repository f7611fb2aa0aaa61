// Portable SIMD for the reduction kernels through the GCC/Clang vector extension: vectors
// support element-wise arithmetic, comparisons that give lane masks, and `mask ? a : b`, so one
// generic expression serves scalars and vectors. Written out explicitly because the compiler
// will not if-convert float compares under default (trapping) math, which left max and exp
// loops scalar. Without AVX the same code compiles to 16-byte vectors.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "ops/cast.h"

namespace vt::reduce {

// Through a class: GCC drops the attribute from an alias template of a dependent type.
template <class T, int N>
struct vec_type {
  typedef T type __attribute__((vector_size(N * sizeof(T))));
};
template <class T, int N>
using vec = typename vec_type<T, N>::type;

template <class V>
concept Vector = requires(V v) { v[0]; } && !std::is_pointer_v<V>;

template <class V>
struct elem_of { using type = V; };
template <Vector V>
struct elem_of<V> { using type = std::remove_cvref_t<decltype(std::declval<V>()[0])>; };
template <class V>
using elem_t = typename elem_of<V>::type;

template <class V>
inline constexpr int lanes_v = int(sizeof(V) / sizeof(elem_t<V>));

// Element types the vector paths take (16-bit floats and bool stay scalar).
template <class T>
inline constexpr bool simd_elem_v = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

// Lanes per vector when T elements map to A accumulators: both vectors fit one native register
// (32 bytes with AVX, else 16). Wider generic vectors compile poorly and change the calling
// convention of the helpers below.
#if defined(__AVX__)
inline constexpr size_t kVectorBytes = 32;
#else
inline constexpr size_t kVectorBytes = 16;
#endif
template <class T, class A>
inline constexpr int simd_lanes_v = int(kVectorBytes / std::max(sizeof(T), sizeof(A)));

template <class V>
inline V splat(elem_t<V> s) {
  if constexpr (Vector<V>) return V{} + s;
  else return s;
}

template <class V>
inline V load(const elem_t<V>* p) {
  if constexpr (Vector<V>) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  } else {
    return *p;
  }
}

template <class V>
inline void store(elem_t<V>* p, V v) {
  if constexpr (Vector<V>) std::memcpy(p, &v, sizeof(V));
  else *p = v;
}

// Converts element-wise to A: a scalar or a vector of A.
template <class A, class V>
inline auto cvt(V x) {
#if defined(__AVX__)
  // GCC 12 splits this one into 128-bit halves; float32 sums widen exactly here.
  if constexpr (std::is_same_v<V, vec<float, 4>> && std::is_same_v<A, double>)
    return vec<double, 4>(_mm256_cvtps_pd(__m128(x)));
  else
#endif
  if constexpr (Vector<V>) return __builtin_convertvector(x, vec<A, lanes_v<V>>);
  else return cast_value<A>(x);
}

// A mask (or bool) as 0/1 in A.
template <class A, class M>
inline auto mask01(M m) {
  if constexpr (Vector<M>) return cvt<A>(m & 1);  // lanes of a mask are 0 or -1
  else return A(m ? 1 : 0);
}

// |x| for floats; clearing the sign bit also turns -0.0 into 0.0.
template <class V>
inline V vabs(V x) {
  if constexpr (Vector<V>) {
    using U = std::conditional_t<sizeof(elem_t<V>) == 4, uint32_t, uint64_t>;
    using UV = vec<U, lanes_v<V>>;
    return std::bit_cast<V>(std::bit_cast<UV>(x) & splat<UV>(~(U(1) << (8 * sizeof(U) - 1))));
  } else {
    return std::abs(x);
  }
}

// NaN-propagating max (or min): a NaN beats everything, as in torch.
template <bool Max, class V>
inline V pick_extreme(V a, V x) {
  auto take = [&] {
    if constexpr (Max) return x > a;
    else return x < a;
  }();
  if constexpr (std::is_floating_point_v<elem_t<V>>) {
    if constexpr (Vector<V>) take = take | (x != x);
    else take = take || x != x;
  }
  return take ? x : a;
}

// Asks for the cache lines kPrefetchBytes past [p, p + bytes): the hardware prefetcher alone
// leaves a streaming read short of memory bandwidth on the machines measured (a float32 sum ran
// 1.2x faster with it). Prefetching past the end of an array is harmless.
inline constexpr size_t kPrefetchBytes = 4096;
inline void prefetch_ahead(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p) + kPrefetchBytes;
  for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(c + b);
}

// exp on float lanes (Cephes' polynomial, about 1 ulp); NaN stays NaN, results below float's
// normal range flush to 0.
template <class V>
inline V exp_vec(V x) {
  using I = std::conditional_t<Vector<V>, vec<int32_t, lanes_v<V>>, int32_t>;
  const V hi = splat<V>(88.72283935546875f), lo = splat<V>(-87.0f);  // log(FLT_MAX); tiny below lo
  V xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits: n without a
  // float-to-int conversion or a floor call.
  const float magic = 12582912.0f;
  V t = xc * 1.44269504088896341f + magic;
  V fx = t - magic;
  I n = std::bit_cast<I>(t) - std::bit_cast<int32_t>(magic);
  V r = xc - fx * 0.693359375f + fx * 2.12194440e-4f;
  V y = splat<V>(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.f;
  // 2^(n-1) then *2 keeps n = 128 representable at the top of the range.
  V v = y * std::bit_cast<V>((n + 126) << 23) * 2.f;
  v = x > hi ? splat<V>(INFINITY) : v;
  return x < lo ? splat<V>(0.f) : v;
}

}  // namespace vt::reduce
