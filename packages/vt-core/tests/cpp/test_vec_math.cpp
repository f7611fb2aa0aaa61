// ops/vec_math.h: float32 exp, sigmoid and the activations' tanh and erf against double
// precision over a sweep of floats (every 61st bit pattern of each range), special values, and
// the vector forms against the scalar ones.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "ops/vec_math.h"

namespace vm = vt::vecmath;

namespace {

// |got - want| in units of the spacing of floats at want (the subnormal spacing below the
// normal range).
double ulps(float got, double want) {
  const float w = float(want);
  const double spacing = std::fabs(want) < std::numeric_limits<float>::min()
                             ? std::numeric_limits<float>::denorm_min()
                             : std::nextafter(std::fabs(w), INFINITY) - std::fabs(w);
  return std::fabs(double(got) - want) / spacing;
}

template <typename F, typename R>
double worst_ulps(float lo, float hi, F f, R ref) {
  double worst = 0;
  for (float sign : {1.0f, -1.0f}) {
    uint32_t a, b;
    std::memcpy(&a, &lo, 4);
    std::memcpy(&b, &hi, 4);
    for (uint64_t u = a; u <= b; u += 61) {
      float x;
      const uint32_t bits = uint32_t(u);
      std::memcpy(&x, &bits, 4);
      x *= sign;
      worst = std::max(worst, ulps(f(x), ref(double(x))));
    }
  }
  return worst;
}

TEST(VecMath, ExpWithinAnUlpAndAHalf) {
  // Down to where results turn subnormal and round to zero, up to overflow.
  EXPECT_LE(worst_ulps(1e-30f, 88.7f, [](float x) { return vm::exp(x); }, [](double x) { return std::exp(x); }),
            1.5);
  EXPECT_LE(worst_ulps(87.0f, 103.9f, [](float x) { return vm::exp(-x); }, [](double x) { return std::exp(-x); }),
            1.5);
}

TEST(VecMath, SigmoidWithinThreeAndAHalfUlps) {
  EXPECT_LE(worst_ulps(1e-30f, 87.0f, [](float x) { return vm::sigmoid(x); },
                       [](double x) { return 1 / (1 + std::exp(-x)); }),
            3.5);
}

TEST(VecMath, ActivationTanhAndErfWithinSixUlps) {
  EXPECT_LE(worst_ulps(1e-30f, 12.0f, [](float x) { return vm::tanh(x); }, [](double x) { return std::tanh(x); }),
            6.0);
  EXPECT_LE(worst_ulps(1e-30f, 6.0f, [](float x) { return vm::erf(x); }, [](double x) { return std::erf(x); }),
            6.0);
}

TEST(VecMath, SpecialValues) {
  const float inf = INFINITY, nan = NAN;
  EXPECT_EQ(vm::exp(-inf), 0.0f);
  EXPECT_EQ(vm::exp(inf), inf);
  EXPECT_EQ(vm::exp(100.0f), inf);
  EXPECT_EQ(vm::exp(-110.0f), 0.0f);
  EXPECT_GT(vm::exp(-100.0f), 0.0f);  // subnormal, not flushed
  EXPECT_TRUE(std::isnan(vm::exp(nan)));
  EXPECT_EQ(vm::exp(-746.0), 0.0);
  EXPECT_EQ(vm::exp(0.0), 1.0);
  for (float s : {1.0f, -1.0f}) {
    EXPECT_EQ(vm::tanh(s * inf), s);
    EXPECT_EQ(vm::tanh(s * 9.5f), s);  // exactly +-1 where tanh rounds there
    EXPECT_EQ(vm::erf(s * inf), s);
    EXPECT_EQ(vm::erf(s * 4.0f), s);
  }
  EXPECT_TRUE(std::signbit(vm::tanh(-0.0f)) && vm::tanh(-0.0f) == 0.0f);
  EXPECT_TRUE(std::signbit(vm::erf(-0.0f)) && vm::erf(-0.0f) == 0.0f);
  EXPECT_TRUE(std::isnan(vm::tanh(nan)));
  EXPECT_TRUE(std::isnan(vm::erf(nan)));
  EXPECT_EQ(vm::sigmoid(-inf), 0.0f);
  EXPECT_EQ(vm::sigmoid(inf), 1.0f);
}

TEST(VecMath, VectorLanesMatchScalars) {
  constexpr int kLanes = vm::kVecBytes / int(sizeof(float));
  // One vector in the fast range, one with a lane that needs exp's subnormal form.
  for (float spread : {3.0f, 40.0f}) {
    vm::floatv x;
    for (int l = 0; l < kLanes; ++l) x[l] = spread * (float(l) - kLanes / 2.0f) / kLanes * 2.0f - 1.0f;
    const vm::floatv e = vm::exp(x), t = vm::tanh(x), r = vm::erf(x), s = vm::sigmoid(x);
    for (int l = 0; l < kLanes; ++l) {
      EXPECT_EQ(e[l], vm::exp(x[l])) << x[l];
      EXPECT_EQ(t[l], vm::tanh(x[l])) << x[l];
      EXPECT_EQ(r[l], vm::erf(x[l])) << x[l];
      EXPECT_EQ(s[l], vm::sigmoid(x[l])) << x[l];
    }
  }
}

}  // namespace
