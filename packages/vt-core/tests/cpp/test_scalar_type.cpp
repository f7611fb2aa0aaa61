// core/scalar_type.h and core/half.h: torch's promotion lattice and 16-bit float conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/half.h"
#include "core/scalar_type.h"

namespace vt {
namespace {

constexpr ScalarType kAll[] = {ScalarType::Bool,    ScalarType::UInt8,    ScalarType::Int8,
                               ScalarType::Int16,   ScalarType::Int32,    ScalarType::Int64,
                               ScalarType::Float16, ScalarType::BFloat16, ScalarType::Float32,
                               ScalarType::Float64};

// torch's rules written as rules (not as a copied table), so the table is checked independently.
ScalarType expected_promotion(ScalarType a, ScalarType b) {
  using S = ScalarType;
  if (a == b) return a;
  if (a == S::Bool) return b;
  if (b == S::Bool) return a;
  if (is_floating(a) || is_floating(b)) {
    if (!is_floating(a)) return b;
    if (!is_floating(b)) return a;
    if (is_reduced_float(a) && is_reduced_float(b)) return S::Float32;  // f16 + bf16
    return itemsize(a) >= itemsize(b) ? a : b;
  }
  // Both integral: uint8 with a signed type needs a signed type wider than 8 bits.
  if (a == S::UInt8 || b == S::UInt8) {
    ScalarType s = a == S::UInt8 ? b : a;
    return itemsize(s) > 1 ? s : S::Int16;
  }
  return itemsize(a) >= itemsize(b) ? a : b;
}

TEST(ScalarType, PromotionMatchesTorchRulesForEveryPair) {
  for (ScalarType a : kAll)
    for (ScalarType b : kAll)
      EXPECT_EQ(promote_types(a, b), expected_promotion(a, b))
          << dtype_name(a) << " + " << dtype_name(b);
}

TEST(ScalarType, PromotionSpotChecks) {
  using S = ScalarType;
  EXPECT_EQ(promote_types(S::UInt8, S::Int8), S::Int16);
  EXPECT_EQ(promote_types(S::Int8, S::UInt8), S::Int16);
  EXPECT_EQ(promote_types(S::UInt8, S::Int16), S::Int16);
  EXPECT_EQ(promote_types(S::Bool, S::Bool), S::Bool);
  EXPECT_EQ(promote_types(S::Bool, S::UInt8), S::UInt8);
  EXPECT_EQ(promote_types(S::Bool, S::BFloat16), S::BFloat16);
  EXPECT_EQ(promote_types(S::BFloat16, S::Float16), S::Float32);
  EXPECT_EQ(promote_types(S::Float16, S::BFloat16), S::Float32);
  EXPECT_EQ(promote_types(S::Int64, S::Float16), S::Float16);
  EXPECT_EQ(promote_types(S::Int64, S::BFloat16), S::BFloat16);
  EXPECT_EQ(promote_types(S::Int32, S::Float32), S::Float32);
  EXPECT_EQ(promote_types(S::Float32, S::Float64), S::Float64);
}

TEST(ScalarType, ItemsizeNamesAndCodes) {
  EXPECT_EQ(itemsize(ScalarType::Bool), 1);
  EXPECT_EQ(itemsize(ScalarType::BFloat16), 2);
  EXPECT_EQ(itemsize(ScalarType::Int64), 8);
  EXPECT_STREQ(dtype_name(ScalarType::BFloat16), "bfloat16");
  EXPECT_STREQ(dtype_name(ScalarType::UInt8), "uint8");
  EXPECT_TRUE(is_valid_dtype(VT_DTYPE_FLOAT16));
  EXPECT_FALSE(is_valid_dtype((3 << 8) | 32));  // DLPack code 3 (opaque handle)
  EXPECT_FALSE(is_valid_dtype((2 << 8) | 8));  // float8 is not supported
  try {
    checked_dtype(12345);
    FAIL() << "an unknown dtype code must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), VT_ERROR_TYPE);
    EXPECT_NE(std::string(e.what()).find("12345"), std::string::npos);
  }
}

float bits_to_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

TEST(Half, ExactValuesAndSpecials) {
  EXPECT_EQ(Half(1.0f).bits, 0x3c00);
  EXPECT_EQ(Half(-2.0f).bits, 0xc000);
  EXPECT_EQ(Half(0.0f).bits, 0x0000);
  EXPECT_EQ(Half(-0.0f).bits, 0x8000);
  EXPECT_EQ(Half(65504.0f).bits, 0x7bff);  // max finite
  EXPECT_EQ(Half(65519.0f).bits, 0x7bff);  // still rounds down
  EXPECT_EQ(Half(65520.0f).bits, 0x7c00);  // the tie with "65536" rounds to inf
  EXPECT_EQ(Half(1e10f).bits, 0x7c00);
  EXPECT_EQ(Half(-1e10f).bits, 0xfc00);
  EXPECT_EQ(Half(std::numeric_limits<float>::infinity()).bits, 0x7c00);
  EXPECT_EQ(Half(-std::numeric_limits<float>::infinity()).bits, 0xfc00);
  uint16_t nan = Half(std::numeric_limits<float>::quiet_NaN()).bits;
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
  EXPECT_TRUE(std::isnan(float(Half::to_float(0x7e00))));
  EXPECT_TRUE(std::isnan(Half::to_float(0xfc01)));
  EXPECT_EQ(Half::to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(Half::to_float(0x7bff), 65504.0f);
  EXPECT_EQ(Half::to_float(0x0400), std::ldexp(1.0f, -14));  // smallest normal
}

TEST(Half, Subnormals) {
  const float tiny = std::ldexp(1.0f, -24);  // smallest half subnormal
  EXPECT_EQ(Half(tiny).bits, 0x0001);
  EXPECT_EQ(Half(-tiny).bits, 0x8001);
  EXPECT_EQ(Half::to_float(0x0001), tiny);
  EXPECT_EQ(Half::to_float(0x8001), -tiny);
  EXPECT_EQ(Half::to_float(0x03ff), 1023 * tiny);  // largest subnormal
  EXPECT_EQ(Half(1023 * tiny).bits, 0x03ff);
  EXPECT_EQ(Half(tiny / 2).bits, 0x0000);      // tie: rounds to even (0)
  EXPECT_EQ(Half(3 * tiny / 2).bits, 0x0002);  // tie: rounds to even (2)
  EXPECT_EQ(Half(tiny * 0.50001f).bits, 0x0001);
  EXPECT_EQ(Half(std::ldexp(1.0f, -30)).bits, 0x0000);  // underflows to zero
}

TEST(Half, RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = Half::to_float(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(float(Half(f)))) << std::hex << h;
      continue;
    }
    EXPECT_EQ(Half(f).bits, h) << std::hex << h;
  }
}

// Every midpoint between neighbouring halves rounds to the even one, and a float just beside it
// rounds to the nearer one: round-to-nearest-even everywhere, subnormals and overflow included.
TEST(Half, RoundsToNearestEvenAtEveryMidpoint) {
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    float lo = Half::to_float(uint16_t(h));
    float hi = h + 1 == 0x7c00 ? 65536.0f : Half::to_float(uint16_t(h + 1));
    float mid = (lo + hi) / 2;  // exact: a half has 11 significant bits, a float 24
    uint16_t even = (h & 1) ? uint16_t(h + 1) : uint16_t(h);
    ASSERT_EQ(Half(mid).bits, even) << std::hex << h;
    ASSERT_EQ(Half(std::nextafter(mid, 0.0f)).bits, h) << std::hex << h;
    ASSERT_EQ(Half(std::nextafter(mid, 1e30f)).bits, h + 1) << std::hex << h;
    ASSERT_EQ(Half(-mid).bits, even | 0x8000) << std::hex << h;
  }
}

