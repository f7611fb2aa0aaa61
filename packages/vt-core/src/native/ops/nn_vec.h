// Vectorized row helpers for the nn kernels: loads that widen 16-bit floats, exp of a vector
// (vec_math.h), and the row reductions that softmax, cross_entropy and attention share. A is the
// compute type (float or double); rows of 16-bit floats are widened to float as they are loaded.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/half.h"
#include "core/scalar_type.h"
#include "ops/vec_math.h"

#if defined(__AVX__) && defined(__F16C__)
#include <immintrin.h>
#define VT_NN_F16C 1
#else
#define VT_NN_F16C 0
#endif

namespace vt::nn {

using vecmath::doublev;
using vecmath::floatv;
using vecmath::int32v;
using vecmath::int64v;
using vecmath::kVecBytes;
using uint16v = uint16_t __attribute__((vector_size(kVecBytes / 2)));  // a floatv's worth of 16-bit

template <typename A> struct VecOf;
template <> struct VecOf<float> { using type = floatv; };
template <> struct VecOf<double> { using type = doublev; };
template <typename A> using vec = typename VecOf<A>::type;
template <typename A> inline constexpr int kWidth = kVecBytes / int(sizeof(A));

// Independent accumulators per scalar row loop (two float vectors' worth) keep the adds pipelined.
inline constexpr int kLanes = 2 * kWidth<float>;

template <typename A> inline vec<A> splat(A v) { return vec<A>{} + v; }

// kWidth<A> elements of T as a vector of A (T is A, or a 16-bit float when A is float).
template <typename A, typename T>
inline vec<A> load(const T* p) {
  vec<A> v;
  if constexpr (std::is_same_v<T, A>) {
    std::memcpy(&v, p, sizeof v);
#if VT_NN_F16C
  } else if constexpr (std::is_same_v<T, Half>) {
    const __m256 f = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    std::memcpy(&v, &f, sizeof v);
#endif
  } else {
    for (int l = 0; l < kWidth<A>; ++l) v[l] = A(p[l]);
  }
  return v;
}
template <typename A> inline void store(A* p, vec<A> v) { std::memcpy(p, &v, sizeof v); }
template <typename V> inline V max_vec(V a, V b) { return b > a ? b : a; }

inline floatv exp_vec(floatv x) { return vecmath::exp(x); }
inline doublev exp_vec(doublev x) { return vecmath::exp(x); }

template <typename A> inline A exp_acc(A x) { return vecmath::exp(x); }
template <typename A> inline A max_acc(A a, A b) { return b > a ? b : a; }

// A row of T as float and back (round to nearest even), vectorized for the 16-bit types.
template <typename T>
void widen(const T* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + kWidth<float> <= n; i += kWidth<float>) store(out + i, load<float>(x + i));
  for (; i < n; ++i) out[i] = float(x[i]);
}

template <typename T>
void narrow(const float* x, T* out, int64_t n) {
  constexpr int W = kWidth<float>;
  int64_t i = 0;
  if constexpr (std::is_same_v<T, BFloat16>) {
    for (; i + W <= n; i += W) {
      const int32v u = std::bit_cast<int32v>(load<float>(x + i));
      const int32v nan = (u & 0x7fffffff) > 0x7f800000;
      const int32v rounded = (u + (0x7fff + ((u >> 16) & 1))) >> 16;
      const uint16v bits = __builtin_convertvector(nan ? int32v{} + 0x7fc0 : rounded & 0xffff, uint16v);
      std::memcpy(static_cast<void*>(out + i), &bits, sizeof bits);
    }
#if VT_NN_F16C
  } else if constexpr (std::is_same_v<T, Half>) {
    for (; i + W <= n; i += W) {
      __m256 f;
      std::memcpy(&f, x + i, sizeof f);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT));
    }
#endif
  }
  for (; i < n; ++i) out[i] = T(x[i]);
}

// The largest element of a contiguous row (a NaN may be skipped here; it reaches every result
// through the sum of exponentials instead).
template <typename T, typename A = opmath_t<T>>
A row_max(const T* x, int64_t n) {
  constexpr int W = kWidth<A>;
  A m = -std::numeric_limits<A>::infinity();
  vec<A> m0 = splat(m), m1 = m0;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = max_vec(m0, load<A>(x + i));
    m1 = max_vec(m1, load<A>(x + i + W));
  }
  m0 = max_vec(m0, m1);
  for (int l = 0; l < W; ++l) m = max_acc(m, m0[l]);
  for (; i < n; ++i) m = max_acc(m, A(x[i]));
  return m;
}

// sum(x) over a contiguous row, in independent lanes.
template <typename T, typename A = opmath_t<T>>
A row_sum(const T* x, int64_t n) {
  A lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += A(x[i + l]);
  A s = 0;
  for (A l : lanes) s += l;
  for (; i < n; ++i) s += A(x[i]);
  return s;
}

// sum((x - center)^2); center 0 gives the sum of squares.
template <typename T, typename A = opmath_t<T>>
A row_sum_sq(const T* x, int64_t n, A center) {
  A lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      A d = A(x[i + l]) - center;
      lanes[l] += d * d;
    }
  A s = 0;
  for (A l : lanes) s += l;
  for (; i < n; ++i) {
    A d = A(x[i]) - center;
    s += d * d;
  }
  return s;
}

// sum(exp(x - m)) over a contiguous row; with kStore the exponentials also go to out (which
// may be x itself when T is A). Two vectors per step keep the adds pipelined.
template <bool kStore, typename T, typename A = opmath_t<T>>
A row_sum_exp(const T* x, int64_t n, A m, A* out) {
  constexpr int W = kWidth<A>;
  vec<A> s0 = {}, s1 = {};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const vec<A> e0 = exp_vec(load<A>(x + i) - m), e1 = exp_vec(load<A>(x + i + W) - m);
    if constexpr (kStore) store(out + i, e0), store(out + i + W, e1);
    s0 += e0;
    s1 += e1;
  }
  s0 += s1;
  A s = 0;
  for (int l = 0; l < W; ++l) s += s0[l];
  for (; i < n; ++i) {
    const A e = exp_acc(A(A(x[i]) - m));
    if constexpr (kStore) out[i] = e;
    s += e;
  }
  return s;
}

// log(sum(exp(x))) of a contiguous row, stable.
template <typename T, typename A = opmath_t<T>>
A row_log_sum_exp(const T* x, int64_t n) {
  const A m = row_max(x, n);
  return m + std::log(row_sum_exp<false>(x, n, m, static_cast<A*>(nullptr)));
}

// m[j] = max(m[j], x[j]) and e[j] = exp(x[j] - m[j]) over j < n: the column-wise steps of a
// softmax over a non-last dim.
template <typename T, typename A = opmath_t<T>>
void max_into(const T* x, A* m, int64_t n) {
  int64_t j = 0;
  for (; j + kWidth<A> <= n; j += kWidth<A>) store(m + j, max_vec(load<A>(m + j), load<A>(x + j)));
  for (; j < n; ++j) m[j] = max_acc(m[j], A(x[j]));
}

template <typename T, typename A = opmath_t<T>>
void exp_minus(const T* x, const A* m, A* e, int64_t n) {
  int64_t j = 0;
  for (; j + kWidth<A> <= n; j += kWidth<A>) store(e + j, exp_vec(load<A>(x + j) - load<A>(m + j)));
  for (; j < n; ++j) e[j] = exp_acc(A(A(x[j]) - m[j]));
}

}  // namespace vt::nn
