// Vectorized float math for the nn kernels: a polynomial exp on GCC/Clang vector types (so it
// vectorizes whatever the floating-point flags; a libm exp would not) and the row reductions
// softmax, cross_entropy and attention share. Rows of 16-bit floats are widened to float as they
// are loaded; double rows take scalar loops with std::exp.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/scalar_type.h"

namespace vt::nn {

// One AVX register of floats where the build targets AVX, one SSE register otherwise (wider
// vectors without AVX would change the calling convention).
#if defined(__AVX__)
inline constexpr int kVec = 8;
#else
inline constexpr int kVec = 4;
#endif
using floatv = float __attribute__((vector_size(kVec * sizeof(float))));
using int32v = int32_t __attribute__((vector_size(kVec * sizeof(int32_t))));

// Independent accumulators per row reduction (two vectors' worth) keep the adds pipelined.
inline constexpr int kLanes = 2 * kVec;

inline floatv splat(float v) { return floatv{} + v; }

template <typename T>
inline floatv load_floats(const T* p) {
  floatv v;
  if constexpr (std::is_same_v<T, float>) {
    std::memcpy(&v, p, sizeof v);
  } else {
    for (int l = 0; l < kVec; ++l) v[l] = float(p[l]);
  }
  return v;
}
inline void store_floats(float* p, floatv v) { std::memcpy(p, &v, sizeof v); }

inline floatv max_floats(floatv a, floatv b) { return b > a ? b : a; }

// exp: Cody-Waite range reduction and Cephes' degree-6 polynomial, within about 1 ulp; 2^n is
// applied in two halves so results reach the subnormal range. NaN propagates, overflow gives
// inf, underflow 0.
inline floatv exp_floats(floatv x) {
  const floatv lo = splat(-104.0f), hi = splat(88.76f);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const floatv t = x * 1.44269504088896341f + kRound;
  const floatv n = t - kRound;
  const int32v ni = std::bit_cast<int32v>(t) - std::bit_cast<int32_t>(kRound);
  floatv r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  floatv p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const int32v half = ni >> 1;
  return p * std::bit_cast<floatv>((half + 127) << 23) * std::bit_cast<floatv>((ni - half + 127) << 23);
}

template <typename A>
inline A exp_acc(A x) {
  if constexpr (std::is_same_v<A, float>) return exp_floats(splat(x))[0];
  else return std::exp(x);
}

template <typename A>
inline A max_acc(A a, A b) { return b > a ? b : a; }

// The largest element of a contiguous row (a NaN may be skipped here; it reaches every result
// through the sum of exponentials instead).
template <typename T, typename A = opmath_t<T>>
A row_max(const T* x, int64_t n) {
  A m = -std::numeric_limits<A>::infinity();
  int64_t i = 0;
  if constexpr (std::is_same_v<A, float>) {
    floatv m0 = splat(m), m1 = m0;
    for (; i + kLanes <= n; i += kLanes) {
      m0 = max_floats(m0, load_floats(x + i));
      m1 = max_floats(m1, load_floats(x + i + kVec));
    }
    m0 = max_floats(m0, m1);
    for (int l = 0; l < kVec; ++l) m = max_acc(m, m0[l]);
  }
  for (; i < n; ++i) m = max_acc(m, A(x[i]));
  return m;
}

// sum(exp(x - m)) over a contiguous row; with kStore the exponentials also go to out (which
// may be x itself when T is A).
template <bool kStore, typename T, typename A = opmath_t<T>>
A row_sum_exp(const T* x, int64_t n, A m, A* out) {
  A s = 0;
  int64_t i = 0;
  if constexpr (std::is_same_v<A, float>) {
    floatv s0 = {}, s1 = {};
    for (; i + kLanes <= n; i += kLanes) {
      const floatv e0 = exp_floats(load_floats(x + i) - m), e1 = exp_floats(load_floats(x + i + kVec) - m);
      if constexpr (kStore) store_floats(out + i, e0), store_floats(out + i + kVec, e1);
      s0 += e0;
      s1 += e1;
    }
    s0 += s1;
    for (int l = 0; l < kVec; ++l) s += s0[l];
  }
  for (; i < n; ++i) {
    const A e = exp_acc(A(A(x[i]) - m));
    if constexpr (kStore) out[i] = e;
    s += e;
  }
  return s;
}

// m[j] = max(m[j], x[j]) and e[j] = exp(x[j] - m[j]) over j < n: the column-wise steps of a
// softmax over a non-last dim.
template <typename T, typename A = opmath_t<T>>
void max_into(const T* x, A* m, int64_t n) {
  int64_t j = 0;
  if constexpr (std::is_same_v<A, float>)
    for (; j + kVec <= n; j += kVec) store_floats(m + j, max_floats(load_floats(m + j), load_floats(x + j)));
  for (; j < n; ++j) m[j] = max_acc(m[j], A(x[j]));
}

template <typename T, typename A = opmath_t<T>>
void exp_minus(const T* x, const A* m, A* e, int64_t n) {
  int64_t j = 0;
  if constexpr (std::is_same_v<A, float>)
    for (; j + kVec <= n; j += kVec) store_floats(e + j, exp_floats(load_floats(x + j) - load_floats(m + j)));
  for (; j < n; ++j) e[j] = exp_acc(A(A(x[j]) - m[j]));
}

}  // namespace vt::nn