TEST(BFloat16, ExactValuesAndSpecials) {
  EXPECT_EQ(BFloat16(1.0f).bits, 0x3f80);
  EXPECT_EQ(BFloat16(-0.0f).bits, 0x8000);
  EXPECT_EQ(float(BFloat16(3.0f)), 3.0f);
  EXPECT_EQ(BFloat16(std::numeric_limits<float>::infinity()).bits, 0x7f80);
  EXPECT_EQ(BFloat16(-std::numeric_limits<float>::infinity()).bits, 0xff80);
  EXPECT_EQ(BFloat16(std::numeric_limits<float>::quiet_NaN()).bits, 0x7fc0);
  EXPECT_EQ(BFloat16(bits_to_float(0x7f800001)).bits, 0x7fc0);  // a NaN never becomes inf
  EXPECT_EQ(BFloat16(std::numeric_limits<float>::max()).bits, 0x7f80);  // rounds past max
  EXPECT_EQ(float(BFloat16(bits_to_float(0x7f7f0000))), bits_to_float(0x7f7f0000));
  EXPECT_EQ(BFloat16(bits_to_float(0x00010000)).bits, 0x0001);  // float subnormals survive
  EXPECT_EQ(BFloat16(bits_to_float(0x00008000)).bits, 0x0000);  // tie to even
  EXPECT_EQ(BFloat16(bits_to_float(0x00018000)).bits, 0x0002);  // tie to even
}

TEST(BFloat16, RoundsToNearestEvenAtEveryMidpoint) {
  for (uint32_t h = 0; h < 0x7f80; ++h) {
    uint32_t mid_bits = (h << 16) | 0x8000u;  // halfway to the next bfloat16
    uint16_t even = (h & 1) ? uint16_t(h + 1) : uint16_t(h);
    ASSERT_EQ(BFloat16(bits_to_float(mid_bits)).bits, even) << std::hex << h;
    ASSERT_EQ(BFloat16(bits_to_float(mid_bits - 1)).bits, h) << std::hex << h;
    ASSERT_EQ(BFloat16(bits_to_float(mid_bits + 1)).bits, h + 1) << std::hex << h;
    ASSERT_EQ(BFloat16(bits_to_float(h << 16)).bits, h) << std::hex << h;  // exact values
  }
}

}  // namespace
}  // namespace vt
