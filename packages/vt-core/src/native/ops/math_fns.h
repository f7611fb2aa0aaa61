// Math functions for element loops. vt::math: glibc's vector math (libmvec) through SIMD-clone
// declarations, which the compiler vectorizes in a plain loop over scalars. vt::act: exp and the
// activations' (gelu's) tanh and erf, vec_math.h's polynomials for float32 and for vectors of
// floats (map_loop's vectorized runs, loops.h), libmvec's for float64.
#pragma once

#include <cmath>

#include "ops/vec_math.h"

// glibc's libmvec (linked through libm) has vector versions of these functions since 2.35.
// Declaring them under other names, as const functions with SIMD clones, lets GCC vectorize the
// contiguous loops that call them (errno, which blocks that for the std:: names, is never read
// here). Their accuracy is within a few ulps, like torch's own vector math.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define VT_MATH_FN(name)                                                                    \
  extern "C" float vt_vector_##name##f(float) noexcept __asm__(#name "f")                  \
      __attribute__((simd("notinbranch"), const));                                          \
  extern "C" double vt_vector_##name(double) noexcept __asm__(#name)                       \
      __attribute__((simd("notinbranch"), const));                                          \
  namespace vt::libmvec {                                                                   \
  inline float name(float x) { return vt_vector_##name##f(x); }                             \
  inline double name(double x) { return vt_vector_##name(x); }                              \
  }
#else
#define VT_MATH_FN(name)                                 \
  namespace vt::libmvec {                                \
  inline float name(float x) { return std::name(x); }    \
  inline double name(double x) { return std::name(x); }  \
  }
#endif
VT_MATH_FN(exp)
VT_MATH_FN(exp2)
VT_MATH_FN(expm1)
VT_MATH_FN(log)
VT_MATH_FN(log2)
VT_MATH_FN(log1p)
VT_MATH_FN(sin)
VT_MATH_FN(cos)
VT_MATH_FN(tan)
VT_MATH_FN(tanh)
VT_MATH_FN(erf)
#undef VT_MATH_FN

namespace vt::math {

using libmvec::cos;
using libmvec::erf;
using libmvec::exp;
using libmvec::exp2;
using libmvec::expm1;
using libmvec::log;
using libmvec::log1p;
using libmvec::log2;
using libmvec::sin;
using libmvec::tan;
using libmvec::tanh;
template <typename M> inline M sigmoid(M x) { return M(1) / (M(1) + exp(-x)); }

}  // namespace vt::math

namespace vt::act {

inline float exp(float x) { return vecmath::exp(x); }
inline vecmath::floatv exp(vecmath::floatv x) { return vecmath::exp(x); }
inline double exp(double x) { return libmvec::exp(x); }
inline float tanh(float x) { return vecmath::tanh(x); }
inline vecmath::floatv tanh(vecmath::floatv x) { return vecmath::tanh(x); }
inline double tanh(double x) { return libmvec::tanh(x); }
inline float erf(float x) { return vecmath::erf(x); }
inline vecmath::floatv erf(vecmath::floatv x) { return vecmath::erf(x); }
inline double erf(double x) { return libmvec::erf(x); }

}  // namespace vt::act
