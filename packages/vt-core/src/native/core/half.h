// 16-bit floating types stored as bits; arithmetic happens in float (opmath).
#pragma once

#include <cstdint>
#include <cstring>

namespace vt {

namespace detail {
inline uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
}  // namespace detail

struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  BFloat16(float f) : bits(from_float(f)) {}  // NOLINT: implicit like a builtin float type
  operator float() const { return detail::bits_float(uint32_t(bits) << 16); }

  static uint16_t from_float(float f) {
    uint32_t u = detail::float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN stays a quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);                       // round to nearest even
    return uint16_t(u >> 16);
  }
};

struct Half {
  uint16_t bits = 0;
  Half() = default;
  Half(float f) : bits(from_float(f)) {}  // NOLINT
  operator float() const { return to_float(bits); }

  static float to_float(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return detail::bits_float(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
      if (man == 0) return detail::bits_float(sign);
      // Subnormal: value is man * 2^-24.
      float v = float(man) * 5.9604644775390625e-8f;
      return sign ? -v : v;
    }
    return detail::bits_float(sign | ((exp + 112u) << 23) | (man << 13));
  }

  static uint16_t from_float(float f) {
    uint32_t u = detail::float_bits(f);
    uint16_t sign = uint16_t((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u);    // NaN
    if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);   // rounds to inf
    if (a < 0x38800000u) {                                   // subnormal or zero in half
      // Adding 0.5 puts the half subnormal bits at the bottom of the float mantissa and lets
      // the FPU round to nearest even.
      float v = detail::bits_float(a) + 0.5f;
      return uint16_t(sign | uint16_t(detail::float_bits(v) - 0x3f000000u));
    }
    uint32_t mant_odd = (a >> 13) & 1u;
    a += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round to nearest even
    return uint16_t(sign | uint16_t(a >> 13));
  }
};

}  // namespace vt
