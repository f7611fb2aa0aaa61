// Elementary functions for the CPU kernels, written once for a scalar (float, double) and for
// GCC vector types (floatv, doublev): range reduction plus polynomials, branch-free. The vector
// forms serve map_loop's vectorized runs (loops.h) and the row kernels of the nn family.
// float32 exp is within about 1 ulp of the exact value, tanh and erf (for the activations) within
// 6, sigmoid within 3; NaN propagates, overflow gives inf.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

#if defined(__SSE4_1__) || defined(__AVX__) || defined(__FMA__)
#include <immintrin.h>
#endif

namespace vt::vecmath {

// One AVX register where the build targets AVX, one SSE register otherwise (wider vectors
// without AVX would change the calling convention).
#if defined(__AVX__)
inline constexpr int kVecBytes = 32;
#else
inline constexpr int kVecBytes = 16;
#endif
using floatv = float __attribute__((vector_size(kVecBytes)));
using doublev = double __attribute__((vector_size(kVecBytes)));
using int32v = int32_t __attribute__((vector_size(kVecBytes)));
using int64v = int64_t __attribute__((vector_size(kVecBytes)));

template <typename V> struct Traits;
template <> struct Traits<float> { using Int = int32_t; using Scalar = float; };
template <> struct Traits<double> { using Int = int64_t; using Scalar = double; };
template <> struct Traits<floatv> { using Int = int32v; using Scalar = float; };
template <> struct Traits<doublev> { using Int = int64v; using Scalar = double; };
template <typename V> using int_of = typename Traits<V>::Int;
template <typename V> using scalar_of = typename Traits<V>::Scalar;

// s in every lane (s itself for a scalar V).
template <typename V> inline V bcast(scalar_of<V> s) { return V{} + s; }

// a * b + c, fused where the target has FMA (the build's ISO mode never contracts a * b + c,
// and a fused step keeps the polynomials short and exact).
inline float madd(float a, float b, float c) {
#if defined(__FMA__)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}
inline double madd(double a, double b, double c) {
#if defined(__FMA__)
  return __builtin_fma(a, b, c);
#else
  return a * b + c;
#endif
}
inline floatv madd(floatv a, floatv b, floatv c) {
#if defined(__FMA__) && defined(__AVX__)
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}
inline doublev madd(doublev a, doublev b, doublev c) {
#if defined(__FMA__) && defined(__AVX__)
  return _mm256_fmadd_pd(a, b, c);
#else
  return a * b + c;
#endif
}

// Horner's rule: c[0] + c[1] x + ... + c[N-1] x^(N-1).
template <typename V, size_t N>
inline V poly(V x, const scalar_of<V> (&c)[N]) {
  V r = bcast<V>(c[N - 1]);
  for (size_t k = N - 1; k-- > 0;) r = madd(r, x, bcast<V>(c[k]));
  return r;
}

template <typename V>
using scalar_int_of = std::conditional_t<std::is_same_v<scalar_of<V>, float>, int32_t, int64_t>;
template <typename V>
inline constexpr scalar_int_of<V> kSignBit = scalar_int_of<V>(1) << (8 * sizeof(scalar_of<V>) - 1);

template <typename V> inline V abs_of(V x) {
  return std::bit_cast<V>(std::bit_cast<int_of<V>>(x) & ~kSignBit<V>);
}
// magnitude (non-negative) with the sign of sign.
template <typename V> inline V with_sign_of(V magnitude, V sign) {
  using I = int_of<V>;
  return std::bit_cast<V>(std::bit_cast<I>(magnitude) | (std::bit_cast<I>(sign) & kSignBit<V>));
}

// Whether any lane of a comparison result is set (the comparison itself for a scalar).
template <typename M>
inline bool any_lane(M mask) {
  if constexpr (std::is_same_v<M, bool>) {
    return mask;
#if defined(__AVX__)
  } else if constexpr (sizeof(M) == 32) {
    const __m256i m = std::bit_cast<__m256i>(mask);
    return !_mm256_testz_si256(m, m);
#endif
#if defined(__SSE4_1__)
  } else if constexpr (sizeof(M) == 16) {
    const __m128i m = std::bit_cast<__m128i>(mask);
    return !_mm_testz_si128(m, m);
#endif
  } else {
    int64_t bits = 0;
    for (size_t l = 0; l < sizeof(M) / sizeof(mask[0]); ++l) bits |= int64_t(mask[l]);
    return bits != 0;
  }
}

// exp: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two so n * ln2 is exact), a polynomial
// for e^r, and 2^n built in the exponent bits. Where a float lane's result leaves the normal
// range the whole vector takes a slower form: 2^n applied in two halves so results reach the
// subnormal range, and inputs that round to zero replaced before the arithmetic (producing
// subnormals costs a microcode assist per instruction, which masked -inf scores would pay).
template <typename V>
inline V exp(V x) {
  using I = int_of<V>;
  using S = scalar_of<V>;
  if constexpr (std::is_same_v<S, float>) {
    constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    static constexpr float c[] = {5.0000001201e-1f, 1.6666665459e-1f, 4.1665795894e-2f,
                                  8.3334519073e-3f, 1.3981999507e-3f, 1.9875691500e-4f};
    auto reduce = [&](V y, I& ni) {
      const V t = madd(y, bcast<V>(1.44269504088896341f), bcast<V>(kRound));
      const V n = t - kRound;
      ni = std::bit_cast<I>(t) - std::bit_cast<int32_t>(kRound);
      const V r = madd(n, bcast<V>(2.12194440e-4f), madd(n, bcast<V>(-0.693359375f), y));
      return madd(poly(r, c), r * r, r + 1.0f);  // e^r
    };
    I ni;
    if (!any_lane(abs_of(x) > 87.0f)) [[likely]] {
      const V p = reduce(x, ni);
      return p * std::bit_cast<V>((ni + 127) << 23);
    }
    const auto to_zero = x < -104.0f;
    x = to_zero ? V{} : x;
    x = x > 88.8f ? bcast<V>(88.8f) : x;
    const V p = reduce(x, ni);
    const I half = ni >> 1;
    const V e = p * std::bit_cast<V>((half + 127) << 23) * std::bit_cast<V>((ni - half + 127) << 23);
    return to_zero ? V{} : e;
  } else {
    const auto to_zero = x < -746.0;
    x = to_zero ? V{} : x;
    x = x > 709.8 ? bcast<V>(709.8) : x;
    constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
    const V t = madd(x, bcast<V>(1.4426950408889634), bcast<V>(kRound));
    const V n = t - kRound;
    const I ni = std::bit_cast<I>(t) - std::bit_cast<int64_t>(kRound);
    const V r = madd(n, bcast<V>(-1.42860682030941723212e-6), madd(n, bcast<V>(-6.93145751953125e-1), x));
    // e^r = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)): a Pade form accurate to double precision.
    const V rr = r * r;
    static constexpr double pc[] = {9.99999999999999999910e-1, 3.02994407707441961300e-2,
                                    1.26177193074810590878e-4};
    static constexpr double qc[] = {2.00000000000000000009e0, 2.27265548208155028766e-1,
                                    2.52448340349684104192e-3, 3.00198505138664455042e-6};
    const V p = r * poly(rr, pc);
    const V e = 1.0 + 2.0 * (p / (poly(rr, qc) - p));
    const I half = ni >> 1;
    const V s = e * std::bit_cast<V>((half + 1023) << 52) * std::bit_cast<V>((ni - half + 1023) << 52);
    return to_zero ? V{} : s;
  }
}

// float32 only below; double-precision kernels keep libm's (or libmvec's) versions.

// tanh and erf for the activations (gelu): odd and saturating, so x P(x^2) / Q(x^2) on |x| up
// to where the result rounds to +-1, a rational minimax fit for relative error (all
// coefficients positive: nothing cancels), with |x| clamped first and the result exactly +-1
// beyond (gelu's 1 + tanh cancels there). One rational is cheaper than range splitting, which
// evaluates every piece for a vector; float Horner steps leave them within 6 ulp, as torch's
// gelu is (the tanh and erf ops use glibc's vector functions instead).
template <typename V, size_t N>
inline V odd_rational(V c, const float (&p)[N], const float (&q)[N]) {
  const V s = c * c;
  return c * poly(s, p) / poly(s, q);
}

template <typename V>
inline V tanh(V x) {
  static_assert(std::is_same_v<scalar_of<V>, float>);
  const V a = abs_of(x);
  static constexpr float p[] = {9.999999794433552e-1f, 1.338102490516972e-1f, 3.4955872799642927e-3f,
                                2.0609069193601453e-5f, 1.3354644804022006e-8f};
  static constexpr float q[] = {1.0f, 4.6714340496149676e-1f, 2.5876978914500286e-2f, 3.2856334691402537e-4f,
                                7.776551152380175e-7f};
  const V r = odd_rational(a > 9.0f ? bcast<V>(9.0f) : a, p, q);
  return with_sign_of((a >= 9.0f) | (r > 1.0f) ? bcast<V>(1.0f) : r, x);
}

template <typename V>
inline V erf(V x) {
  static_assert(std::is_same_v<scalar_of<V>, float>);
  const V a = abs_of(x);
  static constexpr float p[] = {1.1283791457440064f, 1.9059490319180683e-1f, 5.276945470498776e-2f,
                                3.772600800747913e-3f, 2.848449334657773e-4f, 2.0460219417655677e-6f};
  static constexpr float q[] = {1.0f, 5.02243065246743e-1f, 1.1418320040238016e-1f, 1.498329890921301e-2f,
                                1.163870563171671e-3f, 3.8047791521648683e-5f};
  const V r = odd_rational(a > 3.925f ? bcast<V>(3.925f) : a, p, q);
  return with_sign_of((a >= 3.925f) | (r > 1.0f) ? bcast<V>(1.0f) : r, x);
}

// 1 / (1 + e^-x): exp overflows to inf for very negative x, which gives the right 0.
template <typename V>
inline V sigmoid(V x) {
  using S = scalar_of<V>;
  return S(1) / (S(1) + exp(-x));
}

}  // namespace vt::vecmath
